// Per-route metrics and the access log's route fields (issue 15 item 1):
// /metrics carries a route label on the route families after hits and
// misses on two named routes; requests that match no route count under
// route="-"; the access log names the route and the cache outcome, in text
// and in JSON, with an RFC 3339 timestamp.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/admin_fixture.h"
#include "harness/flat_json.h"
#include "harness/proxy_fixture.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes =
    "routes:\n"
    "  - match: GET /products/{id}\n"
    "    name: product\n"
    "    ttl: 1h\n"
    "  - match: GET /lists/{id}\n"
    "    ttl: 1h\n"  // name: the match text
    "  - match: GET /private/{id}\n"
    "    name: private\n"
    "    ttl: 1h\n";

// `log` is the log section's inside (proxyConfig's is "level: info").
std::string routeConfig(uint16_t upstream_port, uint16_t admin_port, std::string_view log, std::string_view extra) {
  return fmt::format("workers: 1\nupstream:\n  servers: [127.0.0.1:{}]\nlog: {{ {} }}\n", upstream_port, log) +
         std::string(kRoutes) + adminSection(admin_port) + std::string(extra);
}

struct RouteProxy {
  explicit RouteProxy(std::string_view extra = {}, std::string_view log = "level: info")
      : admin_port(freePort()), larder(routeConfig(upstream.port(), admin_port, log, extra)) {
    upstream.setHandler([](const RecordedRequest& request) {
      FakeResponse response;
      response.body = "answer to " + request.target;
      if (request.target.starts_with("/private/")) response.headers.emplace_back("Cache-Control", "no-store");
      return response;
    });
  }

  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool isRfc3339(std::string_view t) {
  // 2026-12-06T14:02:34.123Z
  if (t.size() != 24 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t[19] != '.' || t[23] != 'Z')
    return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22})
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

}  // namespace

TEST_CASE("/metrics: route-labelled requests, rejections, upstream time and bytes per named route") {
  RouteProxy proxy;
  HttpClient client(proxy.larder.port());
  auto p1 = client.get("/products/1");
  REQUIRE(p1);
  CHECK(p1->header("X-Cache") == "MISS");
  auto p1_again = client.get("/products/1");
  REQUIRE(p1_again);
  CHECK(p1_again->header("X-Cache") == "HIT");
  REQUIRE(client.get("/products/2"));
  REQUIRE(client.get("/lists/9"));
  REQUIRE(client.get("/lists/9"));
  REQUIRE(client.get("/lists/9"));
  auto private_answer = client.get("/private/1");
  REQUIRE(private_answer);
  CHECK(private_answer->header("X-Cache") == "MISS");
  REQUIRE(client.get("/nowhere"));

  PrometheusText m;
  CHECK(waitUntil([&] {
    m = scrape(proxy.admin_port);
    return m.value("larder_responses_total{code=\"2xx\"}") == 8;
  }, 5s));
  CHECK(m.types.at("larder_route_requests_total") == "counter");
  CHECK(m.types.at("larder_route_upstream_response_seconds") == "histogram");
  CHECK(m.types.at("larder_shadow_total") == "counter");
  CHECK(m.value("larder_route_requests_total{route=\"product\",cache=\"miss\"}") == 2);
  CHECK(m.value("larder_route_requests_total{route=\"product\",cache=\"hit\"}") == 1);
  CHECK(m.value("larder_route_requests_total{route=\"GET /lists/{id}\",cache=\"miss\"}") == 1);
  CHECK(m.value("larder_route_requests_total{route=\"GET /lists/{id}\",cache=\"hit\"}") == 2);
  CHECK(m.value("larder_route_requests_total{route=\"-\",cache=\"pass\"}") == 1);
  CHECK(m.value("larder_route_store_rejected_total{route=\"private\",reason=\"no_store\"}") == 1);
  CHECK_FALSE(m.has("larder_route_store_rejected_total{route=\"product\",reason=\"no_store\"}"));
  CHECK(m.value("larder_route_upstream_response_seconds_count{route=\"product\"}") == 2);
  CHECK(m.value("larder_route_upstream_response_seconds_bucket{route=\"product\",le=\"+Inf\"}") == 2);
  CHECK(m.value("larder_route_upstream_response_seconds_count{route=\"GET /lists/{id}\"}") == 1);
  CHECK(m.value("larder_route_upstream_response_seconds_count{route=\"-\"}") == 1);
  const double p1_bytes = static_cast<double>(p1->body.size());
  CHECK(m.value("larder_route_response_body_bytes_total{route=\"product\",source=\"cache\"}") == p1_bytes);
  CHECK(m.value("larder_route_response_body_bytes_total{route=\"product\",source=\"upstream\"}") == 2 * p1_bytes);
  // The unlabelled families still count everything.
  CHECK(m.value("larder_requests_total{method=\"read\",cache=\"hit\"}") == 3);
  CHECK(m.value("larder_upstream_response_seconds_count") == 5);
}

TEST_CASE("metrics.route_labels: 1 gives one route its own label; the others count as other") {
  RouteProxy proxy("metrics:\n  route_labels: 1\n");
  HttpClient client(proxy.larder.port());
  REQUIRE(client.get("/products/1"));
  REQUIRE(client.get("/lists/1"));
  REQUIRE(client.get("/private/1"));
  PrometheusText m;
  CHECK(waitUntil([&] {
    m = scrape(proxy.admin_port);
    return m.value("larder_responses_total{code=\"2xx\"}") == 3;
  }, 5s));
  CHECK(m.value("larder_route_requests_total{route=\"product\",cache=\"miss\"}") == 1);
  CHECK(m.value("larder_route_requests_total{route=\"other\",cache=\"miss\"}") == 2);
  CHECK_FALSE(m.has("larder_route_requests_total{route=\"private\",cache=\"miss\"}"));
}

TEST_CASE("access log, text: RFC 3339 time, route name and cache outcome on every line") {
  RouteProxy proxy;
  HttpClient client(proxy.larder.port());
  REQUIRE(client.get("/products/1"));
  REQUIRE(client.get("/products/1"));
  REQUIRE(client.get("/nowhere"));
  std::vector<std::string> log;
  CHECK(waitUntil([&] {
    log = lines(proxy.larder.stdoutText());
    return log.size() >= 3;
  }, 5s));
  REQUIRE(log.size() >= 3);
  const size_t n = log.size();
  for (size_t i = n - 3; i < n; ++i) CHECK(isRfc3339(log[i].substr(0, 24)));
  CHECK(log[n - 3].find("\"GET /products/1 HTTP/1.1\" 200 ") != std::string::npos);
  CHECK(log[n - 3].find(" cache=MISS route=\"product\" time=") != std::string::npos);
  CHECK(log[n - 2].find(" upstream=- cache=HIT route=\"product\" time=") != std::string::npos);
  CHECK(log[n - 1].find(" cache=- route=\"-\" time=") != std::string::npos);
}

TEST_CASE("access log, json: one object per line that parses, with route and cache") {
  RouteProxy proxy({}, "level: info, access_format: json");
  HttpClient client(proxy.larder.port());
  REQUIRE(client.get("/lists/4"));
  REQUIRE(client.get("/lists/4"));
  REQUIRE(client.get("/nowhere?q=%22x%22"));
  std::vector<std::string> log;
  CHECK(waitUntil([&] {
    log = lines(proxy.larder.stdoutText());
    return log.size() >= 3;
  }, 5s));
  REQUIRE(log.size() >= 3);
  std::vector<std::map<std::string, std::string>> parsed;
  for (size_t i = log.size() - 3; i < log.size(); ++i) {
    CAPTURE(log[i]);
    std::map<std::string, std::string> fields;
    CHECK(FlatJson(log[i]).parse(fields));
    CHECK(isRfc3339(fields["time"]));
    parsed.push_back(fields);
  }
  CHECK(parsed[0]["route"] == "GET /lists/{id}");
  CHECK(parsed[0]["cache"] == "MISS");
  CHECK(parsed[0]["status"] == "200");
  CHECK(parsed[0]["upstream"] != "null");
  CHECK(parsed[1]["cache"] == "HIT");
  CHECK(parsed[1]["upstream"] == "null");
  CHECK(parsed[2]["route"] == "-");
  CHECK(parsed[2]["target"] == "/nowhere?q=%22x%22");
}

}  // namespace larder::test
