#include "base/metric_catalog.h"

#include <array>
#include <chrono>

namespace larder::base::metrics {
namespace {

const std::vector<std::string_view> kMethodLabels{"read", "write", "other"};
const std::vector<std::string_view> kCacheLabels{"hit",         "miss",   "stale",
                                                 "revalidated", "bypass", "pass"};
const std::vector<std::string_view> kCodeLabels{"1xx", "2xx", "3xx", "4xx", "5xx"};
// cache/policy.cc decideStore reasons, then "other".
const std::vector<std::string_view> kRejectLabels{
    "method",   "status",     "set_cookie",   "vary_star", "vary_unkeyed", "too_big",
    "authorization", "cookie", "no_store",   "private",   "no_cache",     "no_freshness",
    "no_ttl",   "zero_ttl",   "invalidation_pending", "written_during_fetch",
    "coding_too_big", "coding_corrupt", "other"};

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MethodClass methodClass(std::string_view method) {
  if (method == "GET" || method == "HEAD") return MethodClass::kRead;
  if (method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE")
    return MethodClass::kWrite;
  return MethodClass::kOther;
}

CacheResult cacheResult(std::string_view status) {
  if (status == "HIT") return CacheResult::kHit;
  if (status == "MISS") return CacheResult::kMiss;
  if (status == "STALE") return CacheResult::kStale;
  if (status == "REVALIDATED") return CacheResult::kRevalidated;
  if (status == "BYPASS") return CacheResult::kBypass;
  return CacheResult::kPass;
}

size_t statusClassIndex(int status) {
  if (status >= 100 && status < 600) return static_cast<size_t>(status / 100 - 1);
  return 4;
}

size_t storeRejectReasonIndex(std::string_view reason) {
  for (size_t i = 0; i + 1 < kRejectLabels.size(); ++i)
    if (kRejectLabels[i] == reason) return i;
  return kRejectLabels.size() - 1;
}

CounterFamily requests("larder_requests_total",
                       "Requests answered, by method class (read: GET/HEAD, write: "
                       "POST/PUT/PATCH/DELETE, other) and cache result (pass: not cacheable).",
                       labelSets("method", kMethodLabels, "cache", kCacheLabels));
Histogram request_duration("larder_request_duration_seconds",
                           "Time from a request's head read to its answer's last byte handed to the "
                           "socket (or the client's leaving), by cache result (as larder_requests_total's "
                           "cache label).",
                           Histogram::requestBuckets(), labelSets("cache", kCacheLabels));
CounterFamily responses("larder_responses_total", "Responses sent to clients, by status class.",
                        labelSets("code", kCodeLabels));
CounterFamily response_body_bytes("larder_response_body_bytes_total",
                                  "Response body bytes sent to clients, by where they came from.",
                                  labelSets("source", {"cache", "upstream"}));
Gauge connections_open("larder_connections_open", "Client connections currently open.");
Counter connections_accepted("larder_connections_accepted_total", "Client connections accepted.");

CounterFamily upstream_responses("larder_upstream_responses_total",
                                 "Response heads received from the upstream, by status class.",
                                 labelSets("code", kCodeLabels));
CounterFamily upstream_errors("larder_upstream_errors_total",
                              "Upstream requests that failed without a complete response, by reason.",
                              labelSets("reason", {"connect_failed", "connect_timeout",
                                                   "response_timeout", "reset", "bad_response"}));
Histogram upstream_response_seconds("larder_upstream_response_seconds",
                                    "Time from sending a request upstream to its response head.",
                                    Histogram::latencyBuckets());
Counter upstream_retries("larder_upstream_retries_total",
                         "Idempotent requests resent on a new connection because a reused one "
                         "closed before any byte of the answer.");
CounterFamily upstream_tls_handshakes("larder_upstream_tls_handshakes_total",
                                      "TLS handshakes with upstream servers: full, resumed (an earlier "
                                      "session reused), or failed (counted as connect failures).",
                                      labelSets("result", {"full", "resumed", "failed"}));
KeyedFamily upstream_server_requests("larder_upstream_server_requests_total",
                                     "Requests sent to each upstream server (each attempt).",
                                     "server");
KeyedFamily upstream_server_failures("larder_upstream_server_failures_total",
                                     "Failed attempts on each upstream server: connect failures and "
                                     "timeouts, response timeouts, resets, bad responses.",
                                     "server");
KeyedFamily upstream_server_up("larder_upstream_server_up",
                               "1 while an upstream server takes requests, 0 while it is marked down.",
                               "server", MetricType::kGauge);
KeyedFamily upstream_server_marked_down("larder_upstream_server_marked_down_total",
                                        "Times an upstream server was marked down (passive health "
                                        "or a failed active check).",
                                        "server");

CounterFamily store_rejected("larder_cache_store_rejected_total",
                             "Cacheable-route responses not stored, by reason.",
                             labelSets("reason", kRejectLabels));
CounterFamily cache_inserts("larder_cache_inserts_total",
                            "Entries sent to the store, by outcome (version_changed: a namespace "
                            "was invalidated during the fetch).",
                            labelSets("result", {"stored", "version_changed", "unavailable"}));
CounterFamily stored_bytes("larder_cache_stored_bytes_total",
                           "Body bytes of the entries sent to the store: as stored (compressed "
                           "when cache.compression applies) and uncompressed.",
                           labelSets("form", {"stored", "uncompressed"}));
CounterFamily cache_decodes("larder_cache_decodes_total",
                            "Coded entries decoded for clients that do not accept their coding, by "
                            "result (too_big, corrupt: the stored bytes were refused).",
                            labelSets("result", {"ok", "too_big", "corrupt"}));
CounterFamily invalidations("larder_invalidations_total",
                            "Namespace invalidations by writes: ok, failed (queued for retry), "
                            "retried (a queued retry landed).",
                            labelSets("result", {"ok", "failed", "retried"}));
Gauge invalidation_backlog("larder_invalidation_backlog_keys",
                           "Namespace keys whose invalidation waits for a retry (not served "
                           "from cache meanwhile).");
Gauge coalesced_waiters("larder_coalesced_waiters",
                        "Requests currently waiting behind another request's fetch of the same key.");
Counter coalesced_requests("larder_coalesced_requests_total",
                           "Requests that waited behind another request's fetch of the same key.");
Counter fills_adopted("larder_fills_adopted_total",
                      "Shared fetches that went on without the client that started them "
                      "(it left before the answer was complete).");
CounterFamily fill_lock_events("larder_fill_lock_events_total",
                               "Distributed fill lock events of fill leaders (cache.distributed_lock).",
                               labelSets("event", {"acquired", "lost", "notified", "expired",
                                                   "timed_out", "unavailable"}));

Histogram redis_command_seconds("larder_redis_command_seconds",
                                "Redis command round-trip time, from the command's write to the "
                                "socket to its reply (replies only).",
                                Histogram::latencyBuckets());
Counter redis_errors("larder_redis_errors_total",
                     "Redis commands that failed: error replies and lost connections.");
Counter redis_timeouts("larder_redis_timeouts_total",
                       "Redis commands whose caller stopped waiting: no reply within store.redis.timeout of "
                       "being written, or the connection fell silent.");
Counter redis_skipped("larder_redis_commands_skipped_total",
                      "Redis commands not sent because the circuit was open or no connection "
                      "was ready.");
CounterFamily redis_breakers("larder_redis_circuit_breakers",
                             "Redis circuit breakers (one per worker and one for the admin "
                             "listener) in each state.",
                             labelSets("state", {"closed", "open", "half_open"}), MetricType::kGauge);
Counter redis_breaker_opened("larder_redis_circuit_opened_total",
                             "Times a Redis circuit breaker opened.");
Gauge redis_in_flight("larder_redis_commands_in_flight",
                      "Redis commands sent and not answered yet (late ones included).");
Gauge redis_queued("larder_redis_commands_queued",
                   "Redis commands waiting inside larder for room on a connection "
                   "(store.redis.max_in_flight).");
Histogram redis_queue_wait_seconds("larder_redis_queue_wait_seconds",
                                   "Time Redis commands waited inside larder before being written "
                                   "to the socket (for room on a connection, then for the loop).",
                                   Histogram::latencyBuckets());
Counter redis_late_replies("larder_redis_late_replies_total",
                           "Redis replies that came after their command's deadline, when the "
                           "caller had already bypassed Redis: discarded, connection kept.");
Counter redis_writes_refused("larder_redis_writes_refused_total",
                             "Redis writes refused by a Redis that still serves reads (OOM, "
                             "MISCONF, NOREPLICAS): not counted against Redis.");
CounterFamily redis_dropped("larder_redis_commands_dropped_total",
                            "Redis commands given up before being sent: the queue inside larder "
                            "was full, or the command waited there longer than the timeout.",
                            labelSets("reason", {"queue_full", "queue_timeout"}));
Counter redis_bytes_read("larder_redis_read_bytes_total", "Bytes read from Redis connections.");
Counter redis_loop_stalls("larder_redis_loop_stalls_total",
                          "Times a Redis connection's deadline check found that its worker's loop had "
                          "not run for most of store.redis.timeout; that time is not counted against Redis.");
Counter redis_local_copy_hits("larder_redis_local_copy_hits_total",
                              "Lookups Redis answered with 'your copy is current' instead of the "
                              "entry's bytes (store.redis.local_copies).");
Counter redis_local_copy_bytes_saved("larder_redis_local_copy_saved_bytes_total",
                                     "Entry bytes those lookups did not read from Redis.");
Gauge redis_local_copy_bytes("larder_redis_local_copy_bytes",
                             "Bytes of entries copied for store.redis.local_copies, all workers.");
Counter redis_reconnects("larder_redis_reconnects_total",
                          "Reconnects scheduled: a Redis connection was closed by the peer, "
                          "failed, could not connect, or owed replies and received nothing for "
                          "store.redis.timeout.");
Counter redis_generations("larder_redis_generations_started_total",
                          "Redis generations this process started: its connection found a Redis "
                          "server (a restart, a failover, a first start) whose data larder had not "
                          "vouched for, and every entry stored before became a miss.");
Counter redis_generation_mismatches("larder_redis_generation_mismatches_total",
                                    "Redis commands that found another generation than their "
                                    "connection knew (a restart or failover seen mid-flight); "
                                    "the request bypassed the cache.");
Counter redis_master_switches("larder_redis_master_switches_total",
                              "Redis Sentinel failovers this process followed (the master moved).");
Gauge memory_store_bytes("larder_memory_store_bytes", "Bytes held by the in-process memory store.");
Gauge memory_store_items("larder_memory_store_items",
                         "Items (entries and namespace versions) held by the in-process memory store.");
Gauge memory_store_max_bytes("larder_memory_store_max_bytes",
                             "Size bound of the in-process memory store (store.memory.max_size).");
Counter memory_store_evictions("larder_memory_store_evictions_total",
                               "Items the in-process memory store evicted to make room.");
Counter memory_tier_hits("larder_memory_tier_hits_total",
                         "Hits answered from the in-process tier, without asking the store.");
Gauge memory_tier_bytes("larder_memory_tier_bytes",
                        "Bytes held by the in-process tier (cache.memory_tier_size bounds it).");
Gauge memory_tier_entries("larder_memory_tier_entries", "Entries held by the in-process tier.");
Counter memory_tier_flushes("larder_memory_tier_flushes_total",
                            "Times the in-process tier was emptied because invalidations from "
                            "other instances could have been missed.");

CounterFamily purges("larder_admin_purges_total", "Purges requested through the admin API.",
                     labelSets("scope", {"namespace", "url", "all"}, "result", {"ok", "failed"}));
CounterFamily config_reloads("larder_config_reloads_total",
                             "Configuration reloads (SIGHUP), by result.",
                             labelSets("result", {"ok", "rejected"}));
Gauge config_last_reload_successful("larder_config_last_reload_successful",
                                    "1 if the last reload succeeded (or none happened yet), else 0.");
Gauge config_last_reload_timestamp("larder_config_last_reload_timestamp_seconds",
                                   "Unix time of the last reload attempt, or of the start.");
CounterFamily build_info("larder_build_info", "Always 1; the version as a label.",
                         labelSets("version", {LARDER_VERSION}), MetricType::kGauge);
Gauge process_start_time("larder_process_start_time_seconds", "Unix time the process started.");
CounterFamily log_lines_suppressed("larder_log_lines_suppressed_total",
                                   "Error-log lines not written because their call site logged "
                                   "more than log.rate_limit lines in a second, by level.",
                                   labelSets("level", {"debug", "info", "warn", "error"}));

RouteCounterFamily route_requests("larder_route_requests_total",
                                  "Requests answered, by route name and cache result (as "
                                  "larder_requests_total's cache label).",
                                  "cache", kCacheLabels);
RouteCounterFamily route_store_rejected("larder_route_store_rejected_total",
                                        "Cacheable-route responses not stored, by route name and "
                                        "reason (as larder_cache_store_rejected_total's).",
                                        "reason", kRejectLabels);
RouteHistogram route_upstream_seconds("larder_route_upstream_response_seconds",
                                      "Time from sending a request upstream to its response head, "
                                      "by route name.");
RouteCounterFamily route_body_bytes("larder_route_response_body_bytes_total",
                                    "Response body bytes sent to clients, by route name and where "
                                    "they came from.",
                                    "source", {"cache", "upstream"});
RouteCounterFamily shadow("larder_shadow_total",
                          "Requests on shadow routes (mode: shadow), by what the cache would have "
                          "done: would_hit, would_miss; compared: sampled would-be hits whose stored "
                          "answer was compared with the fresh one (shadow_sample); mismatch: those "
                          "that differed.",
                          "outcome", {"would_hit", "would_miss", "mismatch", "compared"});

namespace {
// Values that are not counts of events.
struct Initial {
  Initial() {
    build_info.set(0, 1);
    process_start_time.set(nowSeconds());
    config_last_reload_successful.set(1);
    config_last_reload_timestamp.set(nowSeconds());
  }
} initial;
}  // namespace

}  // namespace larder::base::metrics
