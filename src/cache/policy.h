// Cacheability policy: whether a request may use the shared cache, whether a
// response may be stored and for how long, what is stored, and how old an
// entry is. Pure functions (STYLE §1): no I/O, no clock reads; `now` is an
// argument. Reasons are string literals with static storage, used as metric
// labels.
//
// What is shared is bounded by DESIGN invariant 6: requests with
// Authorization or Cookie bypass the cache unless the route is per-user (then
// the principal is in the key), and Set-Cookie, private and no-store answers
// are never stored. Freshness follows RFC 9111 §4.2 where the route asks the
// upstream for it; otherwise the route's fixed TTL, which the upstream's
// Cache-Control and Expires may only shorten.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.h"
#include "config/config.h"
#include "http/cache_control.h"
#include "http/header_map.h"

namespace larder::cache {

// Whether a request may be answered from / stored into a shared entry.
// reason (when bypassing): "method", "no_ttl", "authorization", "cookie",
// "no_principal"; "cacheable" otherwise.
struct RequestDecision {
  bool use_cache = false;
  std::string_view reason;
};

// Only GET and HEAD on a route with a TTL. Authorization or Cookie bypass
// unless route.per_user; a per-user route without a principal bypasses.
RequestDecision classifyRequest(std::string_view method, const http::HeaderMap& headers,
                                const config::Route& route, bool has_principal);

// reason: "stored", or why not: "method", "status", "set_cookie", "vary_star",
// "vary_unkeyed", "too_big", "authorization", "cookie", "no_store",
// "private", "no_cache", "no_ttl", "no_freshness", "zero_ttl".
struct StoreDecision {
  bool store = false;
  std::string_view reason;
  std::chrono::milliseconds ttl{0};  // freshness; 0 for no-cache answers (revalidated on every use)
  int64_t initial_age_seconds = 0;   // the upstream's Age (RFC 9111 §4.2.3), for Entry
  // How long to keep an entry that is never fresh (no-cache) for revalidation.
  std::chrono::milliseconds keep{0};
};

// RFC 9111 §5.2.1.4 and §5.4: the client asks for an answer validated with
// the origin (Cache-Control: no-cache or max-age=0, or Pragma: no-cache
// without Cache-Control). Obeyed only on routes with honour_client_no_cache.
bool clientWantsFresh(const http::HeaderMap& request_headers);

// Decides whether a complete upstream answer to a cacheable request is stored.
//  - request_method: the method sent upstream. Only GET answers are stored:
//    GET and HEAD share entries, and a HEAD answer has no body. (The caller
//    may fetch a HEAD miss with GET and pass "GET".)
//  - content_length: nullopt when unknown (chunked, until close); the caller
//    then enforces cache.max_object_size while capturing.
//  - now: when the response head arrived; used only when Date is missing.
// Statuses: route.statuses when set; else 200 on fixed-TTL routes, and on
// `ttl: upstream` routes any final status but 206 and 304 with explicit
// freshness, or heuristic freshness (route.heuristic, capped by max_ttl or
// else kMaxHeuristicTtl) for the heuristically cacheable ones.
StoreDecision decideStore(const config::Route& route, std::string_view request_method,
                          const http::HeaderMap& request_headers, int status,
                          const http::HeaderMap& response_headers,
                          std::optional<uint64_t> content_length,
                          const config::CacheConfig& cache, base::WallTime now,
                          const std::vector<std::string>& extra_vary = {});

// Heuristic freshness is capped at a day unless the route sets max_ttl (the
// limit past which RFC 7234 asked for a warning; Traffic Server's default).
inline constexpr std::chrono::milliseconds kMaxHeuristicTtl = std::chrono::hours(24);

// The directives a shared cache obeys for an answer: the first targeted
// field (RFC 9213) of `targeted_fields` that the answer carries with a valid
// value, else its Cache-Control. With a targeted field, Cache-Control and
// Expires are ignored.
struct ResponseControl {
  http::CacheControl cc;
  bool targeted = false;
};
ResponseControl responseControl(const http::HeaderMap& response_headers,
                                const std::vector<std::string>& targeted_fields);

// Removes the targeted fields addressed to larder alone from an answer on
// its way to the client: every field of cache.targeted_cache_control except
// CDN-Cache-Control, which a CDN in front of larder obeys as well (RFC 9213
// §3 targets every CDN cache on the path). They stay in the stored entry.
void stripOwnTargetedFields(http::HeaderMap& headers, const config::CacheConfig& cache);

// The fields stored with an entry: hop-by-hop fields (and those Connection
// names), Set-Cookie, Age and the configured status header are dropped.
http::HeaderMap storableHeaders(const http::HeaderMap& response_headers,
                                std::string_view status_header);

// The Age to send on a hit (RFC 9111 §4.2.3): the upstream's initial age plus
// the time resident here, in whole seconds, never negative.
int64_t currentAge(base::WallTime stored_at, int64_t initial_age_seconds, base::WallTime now);

// Whether an entry stored at `stored_at` with `ttl` is still fresh at `now`.
// A `now` before `stored_at` (clocks of two hosts disagree) counts as age 0.
bool isFresh(base::WallTime stored_at, std::chrono::milliseconds ttl, base::WallTime now);

}  // namespace larder::cache
