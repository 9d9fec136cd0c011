#include "cache/policy.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cache/entry_codec.h"
#include "http/cache_control.h"

using namespace larder;
using namespace larder::cache;
using namespace std::chrono_literals;
using Fields = std::vector<std::pair<std::string, std::string>>;

namespace {

http::HeaderMap toHeaders(const Fields& fields) {
  http::HeaderMap headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

base::WallTime testNow() {
  const auto now = http::parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(now.has_value());
  return *now;
}

std::string dateAt(std::chrono::seconds offset) { return http::formatHttpDate(testNow() + offset); }

// The route the rows below start from: a GET route cached for 60s.
struct RouteSpec {
  std::optional<base::Duration> ttl = 60s;
  bool ttl_from_upstream = false;
  std::optional<base::Duration> max_ttl = std::nullopt;
  bool ignore_cc = false;
  bool per_user = false;
  std::vector<std::string> vary = {};
  std::optional<std::vector<int>> statuses = std::nullopt;
  std::optional<double> heuristic = 0.1;
};

config::Route makeRoute(const RouteSpec& spec) {
  config::Route route;
  route.methods = {"GET"};
  route.ttl = spec.ttl;
  route.ttl_from_upstream = spec.ttl_from_upstream;
  route.max_ttl = spec.max_ttl;
  route.ignore_upstream_cache_control = spec.ignore_cc;
  if (spec.per_user) {
    route.per_user = config::PrincipalSource{config::PrincipalSource::Kind::kHeader, "Authorization", ""};
  }
  route.vary = spec.vary;
  route.statuses = spec.statuses;
  route.heuristic = spec.heuristic;
  return route;
}

constexpr uint64_t kMaxObject = 1000;

const config::CacheConfig& testCache() {
  static const config::CacheConfig cache = [] {
    config::CacheConfig c;
    c.max_object_size = kMaxObject;
    return c;
  }();
  return cache;
}

}  // namespace

TEST_CASE("classifyRequest: only GET/HEAD on read routes; credentials bypass unless per-user") {
  struct Row {
    const char* name;
    const char* method;
    Fields headers;
    RouteSpec route;
    bool has_principal;
    bool use_cache;
    std::string_view reason;
  };
  const Row rows[] = {
      {"plain GET", "GET", {}, {}, false, true, "cacheable"},
      {"plain HEAD", "HEAD", {}, {}, false, true, "cacheable"},
      {"POST", "POST", {}, {}, false, false, "method"},
      {"lower-case get is another method", "get", {}, {}, false, false, "method"},
      {"OPTIONS", "OPTIONS", {}, {}, false, false, "method"},
      {"route without ttl", "GET", {}, {.ttl = std::nullopt}, false, false, "no_ttl"},
      {"upstream ttl route", "GET", {}, {.ttl = std::nullopt, .ttl_from_upstream = true}, false, true, "cacheable"},
      {"Authorization", "GET", {{"Authorization", "Bearer x"}}, {}, false, false, "authorization"},
      {"empty Authorization", "GET", {{"authorization", ""}}, {}, false, false, "authorization"},
      {"Cookie", "GET", {{"Cookie", "a=1"}}, {}, false, false, "cookie"},
      {"Cookie on HEAD", "HEAD", {{"cookie", "a=1"}}, {}, false, false, "cookie"},
      {"per-user with principal", "GET", {{"Authorization", "x"}, {"Cookie", "a=1"}}, {.per_user = true}, true, true,
       "cacheable"},
      {"per-user without principal", "GET", {}, {.per_user = true}, false, false, "no_principal"},
      {"per-user, method first", "PUT", {}, {.per_user = true}, true, false, "method"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const auto decision = classifyRequest(row.method, toHeaders(row.headers), makeRoute(row.route), row.has_principal);
    CHECK(decision.use_cache == row.use_cache);
    CHECK(decision.reason == row.reason);
  }
}

TEST_CASE("decideStore: every rule, with its reason and TTL") {
  struct Row {
    const char* name;
    RouteSpec route;
    Fields request;
    Fields response;
    std::string_view reason;
    std::chrono::milliseconds ttl{0};
    int status = 200;
    std::optional<uint64_t> content_length = 10;
    const char* method = "GET";
  };
  const std::vector<Row> rows = {
      {"plain 200 gets the route ttl", {}, {}, {}, "stored", 60s},
      // Method and status.
      {"HEAD answers have no body", {}, {}, {}, "method", 0s, 200, 0, "HEAD"},
      {"POST", {}, {}, {}, "method", 0s, 200, 10, "POST"},
      {"status not listed", {}, {}, {}, "status", 0s, 404},
      {"500 not listed", {}, {}, {}, "status", 0s, 500},
      {"status listed", {.statuses = std::vector<int>{200, 404}}, {}, {}, "stored", 60s, 404},
      {"a list replaces the default", {.statuses = std::vector<int>{404}}, {}, {}, "status"},
      // Set-Cookie: never, whatever the route says.
      {"Set-Cookie", {}, {}, {{"Set-Cookie", "a=1"}}, "set_cookie"},
      {"Set-Cookie despite ignore_upstream_cache_control", {.ignore_cc = true}, {}, {{"set-cookie", "a=1"}}, "set_cookie"},
      {"Set-Cookie despite public", {}, {}, {{"Cache-Control", "public, max-age=60"}, {"Set-Cookie", "a"}}, "set_cookie"},
      {"Set-Cookie on per-user route", {.per_user = true}, {}, {{"Set-Cookie", "a=1"}}, "set_cookie"},
      {"Set-Cookie2", {}, {}, {{"Set-Cookie2", "a=1"}}, "set_cookie"},
      // Vary.
      {"Vary: *", {}, {}, {{"Vary", "*"}}, "vary_star"},
      {"Vary: * among others", {.vary = {"accept"}}, {}, {{"Vary", "accept, *"}}, "vary_star"},
      {"Vary: * despite ignore", {.ignore_cc = true}, {}, {{"Vary", "*"}}, "vary_star"},
      {"Vary on an unkeyed header", {}, {}, {{"Vary", "Accept-Encoding"}}, "vary_unkeyed"},
      {"Vary partly keyed", {.vary = {"accept-encoding"}}, {}, {{"Vary", "Accept-Encoding, X-Other"}}, "vary_unkeyed"},
      {"Vary in a second field", {.vary = {"accept-encoding"}}, {}, {{"Vary", "accept-encoding"}, {"Vary", "Cookie"}},
       "vary_unkeyed"},
      {"Vary keyed, case-insensitive", {.vary = {"accept-encoding", "accept-language"}}, {},
       {{"Vary", "ACCEPT-ENCODING ,accept-Language"}}, "stored", 60s},
      {"Vary with empty elements", {}, {}, {{"Vary", " , ,"}}, "stored", 60s},
      // Size.
      {"over max_object_size", {}, {}, {}, "too_big", 0s, 200, kMaxObject + 1},
      {"exactly max_object_size", {}, {}, {}, "stored", 60s, 200, kMaxObject},
      {"unknown length is left to the caller", {}, {}, {}, "stored", 60s, 200, std::nullopt},
      // Credentials in the request (RFC 9111 §3.5, DESIGN invariant 6).
      {"Authorization on a shared route", {}, {{"Authorization", "x"}}, {}, "authorization"},
      {"Authorization, response public", {}, {{"Authorization", "x"}}, {{"Cache-Control", "public"}}, "stored", 60s},
      {"Authorization, response s-maxage", {}, {{"Authorization", "x"}}, {{"Cache-Control", "s-maxage=30"}}, "stored", 30s},
      {"Authorization, response must-revalidate", {}, {{"Authorization", "x"}}, {{"Cache-Control", "must-revalidate"}},
       "stored", 60s},
      {"Authorization, max-age alone is not enough", {}, {{"Authorization", "x"}}, {{"Cache-Control", "max-age=30"}},
       "authorization"},
      {"Authorization, public ignored with the upstream's Cache-Control", {.ignore_cc = true}, {{"Authorization", "x"}},
       {{"Cache-Control", "public"}}, "authorization"},
      {"Authorization on a per-user route", {.per_user = true}, {{"Authorization", "x"}}, {}, "stored", 60s},
      {"Cookie on a shared route", {}, {{"Cookie", "a=1"}}, {{"Cache-Control", "public"}}, "cookie"},
      {"Cookie on a per-user route", {.per_user = true}, {{"Cookie", "a=1"}}, {}, "stored", 60s},
      // Cache-Control directives.
      {"request no-store", {}, {{"Cache-Control", "no-store"}}, {}, "no_store"},
      {"request no-cache still stores", {}, {{"Cache-Control", "no-cache"}}, {}, "stored", 60s},
      {"no-store", {}, {}, {{"Cache-Control", "no-store"}}, "no_store"},
      {"no-store among others", {}, {}, {{"Cache-Control", "public, max-age=60"}, {"Cache-Control", "No-Store"}},
       "no_store"},
      {"private", {}, {}, {{"Cache-Control", "private"}}, "private"},
      {"private with field names", {}, {}, {{"Cache-Control", "private=\"X-User\", max-age=60"}}, "private"},
      {"no-cache without validators", {}, {}, {{"Cache-Control", "no-cache"}}, "no_cache"},
      {"no-cache with an ETag: stored, never fresh", {}, {}, {{"Cache-Control", "no-cache"}, {"ETag", "\"a\""}},
       "stored", 0s},
      {"no-cache with Last-Modified: stored, never fresh", {},
       {},
       {{"Cache-Control", "no-cache"}, {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}},
       "stored",
       0s},
      {"no-store ignored", {.ignore_cc = true}, {}, {{"Cache-Control", "no-store"}}, "stored", 60s},
      {"private ignored", {.ignore_cc = true}, {}, {{"Cache-Control", "private"}}, "stored", 60s},
      {"no-cache ignored", {.ignore_cc = true}, {}, {{"Cache-Control", "no-cache"}}, "stored", 60s},
      // Fixed TTL, capped by the upstream.
      {"max-age caps", {}, {}, {{"Cache-Control", "max-age=30"}}, "stored", 30s},
      {"max-age above the ttl", {}, {}, {{"Cache-Control", "max-age=120"}}, "stored", 60s},
      {"s-maxage before max-age", {}, {}, {{"Cache-Control", "max-age=30, s-maxage=10"}}, "stored", 10s},
      {"s-maxage overrides a smaller max-age", {}, {}, {{"Cache-Control", "max-age=5, s-maxage=50"}}, "stored", 50s},
      {"max-age=0", {}, {}, {{"Cache-Control", "max-age=0"}}, "zero_ttl"},
      {"malformed max-age is dropped", {}, {}, {{"Cache-Control", "max-age=abc"}}, "stored", 60s},
      {"Expires minus Date", {}, {}, {{"Date", dateAt(100s)}, {"Expires", dateAt(120s)}}, "stored", 20s},
      {"Expires minus now without Date", {}, {}, {{"Expires", dateAt(25s)}}, "stored", 25s},
      {"Expires minus now with an invalid Date", {}, {}, {{"Date", "yesterday"}, {"Expires", dateAt(25s)}}, "stored",
       25s},
      {"Expires beyond the ttl", {}, {}, {{"Date", dateAt(0s)}, {"Expires", dateAt(3600s)}}, "stored", 60s},
      {"Expires in the past", {}, {}, {{"Date", dateAt(0s)}, {"Expires", dateAt(-10s)}}, "zero_ttl"},
      {"invalid Expires means expired", {}, {}, {{"Expires", "0"}}, "zero_ttl"},
      {"max-age wins over Expires", {}, {}, {{"Cache-Control", "max-age=50"}, {"Expires", "0"}}, "stored", 50s},
      {"caps ignored with the upstream's Cache-Control", {.ignore_cc = true}, {},
       {{"Cache-Control", "max-age=10"}, {"Expires", "0"}}, "stored", 60s},
      {"max_ttl caps a fixed ttl", {.max_ttl = 40s}, {}, {}, "stored", 40s},
      // Age (RFC 9111 §4.2.3).
      {"Age is subtracted", {}, {}, {{"Age", "15"}}, "stored", 45s},
      {"Age after the max-age cap", {}, {}, {{"Cache-Control", "max-age=30"}, {"Age", "10"}}, "stored", 20s},
      {"Age at the ttl", {}, {}, {{"Age", "60"}}, "zero_ttl"},
      {"Age beyond the ttl", {}, {}, {{"Age", "99999999999999999999"}}, "zero_ttl"},
      {"invalid Age ignored", {}, {}, {{"Age", "-5"}}, "stored", 60s},
      // RFC 9111 §5.1 + RFC 9110 §5.5: Age is a singleton; anything but one
      // delta-seconds value is invalid and ignored.
      {"Age with trailing junk ignored", {}, {}, {{"Age", "15abc"}}, "stored", 60s},
      {"fractional Age ignored", {}, {}, {{"Age", "15.0"}}, "stored", 60s},
      {"Age list ignored", {}, {}, {{"Age", "15, 15"}}, "stored", 60s},
      {"Age on two lines ignored", {}, {}, {{"Age", "15"}, {"Age", "0"}}, "stored", 60s},
      {"Age with OWS", {}, {}, {{"Age", " 15 "}}, "stored", 45s},
      {"Age subtracted even when Cache-Control is ignored", {.ignore_cc = true}, {}, {{"Age", "15"}}, "stored", 45s},
      // TTL from the upstream (RFC 9111 §4.2.1).
      {"upstream: no freshness", {.ttl = std::nullopt, .ttl_from_upstream = true}, {}, {}, "no_freshness"},
      {"upstream: public alone gives no lifetime", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "public"}}, "no_freshness"},
      {"upstream: max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {}, {{"Cache-Control", "max-age=300"}},
       "stored", 300s},
      {"upstream: s-maxage first", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=300, s-maxage=100"}}, "stored", 100s},
      {"upstream: Expires minus Date", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Date", dateAt(-5s)}, {"Expires", dateAt(3595s)}}, "stored", 3600s},
      {"upstream: invalid Expires", {.ttl = std::nullopt, .ttl_from_upstream = true}, {}, {{"Expires", "never"}},
       "zero_ttl"},
      {"upstream: max_ttl caps", {.ttl = std::nullopt, .ttl_from_upstream = true, .max_ttl = 600s}, {},
       {{"Cache-Control", "max-age=3600"}}, "stored", 600s},
      {"upstream: max_ttl, then Age", {.ttl = std::nullopt, .ttl_from_upstream = true, .max_ttl = 600s}, {},
       {{"Cache-Control", "max-age=3600"}, {"Age", "100"}}, "stored", 500s},
      {"upstream: lifetime still read with ignore", {.ttl = std::nullopt, .ttl_from_upstream = true, .ignore_cc = true},
       {}, {{"Cache-Control", "no-store, max-age=300"}}, "stored", 300s},
      {"upstream: no-store honoured", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "no-store, max-age=300"}}, "no_store"},
      {"upstream: a lifetime of decades is capped to what an entry holds",
       {.ttl = std::nullopt, .ttl_from_upstream = true}, {}, {{"Cache-Control", "max-age=99999999999"}}, "stored",
       kMaxEntryTtl},
      {"route without ttl", {.ttl = std::nullopt}, {}, {}, "no_ttl"},
      // RFC 9111 §3: under ttl: upstream any final status with explicit
      // freshness is storable, unless the route lists statuses.
      {"upstream: 404 with max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=60"}}, "stored", 60s, 404},
      {"upstream: 500 with max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=60"}}, "stored", 60s, 500},
      {"upstream: 302 with Expires", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Date", dateAt(0s)}, {"Expires", dateAt(30s)}}, "stored", 30s, 302},
      {"upstream: 599 with max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=60"}}, "stored", 60s, 599},
      {"upstream: 206 is never a whole answer", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=60"}}, "status", 0s, 206},
      {"upstream: 304 is never a whole answer", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=60"}}, "status", 0s, 304},
      {"upstream: listed statuses restrict", {.ttl = std::nullopt, .ttl_from_upstream = true,
                                              .statuses = std::vector<int>{200}},
       {}, {{"Cache-Control", "max-age=60"}}, "status", 0s, 404},
      {"fixed ttl: 404 needs listing even with max-age", {}, {}, {{"Cache-Control", "max-age=60"}}, "status", 0s,
       404},
      // RFC 9111 §4.2.2: heuristic freshness.
      {"upstream: heuristic 10% of Date - Last-Modified", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Date", dateAt(0s)}, {"Last-Modified", dateAt(-1000s)}}, "stored", 100s},
      {"upstream: heuristic from receipt without Date", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "stored", 100s},
      {"upstream: heuristic 50%", {.ttl = std::nullopt, .ttl_from_upstream = true, .heuristic = 0.5}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "stored", 500s},
      {"upstream: heuristic minus Age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}, {"Age", "30"}}, "stored", 70s},
      {"upstream: heuristic for a 404", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "stored", 100s, 404},
      {"upstream: heuristic for a 308", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "stored", 100s, 308},
      {"upstream: no heuristic for 201", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "no_freshness", 0s, 201},
      {"upstream: no heuristic for 503", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "no_freshness", 0s, 503},
      {"upstream: public allows a heuristic for any status", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}, {"Cache-Control", "public"}}, "stored", 100s, 599},
      {"upstream: heuristic off", {.ttl = std::nullopt, .ttl_from_upstream = true, .heuristic = std::nullopt}, {},
       {{"Last-Modified", dateAt(-1000s)}}, "no_freshness"},
      {"upstream: heuristic capped at a day", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-std::chrono::seconds(100 * 86400))}}, "stored", std::chrono::hours(24)},
      {"upstream: max_ttl replaces the day cap", {.ttl = std::nullopt, .ttl_from_upstream = true,
                                                   .max_ttl = std::chrono::hours(48)},
       {}, {{"Last-Modified", dateAt(-std::chrono::seconds(100 * 86400))}}, "stored", std::chrono::hours(48)},
      {"upstream: Last-Modified after Date", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Date", dateAt(0s)}, {"Last-Modified", dateAt(10s)}}, "no_freshness"},
      {"upstream: invalid Last-Modified", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", "yesterday"}}, "no_freshness"},
      {"upstream: explicit freshness wins over the heuristic", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Last-Modified", dateAt(-1000s)}, {"Cache-Control", "max-age=7"}}, "stored", 7s},
      // RFC 9213: targeted fields replace Cache-Control and Expires.
      {"targeted: CDN-Cache-Control over Cache-Control no-store", {.ttl = std::nullopt, .ttl_from_upstream = true},
       {}, {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=600"}}, "stored", 600s},
      {"targeted: long CDN max-age over a short max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=1"}, {"CDN-Cache-Control", "max-age=3600"}}, "stored", 3600s},
      {"targeted: short CDN max-age over a long max-age", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"Cache-Control", "max-age=3600"}, {"CDN-Cache-Control", "max-age=1"}}, "stored", 1s},
      {"targeted: past Expires ignored", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=3600"}, {"Date", dateAt(0s)}, {"Expires", dateAt(-10000s)}}, "stored", 3600s},
      {"targeted: max-age=0 despite a future Expires", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=0"}, {"Date", dateAt(0s)}, {"Expires", dateAt(10000s)}}, "zero_ttl"},
      {"targeted: private", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "private"}, {"Cache-Control", "max-age=10000"}}, "private"},
      {"targeted: no-store", {}, {}, {{"CDN-Cache-Control", "no-store"}, {"Cache-Control", "max-age=10000"}},
       "no_store"},
      {"targeted: no-cache without validators", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "no-cache"}, {"Cache-Control", "max-age=10000"}}, "no_cache"},
      {"targeted: Age still counts", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=3600"}, {"Age", "7200"}}, "zero_ttl"},
      {"targeted: an invalid field is ignored", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=10000, &&&&&"}, {"Cache-Control", "no-store"}}, "no_store"},
      {"targeted: a wrong type invalidates the field", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=\"10000\""}, {"Cache-Control", "no-store"}}, "no_store"},
      {"targeted: Larder-Cache-Control first", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=100"}, {"Larder-Cache-Control", "max-age=60"}}, "stored", 60s},
      {"targeted: an invalid first field falls to the next", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "max-age=100"}, {"Larder-Cache-Control", "max-age=x"}}, "stored", 100s},
      {"targeted: caps a fixed ttl", {}, {}, {{"CDN-Cache-Control", "max-age=30"}}, "stored", 30s},
      {"targeted: without a lifetime, Expires stays ignored", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "public"}, {"Date", dateAt(0s)}, {"Expires", dateAt(100s)}}, "no_freshness"},
      {"targeted: field lines combine", {.ttl = std::nullopt, .ttl_from_upstream = true}, {},
       {{"CDN-Cache-Control", "public"}, {"CDN-Cache-Control", "max-age=40"}}, "stored", 40s},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const auto decision =
        decideStore(makeRoute(row.route), row.method, toHeaders(row.request), row.status, toHeaders(row.response),
                    row.content_length, testCache(), testNow());
    CHECK(decision.reason == row.reason);
    CHECK(decision.store == (row.reason == "stored"));
    CHECK(decision.ttl == row.ttl);
  }
}

TEST_CASE("decideStore reports the upstream's Age as the initial age") {
  const auto route = makeRoute({});
  const auto with_age = decideStore(route, "GET", {}, 200, toHeaders({{"Age", "7"}}), 1, testCache(), testNow());
  CHECK(with_age.store);
  CHECK(with_age.initial_age_seconds == 7);
  const auto without = decideStore(route, "GET", {}, 200, {}, 1, testCache(), testNow());
  CHECK(without.initial_age_seconds == 0);
}

TEST_CASE("RFC 9213: an empty targeted list reads Cache-Control alone") {
  config::CacheConfig cache = testCache();
  cache.targeted_cache_control.clear();
  config::Route route = makeRoute({.ttl = std::nullopt, .ttl_from_upstream = true});
  const auto headers = toHeaders({{"Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "max-age=100"}});
  const auto decision = decideStore(route, "GET", {}, 200, headers, 1, cache, testNow());
  CHECK(decision.ttl == 5s);
  CHECK_FALSE(responseControl(headers, cache.targeted_cache_control).targeted);
  CHECK(responseControl(headers, testCache().targeted_cache_control).targeted);
}

TEST_CASE("RFC 9213: larder's own targeted fields are stripped; CDN-Cache-Control is forwarded") {
  auto headers = toHeaders({{"Larder-Cache-Control", "max-age=5"}, {"CDN-Cache-Control", "max-age=100"},
                            {"Cache-Control", "no-store"}});
  stripOwnTargetedFields(headers, testCache());
  CHECK_FALSE(headers.has("Larder-Cache-Control"));
  CHECK(headers.has("CDN-Cache-Control"));
  CHECK(headers.has("Cache-Control"));
}

TEST_CASE("storableHeaders drops hop-by-hop, Set-Cookie, Age and the status header") {
  const auto stored = storableHeaders(toHeaders({{"Content-Type", "text/plain"},
                                                 {"Connection", "close, X-Hop"},
                                                 {"X-Hop", "1"},
                                                 {"Keep-Alive", "timeout=5"},
                                                 {"Transfer-Encoding", "chunked"},
                                                 {"Set-Cookie", "a=1"},
                                                 {"Age", "30"},
                                                 {"x-cache", "HIT"},
                                                 {"ETag", "\"v1\""},
                                                 {"Content-Type", "text/html"}}),
                                      "X-Cache");
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& h : stored) fields.emplace_back(h.name, h.value);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"Content-Type", "text/plain"}, {"ETag", "\"v1\""}, {"Content-Type", "text/html"}};
  CHECK(fields == expected);
  CHECK(storableHeaders(toHeaders({{"X-Cache", "MISS"}}), "").size() == 1);
}

TEST_CASE("currentAge counts whole seconds resident plus the initial age, never negative") {
  const base::WallTime stored = testNow();
  struct Row {
    std::chrono::milliseconds elapsed;
    int64_t initial;
    int64_t age;
  };
  const Row rows[] = {
      {0ms, 0, 0},     {999ms, 0, 0},  {1000ms, 0, 1},  {61500ms, 0, 61},
      {10s, 5, 15},    {-30s, 0, 0},   {-30s, 4, 4},    {5s, -100, 5},
  };
  for (const Row& row : rows) {
    CAPTURE(row.elapsed.count());
    CHECK(currentAge(stored, row.initial, stored + row.elapsed) == row.age);
  }
  CHECK(currentAge(stored, INT64_MAX, stored + 10s) == INT64_MAX);
}

TEST_CASE("isFresh until stored_at + ttl") {
  const base::WallTime stored = testNow();
  struct Row {
    std::chrono::milliseconds ttl;
    std::chrono::milliseconds elapsed;
    bool fresh;
  };
  const Row rows[] = {
      {60s, 0ms, true},   {60s, 59999ms, true}, {60s, 60s, false}, {60s, 3600s, false},
      {60s, -5s, true},   {0s, 0s, false},      {-1s, -5s, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.elapsed.count());
    CHECK(isFresh(stored, row.ttl, stored + row.elapsed) == row.fresh);
  }
}

TEST_CASE("a client asks for a revalidated answer with no-cache, max-age=0, or Pragma alone") {
  struct Row {
    std::vector<std::pair<std::string, std::string>> fields;
    bool fresh;
  };
  for (const Row& row : {Row{{}, false}, Row{{{"Cache-Control", "no-cache"}}, true},
                         Row{{{"Cache-Control", "max-age=0"}}, true}, Row{{{"Cache-Control", "max-age=5"}}, false},
                         Row{{{"Pragma", "no-cache"}}, true},
                         Row{{{"Pragma", "no-cache"}, {"Cache-Control", "max-age=5"}}, false},
                         Row{{{"Cache-Control", "no-store"}}, false}}) {
    http::HeaderMap headers;
    for (const auto& [name, value] : row.fields) headers.add(name, value);
    CAPTURE(row.fields.size());
    CHECK(clientWantsFresh(headers) == row.fresh);
  }
}
