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

// Expires relative to Date (RFC 9111 §4.2.1), or to `now` when Date is
// missing or invalid (the time the response was received). An invalid
// Expires, such as "0", means already expired (RFC 9111 §5.3).
std::optional<milliseconds> expiresLifetime(const http::HeaderMap& headers, base::WallTime now) {
  const std::string* expires = headers.find("expires");
  if (!expires) return std::nullopt;
  const auto expires_at = http::parseHttpDate(*expires);
  if (!expires_at) return milliseconds(0);
  base::WallTime base = now;
  if (const std::string* date = headers.find("date")) {
    if (const auto date_at = http::parseHttpDate(*date)) base = *date_at;
  }
  return duration_cast<milliseconds>(*expires_at - base);
}

// The freshness lifetime the upstream gives a shared cache (RFC 9111 §4.2.1):
// s-maxage, else max-age, else Expires; nullopt when it gives none.
std::optional<milliseconds> upstreamLifetime(const http::CacheControl& cc,
                                             const http::HeaderMap& headers, base::WallTime now) {
  if (cc.s_maxage) return duration_cast<milliseconds>(*cc.s_maxage);
  if (cc.max_age) return duration_cast<milliseconds>(*cc.max_age);
  return expiresLifetime(headers, now);
}

// The Age field as delta-seconds (RFC 9111 §5.1); an invalid value is ignored.
int64_t ageSeconds(const http::HeaderMap& headers) {
  const std::string* age = headers.find("age");
  if (!age) return 0;
  const std::string_view text = trimOws(*age);
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
                          std::optional<uint64_t> content_length, uint64_t max_object_size,
                          base::WallTime now, const std::vector<std::string>& extra_vary) {
  if (request_method != "GET") return refuse("method");
  if (std::find(route.statuses.begin(), route.statuses.end(), status) == route.statuses.end()) {
    return refuse("status");
  }
  // DESIGN invariant 6: checked before ignore_upstream_cache_control is
  // consulted, because no setting may share another user's cookie.
  if (response_headers.has("set-cookie") || response_headers.has("set-cookie2")) {
    return refuse("set_cookie");
  }
  if (const std::string_view problem = varyProblem(response_headers, route, extra_vary);
      !problem.empty()) {
    return refuse(problem);
  }
  if (content_length && *content_length > max_object_size) return refuse("too_big");

  const bool honor_upstream = !route.ignore_upstream_cache_control;
  const http::CacheControl cc = http::parseCacheControl(response_headers);
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
    const auto lifetime = upstreamLifetime(cc, response_headers, now);
    if (!lifetime) return refuse("no_freshness");
    ttl = *lifetime;
  } else if (route.ttl) {
    ttl = *route.ttl;
    if (honor_upstream) {
      if (const auto lifetime = upstreamLifetime(cc, response_headers, now)) {
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

bool isFresh(base::WallTime stored_at, std::chrono::milliseconds ttl, base::WallTime now) {
  if (ttl <= milliseconds(0)) return false;
  if (now <= stored_at) return true;
  return now - stored_at < ttl;
}

}  // namespace larder::cache
