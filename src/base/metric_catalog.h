// The process-wide metrics larder exports on the admin listener's /metrics.
// Every metric is a named global (base/metrics.h); labelled families are
// indexed by the small enums below, so the hot path never looks anything up.
// Names follow Prometheus conventions: larder_ prefix, base units (seconds,
// bytes), _total on counters.
#pragma once

#include <string_view>

#include "base/metrics.h"
#include "base/route_metrics.h"

namespace larder::base::metrics {

// requests: method class x cache result.
enum class MethodClass { kRead, kWrite, kOther };  // GET/HEAD; unsafe methods; the rest
enum class CacheResult { kHit, kMiss, kStale, kRevalidated, kBypass, kPass };
constexpr size_t kCacheResults = 6;

MethodClass methodClass(std::string_view method);
// From the X-Cache value an exchange reports ("HIT", "MISS", "STALE",
// "REVALIDATED", "BYPASS"; "-" and anything else: kPass).
CacheResult cacheResult(std::string_view status);
// 1xx..5xx -> 0..4 (anything else counts as 5xx).
size_t statusClassIndex(int status);
// decideStore reasons (cache/policy.cc); unknown ones map to "other".
size_t storeRejectReasonIndex(std::string_view reason);

enum class ResponseSource { kCache, kUpstream };
enum class InsertResult { kStored, kVersionChanged, kUnavailable };
enum class InvalidationResult { kOk, kFailed, kRetried };
enum class PurgeScope { kNamespace, kUrl, kAll };
enum class PurgeResult { kOk, kFailed };
enum class BreakerState { kClosed, kOpen, kHalfOpen };
enum class ReloadResult { kOk, kRejected };
// The distributed fill lock (cache/fill_lock.h), as seen by a fill's leader.
enum class FillLockEvent {
  kAcquired,     // won the lock: this instance fetches
  kLost,         // another instance holds it: wait
  kNotified,     // a wait ended by the owner's notice
  kExpired,      // a wait ended by the lock's expiry (owner died, or slow)
  kTimedOut,     // cache.lock_timeout passed: fetched anyway
  kUnavailable,  // Redis could not answer: coalesced in this process only
};

inline size_t index(MethodClass m, CacheResult c) {
  return static_cast<size_t>(m) * kCacheResults + static_cast<size_t>(c);
}
template <typename E>
constexpr size_t index(E e) {
  return static_cast<size_t>(e);
}
inline size_t index(PurgeScope scope, PurgeResult result) {
  return static_cast<size_t>(scope) * 2 + static_cast<size_t>(result);
}

// Client side.
extern CounterFamily requests;             // larder_requests_total{method,cache}
extern Histogram request_duration;         // larder_request_duration_seconds{cache}
extern CounterFamily responses;            // larder_responses_total{code}
extern CounterFamily response_body_bytes;  // larder_response_body_bytes_total{source}
extern Gauge connections_open;             // larder_connections_open
extern Counter connections_accepted;       // larder_connections_accepted_total

// Upstream.
extern CounterFamily upstream_responses;   // larder_upstream_responses_total{code}
extern CounterFamily upstream_errors;      // larder_upstream_errors_total{reason} (UpstreamError order)
extern Histogram upstream_response_seconds;
extern Counter upstream_retries;           // larder_upstream_retries_total
// TLS to upstream servers (net/tls_stream.h), in UpstreamTlsHandshake order.
extern CounterFamily upstream_tls_handshakes;  // larder_upstream_tls_handshakes_total{result}
enum class UpstreamTlsHandshake { kFull, kResumed, kFailed };
// Per upstream server (label server="host:port"; upstream/server_health.h).
extern KeyedFamily upstream_server_requests;     // larder_upstream_server_requests_total
extern KeyedFamily upstream_server_failures;     // larder_upstream_server_failures_total
extern KeyedFamily upstream_server_up;           // larder_upstream_server_up
extern KeyedFamily upstream_server_marked_down;  // larder_upstream_server_marked_down_total

// Cache.
extern CounterFamily store_rejected;       // larder_cache_store_rejected_total{reason}
extern CounterFamily cache_inserts;        // larder_cache_inserts_total{result}
extern CounterFamily invalidations;        // larder_invalidations_total{result}
extern Gauge invalidation_backlog;         // larder_invalidation_backlog_keys
// Compressed entries (cache.compression, issue 13).
enum class StoredForm { kStored, kUncompressed };
enum class DecodeResult { kOk, kTooBig, kCorrupt };
extern CounterFamily stored_bytes;         // larder_cache_stored_bytes_total{form}
extern CounterFamily cache_decodes;        // larder_cache_decodes_total{result}
// Request coalescing: fed by cache::Coalescer. A waiter is a request parked
// behind another one's fetch of the same key.
extern Gauge coalesced_waiters;            // larder_coalesced_waiters
extern Counter coalesced_requests;         // larder_coalesced_requests_total
extern Counter fills_adopted;              // larder_fills_adopted_total
extern CounterFamily fill_lock_events;     // larder_fill_lock_events_total{event}

// Stores.
extern Histogram redis_command_seconds;
extern Counter redis_errors;               // larder_redis_errors_total
extern Counter redis_timeouts;             // larder_redis_timeouts_total
extern Counter redis_skipped;              // larder_redis_commands_skipped_total
extern CounterFamily redis_breakers;       // larder_redis_circuit_breakers{state}
extern Counter redis_breaker_opened;       // larder_redis_circuit_opened_total
// Redis load (issue 13): fed by store::RedisConnection and its I/O adapter.
extern Gauge redis_in_flight;              // larder_redis_commands_in_flight
extern Gauge redis_queued;                 // larder_redis_commands_queued
extern Histogram redis_queue_wait_seconds;  // larder_redis_queue_wait_seconds
extern Counter redis_late_replies;         // larder_redis_late_replies_total
extern Counter redis_writes_refused;       // larder_redis_writes_refused_total
extern CounterFamily redis_dropped;        // larder_redis_commands_dropped_total{reason}
extern Counter redis_bytes_read;           // larder_redis_read_bytes_total
extern Counter redis_loop_stalls;          // larder_redis_loop_stalls_total
extern Counter redis_local_copy_hits;      // larder_redis_local_copy_hits_total
extern Counter redis_local_copy_bytes_saved;  // larder_redis_local_copy_saved_bytes_total
extern Gauge redis_local_copy_bytes;       // larder_redis_local_copy_bytes
extern Counter redis_reconnects;           // larder_redis_reconnects_total
// Issue 16: Redis restarts and failovers.
extern Counter redis_generations;          // larder_redis_generations_started_total
extern Counter redis_generation_mismatches;  // larder_redis_generation_mismatches_total
extern Counter redis_master_switches;      // larder_redis_master_switches_total
extern Gauge memory_store_bytes;
extern Gauge memory_store_items;
extern Gauge memory_store_max_bytes;
extern Counter memory_store_evictions;
// The in-process tier (routes with memory_ttl).
extern Counter memory_tier_hits;           // larder_memory_tier_hits_total
extern Gauge memory_tier_bytes;            // larder_memory_tier_bytes
extern Gauge memory_tier_entries;          // larder_memory_tier_entries
extern Counter memory_tier_flushes;        // larder_memory_tier_flushes_total

// Operations.
extern CounterFamily purges;               // larder_admin_purges_total{scope,result}
extern CounterFamily config_reloads;       // larder_config_reloads_total{result}
extern Gauge config_last_reload_successful;
extern Gauge config_last_reload_timestamp;
extern CounterFamily build_info;           // larder_build_info{version} 1
extern Gauge process_start_time;
// Log lines a call site's rate limit held back (base/log_limiter.h), by the
// site's level (base::LogLevel order: debug, info, warn, error).
extern CounterFamily log_lines_suppressed;  // larder_log_lines_suppressed_total{level}

// Per route (issue 15). The route label's values are bounded by
// base::RouteLabels (route names, "-" for no route, "other" past the limit);
// a request's slot is config::Route::metric_slot, resolved at load.
// Shadow routes (mode: shadow): what the cache would have done. compared:
// sampled would-be hits whose stored answer was compared with the fresh one
// (mismatch counts those that differed).
enum class ShadowOutcome { kWouldHit, kWouldMiss, kMismatch, kCompared };
extern RouteCounterFamily route_requests;       // larder_route_requests_total{route,cache}
extern RouteCounterFamily route_store_rejected; // larder_route_store_rejected_total{route,reason}
extern RouteHistogram route_upstream_seconds;   // larder_route_upstream_response_seconds{route}
extern RouteCounterFamily route_body_bytes;     // larder_route_response_body_bytes_total{route,source}
extern RouteCounterFamily shadow;               // larder_shadow_total{route,outcome}

}  // namespace larder::base::metrics
