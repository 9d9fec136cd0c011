#include "cache/policy.h"

#include <algorithm>
#include <limits>

#include "cache/entry_codec.h"
#include "cache/revalidation.h"
#include "http/cache_control.h"
#include "http/hop_by_hop.h"

namespace larder::cache {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

// RFC 9111 §1.2.2: delta-seconds past 2^31 are taken as 2^31.
constexpr int64_t kDeltaSecondsMax = int64_t{1} << 31;

using http::isOws;
using http::trimOws;

bool isGetOrHead(std::string_view method) { return method == "GET" || method == "HEAD"; }

// Why a Vary field prevents storing, or empty when every name it lists is
// keyed by the route (RFC 9111 §4.1: a stored answer may only be reused for
// requests that match it on every listed field; only route.vary is in the key).
std::string_view varyProblem(const http::HeaderMap& response_headers, const config::Route& route,
                             const std::vector<std::string>& extra_vary) {
  for (std::string_view field : response_headers.findAll("vary")) {
    while (!field.empty()) {
      const size_t comma = field.find(',');
      const std::string_view name = trimOws(field.substr(0, comma));
      if (name == "*") return "vary_star";
      if (!name.empty() &&
          std::none_of(route.vary.begin(), route.vary.end(),
                       [&](const std::string& keyed) { return http::equalsIgnoreCase(keyed, name); }) &&
          std::none_of(extra_vary.begin(), extra_vary.end(),
                       [&](const std::string& keyed) { return http::equalsIgnoreCase(keyed, name); })) {
        return "vary_unkeyed";
      }
      if (comma == std::string_view::npos) break;
      field.remove_prefix(comma + 1);
    }
  }
  return {};
}

// The answer's Date, or `now` (its receipt) when Date is missing or invalid
// (RFC 9110 §6.6.1: a recipient may then use its own time of receipt).
base::WallTime dateOr(const http::HeaderMap& headers, base::WallTime now) {
  if (const std::string* date = headers.find("date")) {
    if (const auto date_at = http::parseHttpDate(*date)) return *date_at;
  }
  return now;
}

// Expires relative to Date (RFC 9111 §4.2.1), or to `now` when Date is
// missing or invalid (the time the response was received). An invalid
// Expires, such as "0", means already expired (RFC 9111 §5.3).
std::optional<milliseconds> expiresLifetime(const http::HeaderMap& headers, base::WallTime now) {
  const std::string* expires = headers.find("expires");
  if (!expires) return std::nullopt;
  const auto expires_at = http::parseHttpDate(*expires);
  if (!expires_at) return milliseconds(0);
  return duration_cast<milliseconds>(*expires_at - dateOr(headers, now));
}

// The freshness lifetime the upstream gives a shared cache (RFC 9111 §4.2.1):
// s-maxage, else max-age, else Expires (which a targeted field overrides,
// RFC 9213 §2.1); nullopt when it gives none.
std::optional<milliseconds> upstreamLifetime(const ResponseControl& control,
                                             const http::HeaderMap& headers, base::WallTime now) {
  if (control.cc.s_maxage) return duration_cast<milliseconds>(*control.cc.s_maxage);
  if (control.cc.max_age) return duration_cast<milliseconds>(*control.cc.max_age);
  if (control.targeted) return std::nullopt;
  return expiresLifetime(headers, now);
}

// RFC 9110 §15.1: the statuses a cache may store without explicit
// freshness. 206 is left out: larder stores whole answers only.
bool isHeuristicallyCacheable(int status) {
  switch (status) {
    case 200: case 203: case 204: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return true;
    default:
      return false;
  }
}

// RFC 9111 §4.2.2: a fraction of the time since Last-Modified, as of Date
// (or of receipt when Date is missing). None when Last-Modified is missing,
// invalid, or not in the past.
std::optional<milliseconds> heuristicLifetime(const http::HeaderMap& headers, double fraction,
                                              base::WallTime now) {
  const std::string* last_modified = headers.find("last-modified");
  if (!last_modified) return std::nullopt;
  const auto modified_at = http::parseHttpDate(*last_modified);
  const base::WallTime date = dateOr(headers, now);
  if (!modified_at || *modified_at >= date) return std::nullopt;
  return duration_cast<milliseconds>((date - *modified_at) * fraction);
}

// Whether the route may store an answer with this status at all; freshness
// is decided afterwards.
bool isStorableStatus(const config::Route& route, int status) {
  if (route.statuses)
    return std::find(route.statuses->begin(), route.statuses->end(), status) != route.statuses->end();
  if (!route.ttl_from_upstream) return status == 200;
  // Any final status (RFC 9111 §3), but a partial or not-modified answer is
  // no whole response to replay.
  return status >= 200 && status <= 599 && status != 206 && status != 304;
}

// The Age field as delta-seconds (RFC 9111 §5.1). Age is a singleton field:
// a value that is not delta-seconds ("7200.0", "-1", "7200,0"), or more
// than one field line, is invalid and ignored (RFC 9110 §5.5).
int64_t ageSeconds(const http::HeaderMap& headers) {
  const auto ages = headers.findAll("age");
  if (ages.size() != 1) return 0;
  const std::string_view text = trimOws(ages.front());
  if (text.empty()) return 0;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = std::min(value * 10 + (c - '0'), kDeltaSecondsMax);
  }
  return value;
}

StoreDecision refuse(std::string_view reason) { return StoreDecision{false, reason, milliseconds(0), 0}; }

}  // namespace

RequestDecision classifyRequest(std::string_view method, const http::HeaderMap& headers,
                                const config::Route& route, bool has_principal) {
  if (!isGetOrHead(method)) return {false, "method"};
  if (!route.isRead()) return {false, "no_ttl"};
  // DESIGN invariant 6: a per-user route keys on the principal, so
  // credentials are expected there; without a principal the key would be
  // shared, so the request bypasses.
  if (route.per_user) {
    if (!has_principal) return {false, "no_principal"};
    return {true, "cacheable"};
  }
  if (headers.has("authorization")) return {false, "authorization"};
  if (headers.has("cookie")) return {false, "cookie"};
  return {true, "cacheable"};
}

StoreDecision decideStore(const config::Route& route, std::string_view request_method,
                          const http::HeaderMap& request_headers, int status,
                          const http::HeaderMap& response_headers,
                          std::optional<uint64_t> content_length,
                          const config::CacheConfig& cache, base::WallTime now,
                          const std::vector<std::string>& extra_vary) {
  if (request_method != "GET") return refuse("method");
  if (!isStorableStatus(route, status)) return refuse("status");
  // DESIGN invariant 6: checked before ignore_upstream_cache_control is
  // consulted, because no setting may share another user's cookie.
  if (response_headers.has("set-cookie") || response_headers.has("set-cookie2")) {
    return refuse("set_cookie");
  }
  if (const std::string_view problem = varyProblem(response_headers, route, extra_vary);
      !problem.empty()) {
    return refuse(problem);
  }
  if (content_length && *content_length > cache.max_object_size) return refuse("too_big");

  const bool honor_upstream = !route.ignore_upstream_cache_control;
  const ResponseControl control = responseControl(response_headers, cache.targeted_cache_control);
  const http::CacheControl& cc = control.cc;
  if (!route.per_user) {
    // RFC 9111 §3.5: an answer to a request with Authorization is shared only
    // when the upstream says so explicitly. With the upstream's Cache-Control
    // ignored, nothing says so: not stored.
    if (request_headers.has("authorization") &&
        !(honor_upstream && (cc.is_public || cc.s_maxage || cc.must_revalidate))) {
      return refuse("authorization");
    }
    // Defence in depth behind classifyRequest (DESIGN invariant 6).
    if (request_headers.has("cookie")) return refuse("cookie");
  }
  // RFC 9111 §5.2.1.5: a request's no-store forbids storing its answer.
  if (http::parseCacheControl(request_headers).no_store) return refuse("no_store");
  if (honor_upstream) {
    if (cc.no_store) return refuse("no_store");       // RFC 9111 §5.2.2.5
    if (cc.is_private) return refuse("private");      // RFC 9111 §5.2.2.7
    // RFC 9111 §5.2.2.4: stored, but revalidated before every use. Without
    // validators every revalidation is a full fetch, so it is not stored.
    if (cc.no_cache && !hasValidators(response_headers)) return refuse("no_cache");
  }
  const bool revalidate_always = honor_upstream && cc.no_cache;

  milliseconds ttl{0};
  if (route.ttl_from_upstream) {
    // The upstream's lifetime is the TTL itself, so it is read even when
    // ignore_upstream_cache_control switches its other directives off.
    auto lifetime = upstreamLifetime(control, response_headers, now);
    // RFC 9111 §4.2.2: heuristics only without explicit freshness, and only
    // for statuses cacheable by default or answers marked public.
    if (!lifetime && route.heuristic && (isHeuristicallyCacheable(status) || cc.is_public)) {
      lifetime = heuristicLifetime(response_headers, *route.heuristic, now);
      if (lifetime && !route.max_ttl) lifetime = std::min(*lifetime, kMaxHeuristicTtl);
    }
    if (!lifetime) return refuse("no_freshness");
    ttl = *lifetime;
  } else if (route.ttl) {
    ttl = *route.ttl;
    if (honor_upstream) {
      if (const auto lifetime = upstreamLifetime(control, response_headers, now)) {
        ttl = std::min(ttl, *lifetime);
      }
    }
  } else {
    return refuse("no_ttl");
  }
  if (route.max_ttl) ttl = std::min(ttl, *route.max_ttl);
  // max-age can say 68 years (RFC 9111 §1.2.2); an entry holds at most ten.
  ttl = std::min(ttl, kMaxEntryTtl);
  // RFC 9111 §4.2.3: the answer was already this old when it arrived. Only
  // the Age field counts; Date is not used for an apparent age because the
  // upstream's clock may disagree with ours.
  const int64_t age = ageSeconds(response_headers);
  ttl -= duration_cast<milliseconds>(seconds(age));
  if (ttl <= milliseconds(0)) return refuse("zero_ttl");
  if (revalidate_always) return StoreDecision{true, "stored", milliseconds(0), age, ttl};
  return StoreDecision{true, "stored", ttl, age};
}

ResponseControl responseControl(const http::HeaderMap& response_headers,
                                const std::vector<std::string>& targeted_fields) {
  for (const std::string& field : targeted_fields) {
    if (!response_headers.has(field)) continue;
    if (auto targeted = http::parseTargetedCacheControl(response_headers.joined(field)))
      return ResponseControl{*targeted, true};
  }
  return ResponseControl{http::parseCacheControl(response_headers), false};
}

void stripOwnTargetedFields(http::HeaderMap& headers, const config::CacheConfig& cache) {
  for (const std::string& field : cache.targeted_cache_control)
    if (!http::equalsIgnoreCase(field, "CDN-Cache-Control")) headers.remove(field);
}

http::HeaderMap storableHeaders(const http::HeaderMap& response_headers,
                                std::string_view status_header) {
  http::HeaderMap stored = response_headers;
  http::removeHopByHop(stored);
  stored.remove("set-cookie");
  stored.remove("set-cookie2");
  // Age is recomputed on every hit (RFC 9111 §4.2.3); the status header is
  // ours and written per response.
  stored.remove("age");
  if (!status_header.empty()) stored.remove(status_header);
  return stored;
}

int64_t currentAge(base::WallTime stored_at, int64_t initial_age_seconds, base::WallTime now) {
  const int64_t resident = now > stored_at ? duration_cast<seconds>(now - stored_at).count() : 0;
  const int64_t initial = std::max<int64_t>(initial_age_seconds, 0);
  if (resident > std::numeric_limits<int64_t>::max() - initial) {
    return std::numeric_limits<int64_t>::max();
  }
  return initial + resident;
}

bool clientWantsFresh(const http::HeaderMap& request_headers) {
  http::CacheControl cc = http::parseCacheControl(request_headers);
  if (cc.no_cache || (cc.max_age && cc.max_age->count() == 0)) return true;
  return !request_headers.has("Cache-Control") && request_headers.hasToken("Pragma", "no-cache");
}

bool isFresh(base::WallTime stored_at, std::chrono::milliseconds ttl, base::WallTime now) {
  if (ttl <= milliseconds(0)) return false;
  if (now <= stored_at) return true;
  return now - stored_at < ttl;
}

}  // namespace larder::cache
