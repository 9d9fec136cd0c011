// larder as a plain HTTP cache (one catch-all `ttl: upstream` route): which
// answers it stores and reuses, per RFC 9111 §3 (storable statuses), §4.2.2
// (heuristic freshness), §5.1 (Age) and RFC 9213 (targeted fields), on the
// Redis store, the memory store and through the in-process tier.
#include <ctime>
#include <string>
#include <vector>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPlainRoutes = R"(routes:
  - match: GET /fixed/*
    ttl: 1m
  - match: GET /only200/*
    ttl: upstream
    statuses: [200]
  - match: GET /noheuristic/*
    ttl: upstream
    heuristic: off
  - match: GET /*
    ttl: upstream
)";

constexpr std::string_view kTierRoutes = R"(routes:
  - match: GET /*
    ttl: upstream
    memory_ttl: 30s
)";

enum class Mode { kRedis, kMemory, kTier };

const char* name(Mode mode) {
  switch (mode) {
    case Mode::kRedis: return "redis";
    case Mode::kMemory: return "memory";
    case Mode::kTier: return "redis + in-process tier";
  }
  return "?";
}

CacheOptions optionsFor(Mode mode) {
  CacheOptions options;
  options.store = mode == Mode::kMemory ? StoreKind::kMemory : StoreKind::kRedis;
  options.routes = std::string(mode == Mode::kTier ? kTierRoutes : kPlainRoutes);
  return options;
}

// An IMF-fixdate `offset` from now (RFC 9110 §5.6.7).
std::string httpDate(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

struct Case {
  std::string name;
  std::string path;
  int status;
  Headers headers;
  bool reused;
};

// Each case's path is answered with its status and fields. Every path is
// asked for twice; the second answer must be a hit exactly when `reused`.
void checkReuse(Mode mode, const std::vector<Case>& cases) {
  CAPTURE(name(mode));
  CacheFixture cache(optionsFor(mode));
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    for (const Case& c : cases) {
      if (request.target != c.path) continue;
      response.status = c.status;
      response.reason = "Whatever";
      response.headers = c.headers;
      if (c.status == 204 || c.status == 304) response.body.clear();
    }
  });
  HttpClient client = cache.client();
  size_t stored = 0;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    HttpResponse first = mustGet(client, c.path);
    CHECK(first.status == c.status);
    if (c.reused) ++stored;
  }
  // Stores land after their answers (Redis): wait for all of them at once.
  if (mode != Mode::kMemory) REQUIRE(cache.waitForEntries(stored));
  for (const Case& c : cases) {
    CAPTURE(c.name);
    HttpResponse second = mustGet(client, c.path);
    CHECK(second.status == c.status);
    CHECK(xCache(second) == (c.reused ? "HIT" : "MISS"));
    CHECK(cache.upstreamCount("GET", c.path) == (c.reused ? 1u : 2u));
  }
}

std::vector<Case> statusCases() {
  std::vector<Case> cases;
  for (int status : {200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599})
    cases.push_back({"max-age, " + std::to_string(status), "/s/" + std::to_string(status), status,
                     {{"Cache-Control", "max-age=3600"}, {"Location", "/elsewhere"}}, true});
  cases.push_back({"206 is never a whole answer", "/s/206", 206,
                   {{"Cache-Control", "max-age=3600"}, {"Content-Range", "bytes 0-3/100"}}, false});
  cases.push_back({"404 without freshness", "/s/404-none", 404, {}, false});
  cases.push_back({"stale 404", "/s/404-stale", 404, {{"Cache-Control", "max-age=0"}}, false});
  return cases;
}

TEST_CASE("RFC 9111 §3: under ttl: upstream, any final status with explicit freshness is stored") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory, Mode::kTier}) checkReuse(mode, statusCases());
}

TEST_CASE("RFC 9111 §3: a route's statuses, and a fixed TTL's default of 200, restrict what is stored") {
  checkReuse(Mode::kRedis, {
      {"listed status", "/only200/a", 200, {{"Cache-Control", "max-age=3600"}}, true},
      {"unlisted status", "/only200/b", 404, {{"Cache-Control", "max-age=3600"}}, false},
      {"fixed ttl: 200", "/fixed/a", 200, {}, true},
      {"fixed ttl: 404 with max-age", "/fixed/b", 404, {{"Cache-Control", "max-age=3600"}}, false},
  });
}

std::vector<Case> heuristicCases() {
  const Headers modified = {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-24h)}};
  std::vector<Case> cases;
  for (int status : {200, 203, 204, 404, 405, 410, 414, 501})
    cases.push_back({"heuristically cacheable " + std::to_string(status), "/h/" + std::to_string(status), status,
                     modified, true});
  for (int status : {201, 202, 403, 502, 503, 504, 599})
    cases.push_back({"not heuristically cacheable " + std::to_string(status), "/h/" + std::to_string(status),
                     status, modified, false});
  Headers with_public = modified;
  with_public.emplace_back("Cache-Control", "public");
  cases.push_back({"public makes 599 heuristically cacheable", "/h/599-public", 599, with_public, true});
  cases.push_back({"Last-Modified in the future", "/h/future", 200,
                   {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(1h)}}, false});
  cases.push_back({"Age past the heuristic lifetime", "/h/aged", 200,
                   {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-100s)}, {"Age", "60"}}, false});
  return cases;
}

TEST_CASE("RFC 9111 §4.2.2: heuristic freshness from Last-Modified for heuristically cacheable statuses") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory, Mode::kTier}) checkReuse(mode, heuristicCases());
  checkReuse(Mode::kMemory, {{"heuristic: off", "/noheuristic/a", 200,
                              {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-24h)}}, false}});
}

TEST_CASE("RFC 9111 §5.1: Age counts against freshness; an invalid Age is ignored") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory}) {
    checkReuse(mode, {
        {"Age past max-age", "/age/old", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200"}}, false},
        {"Age within max-age", "/age/young", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "60"}}, true},
        {"non-numeric Age", "/age/abc", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "abc"}}, true},
        {"Age with trailing junk", "/age/junk", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200x"}}, true},
        {"Age on two lines", "/age/two", 200,
         {{"Cache-Control", "max-age=3600"}, {"Age", "7200"}, {"Age", "0"}}, true},
        {"Age list", "/age/list", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200, 7200"}}, true},
    });
  }
}

TEST_CASE("RFC 9111 §5.2: Cache-Control parsing as the wire shows it") {
  checkReuse(Mode::kMemory, {
      {"quoted max-age", "/cc/quoted", 200, {{"Cache-Control", "max-age=\"3600\""}}, true},
      {"leading zeros", "/cc/zeros", 200, {{"Cache-Control", "max-age=003600"}}, true},
      {"max-age inside a quoted extension", "/cc/ext", 200,
       {{"Cache-Control", "extension=\"max-age=3600\", max-age=0"}}, false},
      {"single quotes", "/cc/single", 200, {{"Cache-Control", "max-age='3600'"}}, false},
      {"space before =", "/cc/space", 200, {{"Cache-Control", "max-age =3600"}}, false},
      {"invalid Expires means expired", "/cc/expires", 200, {{"Expires", "0"}}, false},
      {"Expires without Date", "/cc/nodate", 200, {{"Expires", httpDate(1h)}}, true},
  });
}

TEST_CASE("RFC 9213: CDN-Cache-Control and Larder-Cache-Control take precedence over Cache-Control") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory}) {
    checkReuse(mode, {
        {"CDN max-age over no-store", "/t/cdn", 200,
         {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=3600"}}, true},
        {"Larder max-age over no-store", "/t/larder", 200,
         {{"Cache-Control", "no-store"}, {"Larder-Cache-Control", "max-age=3600"}}, true},
        {"CDN private over max-age", "/t/private", 200,
         {{"Cache-Control", "max-age=3600"}, {"CDN-Cache-Control", "private"}}, false},
        {"CDN no-store over max-age", "/t/nostore", 200,
         {{"Cache-Control", "max-age=3600"}, {"CDN-Cache-Control", "no-store"}}, false},
        {"invalid CDN field ignored", "/t/invalid", 200,
         {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=3600, &&&&&"}}, false},
        {"CDN max-age with Age past it", "/t/aged", 200,
         {{"CDN-Cache-Control", "max-age=3600"}, {"Age", "7200"}}, false},
        {"CDN max-age over a past Expires", "/t/expires", 200,
         {{"CDN-Cache-Control", "max-age=3600"}, {"Date", httpDate(0s)}, {"Expires", httpDate(-1h)}}, true},
    });
  }
}

TEST_CASE("RFC 9213: Larder-Cache-Control is larder's own and never reaches clients; CDN-Cache-Control does") {
  CacheFixture cache(optionsFor(Mode::kRedis));
  cache.customize([](const RecordedRequest&, FakeResponse& response) {
    response.headers.emplace_back("Larder-Cache-Control", "max-age=60");
    response.headers.emplace_back("CDN-Cache-Control", "max-age=30");
    response.headers.emplace_back("Cache-Control", "no-store");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/t/strip");
  CHECK(xCache(miss) == "MISS");
  CHECK_FALSE(miss.hasHeader("Larder-Cache-Control"));
  CHECK(miss.header("CDN-Cache-Control") == "max-age=30");
  CHECK(miss.header("Cache-Control") == "no-store");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/t/strip");
  CHECK(xCache(hit) == "HIT");
  CHECK_FALSE(hit.hasHeader("Larder-Cache-Control"));
  CHECK(hit.header("CDN-Cache-Control") == "max-age=30");
  CHECK(cache.upstream.requestCount() == 1);
}

}  // namespace
}  // namespace larder::test
