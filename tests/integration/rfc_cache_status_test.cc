// Cache-Status (RFC 9211) on every answer of a cacheable route: hits with
// their remaining freshness, forwards with why and what came back, whether
// the answer was stored (and why not), collapsed requests, and the
// upstream's own Cache-Status kept ahead of larder's member.
#include <string>

#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kRoutes = R"(routes:
  - match: GET /plain/*
    ttl: upstream
  - match: GET /fresh/*
    ttl: 1h
    client_no_cache: honour
)";

CacheOptions statusOptions(std::string cache_section = {}) {
  CacheOptions options;
  options.cache_section = std::move(cache_section);
  options.routes = std::string(kRoutes);
  return options;
}

std::string cacheStatus(const HttpResponse& response) { return response.header("Cache-Status"); }

TEST_CASE("RFC 9211 §2.1-2.8: a miss says why it went forward and that it stored; a hit gives its ttl") {
  CacheFixture cache(statusOptions());
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/plain/a") response.headers.emplace_back("Cache-Control", "max-age=600");
    if (request.target == "/plain/private") response.headers.emplace_back("Cache-Control", "private, max-age=600");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/plain/a");
  CHECK(cacheStatus(miss) == "larder; fwd=uri-miss; fwd-status=200; stored");
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/plain/a");
  const std::string status = cacheStatus(hit);
  CHECK(status.rfind("larder; hit; ttl=", 0) == 0);
  const int ttl = std::stoi(status.substr(std::string_view("larder; hit; ttl=").size()));
  CHECK(ttl <= 600);
  CHECK(ttl >= 590);

  HttpResponse refused = mustGet(client, "/plain/private");
  CHECK(cacheStatus(refused) == "larder; fwd=uri-miss; fwd-status=200; detail=private");
  HttpResponse none = mustGet(client, "/plain/nothing");
  CHECK(cacheStatus(none) == "larder; fwd=uri-miss; fwd-status=200; detail=no_freshness");
  HttpResponse bypass = mustGet(client, "/plain/a", {{"Authorization", "Bearer x"}});
  CHECK(cacheStatus(bypass) == "larder; fwd=bypass; fwd-status=200; detail=authorization");
  HttpResponse asked = mustGet(client, "/fresh/x", {{"Cache-Control", "no-cache"}});
  CHECK(cacheStatus(asked) == "larder; fwd=uri-miss; fwd-status=200; stored");
  REQUIRE(cache.waitForEntries(2));
  HttpResponse revalidate = mustGet(client, "/fresh/x", {{"Cache-Control", "no-cache"}});
  CHECK(cacheStatus(revalidate).rfind("larder; fwd=request; fwd-status=", 0) == 0);
}

TEST_CASE("RFC 9211 §2: larder's member follows the one the upstream sent") {
  CacheFixture cache(statusOptions());
  cache.customize([](const RecordedRequest&, FakeResponse& response) {
    response.headers.emplace_back("Cache-Control", "max-age=600");
    response.headers.emplace_back("Cache-Status", "OriginCache; hit; ttl=1100");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/plain/b");
  CHECK(miss.headerValues("Cache-Status") ==
        std::vector<std::string>{"OriginCache; hit; ttl=1100, larder; fwd=uri-miss; fwd-status=200; stored"});
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/plain/b");
  CHECK(cacheStatus(hit).rfind("OriginCache; hit; ttl=1100, larder; hit; ttl=", 0) == 0);
}

TEST_CASE("RFC 9211 §2.2: vary-miss for another variant of a known resource; collapsed for a joined fetch") {
  CacheOptions options = statusOptions();
  const uint16_t admin_port = freePort();
  options.routes += fmt::format("admin:\n  listen: 127.0.0.1:{}\n", admin_port);
  CacheFixture cache(options);
  auto gate = std::make_shared<Gate>();
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    response.headers.emplace_back("Cache-Control", "max-age=600");
    if (request.target == "/plain/v") response.headers.emplace_back("Vary", "Accept-Language");
    if (request.target == "/plain/slow") response.hold = gate;
  });
  HttpClient client = cache.client();
  CHECK(cacheStatus(mustGet(client, "/plain/v", {{"Accept-Language", "en"}})) ==
        "larder; fwd=uri-miss; fwd-status=200; stored");
  CHECK(cacheStatus(mustGet(client, "/plain/v", {{"Accept-Language", "fr"}})) ==
        "larder; fwd=vary-miss; fwd-status=200; stored");

  HttpClient leader = cache.client();
  HttpClient follower = cache.client();
  REQUIRE(leader.send("GET /plain/slow HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  REQUIRE(cache.upstream.waitForRequests(1 + 2, 10s));
  REQUIRE(follower.send("GET /plain/slow HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  REQUIRE(waitUntil([&] { return scrape(admin_port).value("larder_coalesced_waiters") == 1; }, 10s, 20ms));
  gate->open();
  auto led = leader.readResponse();
  auto followed = follower.readResponse();
  REQUIRE(led.has_value());
  REQUIRE(followed.has_value());
  CHECK(cacheStatus(*led) == "larder; fwd=uri-miss; fwd-status=200; stored");
  CHECK(cacheStatus(*followed) == "larder; fwd=uri-miss; fwd-status=200; collapsed");
}

TEST_CASE("Cache-Status and X-Cache can each be turned off, or Cache-Status renamed") {
  {
    CacheFixture cache(statusOptions("  cache_status: off\n"));
    HttpClient client = cache.client();
    HttpResponse response = mustGet(client, "/fresh/a");
    CHECK_FALSE(response.hasHeader("Cache-Status"));
    CHECK(xCache(response) == "MISS");
  }
  {
    CacheOptions options = statusOptions("  cache_status: \"edge 1\"\n");
    options.routes = std::string(kRoutes);
    CacheFixture cache(options);
    HttpClient client = cache.client();
    CHECK(cacheStatus(mustGet(client, "/fresh/b")) == "\"edge 1\"; fwd=uri-miss; fwd-status=200; stored");
  }
}

}  // namespace
}  // namespace larder::test
