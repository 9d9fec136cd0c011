// The admin listener's read endpoints: /metrics in the Prometheus text
// format with counters that follow the traffic, /healthz, /readyz, and the
// 404/405 answers around them.
#include <sys/socket.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/admin_fixture.h"
#include "harness/proxy_fixture.h"
#include "harness/redis_server.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes =
    "routes:\n"
    "  - match: GET /cached/{id}\n"
    "    ttl: 1h\n"
    "    namespaces: [things]\n";

struct AdminProxy {
  explicit AdminProxy(std::string_view extra = {})
      : admin_port(freePort()),
        larder(proxyConfig(upstream.port(), std::string(kRoutes) + adminSection(admin_port) + std::string(extra))) {}

  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

}  // namespace

TEST_CASE("/metrics parses as Prometheus text and its counters follow misses, hits and passes") {
  AdminProxy proxy;
  PrometheusText before = scrape(proxy.admin_port);
  for (const auto& [family, type] : before.types) CHECK(family.rfind("larder_", 0) == 0);
  CHECK(before.types.at("larder_requests_total") == "counter");
  CHECK(before.types.at("larder_upstream_response_seconds") == "histogram");
  CHECK(before.types.at("larder_redis_command_seconds") == "histogram");
  CHECK(before.types.at("larder_redis_queue_wait_seconds") == "histogram");
  CHECK(before.types.at("larder_request_duration_seconds") == "histogram");
  CHECK(before.types.at("larder_connections_open") == "gauge");
  CHECK(before.types.at("larder_build_info") == "gauge");

  const std::string miss = "larder_requests_total{method=\"read\",cache=\"miss\"}";
  const std::string hit = "larder_requests_total{method=\"read\",cache=\"hit\"}";
  const std::string pass = "larder_requests_total{method=\"read\",cache=\"pass\"}";
  HttpClient client(proxy.larder.port());
  auto first = client.get("/cached/1");
  REQUIRE(first);
  CHECK(first->header("X-Cache") == "MISS");
  auto second = client.get("/cached/1");
  REQUIRE(second);
  CHECK(second->header("X-Cache") == "HIT");
  REQUIRE(client.get("/uncached"));

  // An exchange is counted when it ends, which may be just after its last
  // byte reached the client.
  PrometheusText after;
  CHECK(waitUntil([&] {
    after = scrape(proxy.admin_port);
    return after.value("larder_responses_total{code=\"2xx\"}") == 3;
  }, 5s));
  CHECK(after.value(miss) - before.value(miss) == 1);
  CHECK(after.value(hit) - before.value(hit) == 1);
  CHECK(after.value(pass) - before.value(pass) == 1);
  CHECK(after.value("larder_responses_total{code=\"2xx\"}") == 3);
  CHECK(after.value("larder_upstream_responses_total{code=\"2xx\"}") == 2);
  CHECK(after.value("larder_upstream_response_seconds_count") == 2);
  // Each exchange is timed under its cache result.
  for (const char* result : {"miss", "hit", "pass"}) {
    CAPTURE(std::string(result));
    const std::string count = fmt::format("larder_request_duration_seconds_count{{cache=\"{}\"}}", result);
    const std::string inf = fmt::format("larder_request_duration_seconds_bucket{{cache=\"{}\",le=\"+Inf\"}}", result);
    CHECK(after.value(count) - before.value(count) == 1);
    CHECK(after.value(inf) == after.value(count));
  }
  const double body = static_cast<double>(first->body.size());
  CHECK(after.value("larder_response_body_bytes_total{source=\"cache\"}") == body);
  CHECK(after.value("larder_response_body_bytes_total{source=\"upstream\"}") >= 2 * body);
  CHECK(after.value("larder_cache_inserts_total{result=\"stored\"}") == 1);
  CHECK(after.value("larder_memory_store_items") >= 1);
  // `client` is still connected (the harness's start-up probe may be counted too).
  CHECK(after.value("larder_connections_open") >= 1);
  CHECK(after.value("larder_connections_accepted_total") >= 1);
}

TEST_CASE("/metrics counts upstream errors and refused stores by reason") {
  AdminProxy proxy;
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target == "/cached/private") response.headers = {{"Cache-Control", "private"}};
    if (request.target == "/cached/cookie") response.headers = {{"Set-Cookie", "a=b"}};
    return response;
  });
  HttpClient client(proxy.larder.port());
  REQUIRE(client.get("/cached/private"));
  REQUIRE(client.get("/cached/cookie"));
  PrometheusText metrics = scrape(proxy.admin_port);
  CHECK(metrics.value("larder_cache_store_rejected_total{reason=\"private\"}") == 1);
  CHECK(metrics.value("larder_cache_store_rejected_total{reason=\"set_cookie\"}") == 1);

  proxy.upstream.stop();
  auto failed = client.get("/down");
  REQUIRE(failed);
  CHECK(failed->status == 502);
  CHECK(waitUntil([&] {
    metrics = scrape(proxy.admin_port);
    return metrics.value("larder_responses_total{code=\"5xx\"}") == 1;
  }, 5s));
  CHECK(metrics.value("larder_upstream_errors_total{reason=\"connect_failed\"}") +
            metrics.value("larder_upstream_errors_total{reason=\"reset\"}") >= 1);
  CHECK(metrics.value("larder_responses_total{code=\"5xx\"}") == 1);
}

TEST_CASE("/healthz answers ok; /readyz reports listening and no Redis with the memory store") {
  AdminProxy proxy;
  auto health = adminRequest(proxy.admin_port, "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");
  auto ready = adminRequest(proxy.admin_port, "GET", "/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->header("Content-Type") == "application/json");
  CHECK(ready->body.find("\"listening\":true") != std::string::npos);
  CHECK(ready->body.find("\"config_loaded\":true") != std::string::npos);
  CHECK(ready->body.find("\"redis_reachable\":null") != std::string::npos);
}

// An admin connection is destroyed on a later turn than its close callback
// (net::Graveyard): clients that reset while their answer is being written,
// or before it is ready, leave the listener serving (ASan: no use after free).
TEST_CASE("admin clients that reset while their answer is written leave the admin listener serving") {
  AdminProxy proxy;
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    HttpClient client(proxy.admin_port);
    REQUIRE(client.send(i % 2 == 0 ? "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                                   : "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n"));
    // RST instead of FIN: SO_LINGER with a zero timeout.
    struct linger abort_on_close {1, 0};
    REQUIRE(::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
    client.close();
  }
  auto health = adminRequest(proxy.admin_port, "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(proxy.larder.isRunning());
}

TEST_CASE("/readyz reports whether Redis is reachable but stays ready without it") {
  RedisServer redis;
  AdminProxy proxy(fmt::format("store:\n  redis:\n    url: {}\n    timeout: 200ms\n", redis.url()));
  std::optional<HttpResponse> ready;
  CHECK(waitUntil([&] {
    ready = adminRequest(proxy.admin_port, "GET", "/readyz");
    return ready && ready->body.find("\"redis_reachable\":true") != std::string::npos;
  }, 5s));
  redis.kill();
  CHECK(waitUntil([&] {
    ready = adminRequest(proxy.admin_port, "GET", "/readyz");
    return ready && ready->body.find("\"redis_reachable\":false") != std::string::npos;
  }, 5s));
  REQUIRE(ready);
  CHECK(ready->status == 200);
  // Talking to a dead Redis shows in the Redis metrics.
  PrometheusText metrics = scrape(proxy.admin_port);
  CHECK(metrics.value("larder_redis_errors_total") + metrics.value("larder_redis_timeouts_total") +
            metrics.value("larder_redis_commands_skipped_total") >= 1);
  CHECK(metrics.value("larder_redis_command_seconds_count") >= 1);
  // Each command that reached the socket: its wait in larder, on its own.
  CHECK(metrics.value("larder_redis_queue_wait_seconds_count") >=
        metrics.value("larder_redis_command_seconds_count"));
}

TEST_CASE("the admin listener answers 404 to unknown paths and 405 to wrong methods") {
  AdminProxy proxy;
  auto unknown = adminRequest(proxy.admin_port, "GET", "/nope");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  auto post_metrics = adminRequest(proxy.admin_port, "POST", "/metrics");
  REQUIRE(post_metrics);
  CHECK(post_metrics->status == 405);
  CHECK(post_metrics->header("Allow") == "GET, HEAD");
  auto get_purge = adminRequest(proxy.admin_port, "GET", "/purge/all");
  REQUIRE(get_purge);
  CHECK(get_purge->status == 405);
  CHECK(get_purge->header("Allow") == "POST");
}

}  // namespace larder::test
