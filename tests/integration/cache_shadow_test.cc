// Shadow routes (mode: shadow, issue 15 item 3) against an upstream whose
// answers change: every request reaches the upstream and gets the fresh
// answer, while larder_shadow_total counts what the cache would have done:
// would_hit, would_miss, and mismatch when the stored answer differs from
// the fresh one. Writes still invalidate (DESIGN invariant 3): after one,
// the next read would miss.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "harness/admin_fixture.h"
#include "harness/gate.h"
#include "harness/proxy_fixture.h"
#include "harness/redis_server.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes =
    "routes:\n"
    "  - match: GET /items/{id}\n"
    "    name: items\n"
    "    ttl: 1h\n"
    "    namespaces: [\"item:{id}\"]\n"
    "    mode: shadow\n"
    "  - match: GET /unsampled/{id}\n"
    "    name: unsampled\n"
    "    ttl: 1h\n"
    "    mode: shadow\n"
    "    shadow_sample: 0%\n"
    "  - match: PUT /items/{id}\n"
    "    invalidates: [\"item:{id}\"]\n";

// The upstream answers "TARGET v<version>"; the test moves the version on,
// as an application whose data changes without telling the cache.
struct ShadowProxy {
  explicit ShadowProxy(std::string_view store = {})
      : version(std::make_shared<std::atomic<int>>(1)),
        admin_port(freePort()),
        larder(proxyConfig(upstream.port(), std::string(kRoutes) + adminSection(admin_port) + std::string(store))) {
    upstream.setHandler([version = version](const RecordedRequest& request) {
      FakeResponse response;
      response.body = fmt::format("{} v{}", request.target, version->load());
      return response;
    });
  }

  std::shared_ptr<std::atomic<int>> version;
  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

}  // namespace

TEST_CASE("shadow: every request is forwarded and fresh; would_hit, would_miss and mismatch are counted") {
  ShadowProxy proxy;
  HttpClient client(proxy.larder.port());
  size_t gets = 0;
  auto get = [&](std::string_view expected_body, std::string_view expected_detail) {
    auto response = client.get("/items/1");
    ++gets;
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == expected_body);  // always the fresh answer
    CHECK(response->header("X-Cache") == "MISS");
    CHECK(response->header("Cache-Status").find(std::string("detail=") + std::string(expected_detail)) !=
          std::string::npos);
  };
  get("/items/1 v1", "shadow_would_miss");  // stored
  get("/items/1 v1", "shadow_would_hit");   // same answer: no mismatch
  *proxy.version = 2;                       // changed with no invalidation
  get("/items/1 v2", "shadow_would_hit");   // the cache would have served v1: mismatch
  get("/items/1 v2", "shadow_would_hit");   // a would-be hit stores nothing: still v1
  // A write invalidates the shadow route's namespace, as on a cached route.
  auto put = client.request("PUT", "/items/1", {}, "x");
  REQUIRE(put);
  CHECK(put->status == 200);
  get("/items/1 v2", "shadow_would_miss");  // invariant 3: v1 is gone; v2 stored
  get("/items/1 v2", "shadow_would_hit");   // and matches
  // Not sampled: counted, never compared.
  REQUIRE(client.get("/unsampled/1"));
  REQUIRE(client.get("/unsampled/1"));

  PrometheusText m;
  CHECK(waitUntil([&] {
    m = scrape(proxy.admin_port);
    return m.value("larder_responses_total{code=\"2xx\"}") == 9;
  }, 5s));
  // Every request reached the upstream.
  CHECK(proxy.upstream.requestCount() == gets + 1 + 2);
  CHECK(m.value("larder_shadow_total{route=\"items\",outcome=\"would_miss\"}") == 2);
  CHECK(m.value("larder_shadow_total{route=\"items\",outcome=\"would_hit\"}") == 4);
  CHECK(m.value("larder_shadow_total{route=\"items\",outcome=\"compared\"}") == 4);
  CHECK(m.value("larder_shadow_total{route=\"items\",outcome=\"mismatch\"}") == 2);
  CHECK(m.value("larder_shadow_total{route=\"unsampled\",outcome=\"would_miss\"}") == 1);
  CHECK(m.value("larder_shadow_total{route=\"unsampled\",outcome=\"would_hit\"}") == 1);
  CHECK_FALSE(m.has("larder_shadow_total{route=\"unsampled\",outcome=\"compared\"}"));
  // Nothing was served from the cache; the misses were stored as misses.
  CHECK(m.value("larder_route_requests_total{route=\"items\",cache=\"miss\"}") == 6);
  CHECK_FALSE(m.has("larder_route_requests_total{route=\"items\",cache=\"hit\"}"));
  CHECK(m.value("larder_cache_inserts_total{result=\"stored\"}") == 3);
  MESSAGE("shadow metrics:\n" << [&] {
    std::string out;
    for (const auto& [series, value] : m.samples)
      if (series.starts_with("larder_shadow_total") || series.starts_with("larder_route_requests_total"))
        out += fmt::format("{} {}\n", series, value);
    return out;
  }());

  // The access log tells each request's shadow outcome.
  const std::string log = proxy.larder.stdoutText();
  CHECK(log.find("route=\"items\" time=") != std::string::npos);
  CHECK(log.find(" shadow=would_miss") != std::string::npos);
  CHECK(log.find(" shadow=mismatch") != std::string::npos);
}

TEST_CASE("shadow on Redis: a would-be miss is stored there, and the next request would hit and matches") {
  RedisServer redis;
  ShadowProxy proxy(fmt::format("store:\n  redis:\n    url: {}\n    timeout: 500ms\n", redis.url()));
  HttpClient client(proxy.larder.port());
  auto first = client.get("/items/3");
  REQUIRE(first);
  CHECK(first->header("Cache-Status").find("detail=shadow_would_miss") != std::string::npos);
  // The insert is written after the answer: wait for it.
  CHECK(waitUntil([&] { return scrape(proxy.admin_port).value("larder_cache_inserts_total{result=\"stored\"}") == 1; },
                  5s));
  *proxy.version = 2;
  auto second = client.get("/items/3");
  REQUIRE(second);
  CHECK(second->body == "/items/3 v2");
  CHECK(second->header("Cache-Status").find("detail=shadow_would_hit") != std::string::npos);
  PrometheusText m;
  CHECK(waitUntil([&] {
    m = scrape(proxy.admin_port);
    return m.value("larder_shadow_total{route=\"items\",outcome=\"compared\"}") == 1;
  }, 5s));
  CHECK(m.value("larder_shadow_total{route=\"items\",outcome=\"mismatch\"}") == 1);
  CHECK(proxy.upstream.requestCount() == 2);
}

TEST_CASE("shadow: concurrent misses are not coalesced; each one is forwarded") {
  ShadowProxy proxy;
  auto gate = std::make_shared<Gate>();
  proxy.upstream.setHandler([gate](const RecordedRequest& request) {
    FakeResponse response;
    response.body = "slow " + request.target;
    response.hold = gate;
    return response;
  });
  HttpClient first(proxy.larder.port());
  HttpClient second(proxy.larder.port());
  // Both are in flight before the upstream answers either.
  std::optional<HttpResponse> a, b;
  std::thread ta([&] { a = first.get("/items/5"); });
  std::thread tb([&] { b = second.get("/items/5"); });
  CHECK(waitUntil([&] { return proxy.upstream.requestCount() == 2; }, 5s));
  gate->open();
  ta.join();
  tb.join();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->body == "slow /items/5");
  CHECK(b->body == "slow /items/5");
  CHECK(proxy.upstream.requestCount() == 2);
}

}  // namespace larder::test
