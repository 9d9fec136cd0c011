// Purges through the admin API and `larder purge`: by namespace, by URL
// (every variant) and everything; refused without the token when one is
// set; shared through Redis by every larder; and never reachable through
// the public listener.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/temp_dir.h"
#include "harness/admin_fixture.h"
#include "harness/proxy_fixture.h"
#include "harness/redis_server.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes =
    "routes:\n"
    "  - match: GET /products/{id}\n"
    "    ttl: 1h\n"
    "    namespaces: [products, \"product:{id}\"]\n"
    "  - match: GET /categories\n"
    "    ttl: 1h\n"
    "    namespaces: [categories]\n";

constexpr std::string_view kToken = "s3cret-admin-token";

struct PurgeProxy {
  explicit PurgeProxy(std::string_view extra = {}, std::string_view token_file = {})
      : admin_port(freePort()),
        larder(proxyConfig(upstream.port(),
                           std::string(kRoutes) + adminSection(admin_port, token_file) + std::string(extra))) {}

  std::string cacheStatus(std::string_view target) {
    auto response = httpGet(larder.port(), target);
    return response ? response->header("X-Cache") : "no response";
  }
  // Fetches each target until it is a HIT.
  void warm(std::initializer_list<std::string_view> targets) {
    for (auto target : targets) {
      cacheStatus(target);
      REQUIRE(cacheStatus(target) == "HIT");
    }
  }

  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

std::string purgeAddress(uint16_t port) { return fmt::format("127.0.0.1:{}", port); }

}  // namespace

TEST_CASE("purge of a namespace drops its entries and only those") {
  PurgeProxy proxy;
  proxy.warm({"/products/1", "/products/2", "/categories"});
  auto response = adminRequest(proxy.admin_port, "POST", "/purge/namespace/product%3A1");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body.find("\"ok\":true") != std::string::npos);
  CHECK(response->body.find("\"namespace\":\"product:1\"") != std::string::npos);
  CHECK(proxy.cacheStatus("/products/1") == "MISS");
  CHECK(proxy.cacheStatus("/products/2") == "HIT");

  response = adminRequest(proxy.admin_port, "POST", "/purge/namespace/products");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(proxy.cacheStatus("/products/2") == "MISS");
  CHECK(proxy.cacheStatus("/categories") == "HIT");
  PrometheusText metrics = scrape(proxy.admin_port);
  CHECK(metrics.value("larder_admin_purges_total{scope=\"namespace\",result=\"ok\"}") == 2);
}

TEST_CASE("purge of a URL drops every variant of that URL") {
  PurgeProxy proxy;
  proxy.warm({"/products/1", "/products/1?page=2", "/products/2"});
  std::string url = fmt::format("http://127.0.0.1:{}/products/1", proxy.larder.port());
  auto response = adminRequest(proxy.admin_port, "POST", "/purge?url=" + url);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body.find("\"scope\":\"url\"") != std::string::npos);
  CHECK(proxy.cacheStatus("/products/1") == "MISS");
  CHECK(proxy.cacheStatus("/products/1?page=2") == "MISS");
  CHECK(proxy.cacheStatus("/products/2") == "HIT");

  auto bad = adminRequest(proxy.admin_port, "POST", "/purge?url=/products/1");
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("purge of everything drops every entry, and `larder purge` drives the same API") {
  PurgeProxy proxy;
  proxy.warm({"/products/1", "/categories"});
  auto result = runLarder({"purge", "all", "--admin", purgeAddress(proxy.admin_port)});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find("\"scope\":\"all\"") != std::string::npos);
  CHECK(proxy.cacheStatus("/products/1") == "MISS");
  CHECK(proxy.cacheStatus("/categories") == "MISS");

  proxy.warm({"/products/7"});
  result = runLarder({"purge", "namespace", "product:7", "-c", proxy.larder.configPath().string()});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find("\"namespace\":\"product:7\"") != std::string::npos);
  CHECK(proxy.cacheStatus("/products/7") == "MISS");

  proxy.warm({"/products/8?x=1"});
  result = runLarder({"purge", "url", fmt::format("http://127.0.0.1:{}/products/8", proxy.larder.port()),
                      "--admin", purgeAddress(proxy.admin_port)});
  CHECK(result.exit_code == 0);
  CHECK(proxy.cacheStatus("/products/8?x=1") == "MISS");
}

// Issue #10 item 15: a typo used to answer a plain ok.
TEST_CASE("a purge of a namespace no route uses says so, and still purges") {
  PurgeProxy proxy;
  proxy.warm({"/products/1"});
  auto response = adminRequest(proxy.admin_port, "POST", "/purge/namespace/nosuchns");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body.find("\"ok\":true") != std::string::npos);
  CHECK(response->body.find("\"warning\":\"no route uses the namespace \\\"nosuchns\\\"") != std::string::npos);
  CHECK(proxy.cacheStatus("/products/1") == "HIT");
  // A name a route's template produces is in use: no warning.
  response = adminRequest(proxy.admin_port, "POST", "/purge/namespace/product%3A1");
  REQUIRE(response);
  CHECK(response->body.find("\"warning\"") == std::string::npos);

  auto result = runLarder({"purge", "namespace", "prodcts", "--admin", purgeAddress(proxy.admin_port)});
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find("\"namespace\":\"prodcts\"") != std::string::npos);
  CHECK(result.stderr_text.find("larder purge: warning: no route uses the namespace \"prodcts\"") !=
        std::string::npos);
  result = runLarder({"purge", "namespace", "sk:product-1", "--admin", purgeAddress(proxy.admin_port)});
  CHECK(result.exit_code == 0);
  CHECK(result.stderr_text.find("warning") == std::string::npos);
  PrometheusText metrics = scrape(proxy.admin_port);
  CHECK(metrics.value("larder_admin_purges_total{scope=\"namespace\",result=\"ok\"}") == 4);
}

TEST_CASE("`larder purge` exits non-zero when the admin API cannot be reached or refuses") {
  auto result = runLarder({"purge", "all", "--admin", purgeAddress(freePort())});
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.find("cannot connect") != std::string::npos);
  result = runLarder({"purge", "sideways"});
  CHECK(result.exit_code == 2);
}

TEST_CASE("with a token, purges and /metrics need it; health endpoints do not") {
  TempDir dir;
  auto token_file = dir.writeFile("admin.token", std::string(kToken) + "\n");
  PurgeProxy proxy({}, token_file.string());
  proxy.warm({"/products/1"});

  auto anonymous = adminRequest(proxy.admin_port, "POST", "/purge/all");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(anonymous->header("WWW-Authenticate") == "Bearer");
  auto wrong = adminRequest(proxy.admin_port, "POST", "/purge/all", "not-the-token");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(proxy.cacheStatus("/products/1") == "HIT");  // nothing was purged

  auto metrics = adminRequest(proxy.admin_port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 401);
  auto health = adminRequest(proxy.admin_port, "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  auto cli = runLarder({"purge", "all", "--admin", purgeAddress(proxy.admin_port)});
  CHECK(cli.exit_code == 1);
  CHECK(proxy.cacheStatus("/products/1") == "HIT");

  auto allowed = adminRequest(proxy.admin_port, "POST", "/purge/all", kToken);
  REQUIRE(allowed);
  CHECK(allowed->status == 200);
  CHECK(proxy.cacheStatus("/products/1") == "MISS");

  proxy.warm({"/products/1"});
  cli = runLarder({"purge", "all", "--admin", purgeAddress(proxy.admin_port), "--token-file",
                   token_file.string()});
  CHECK(cli.exit_code == 0);
  CHECK(proxy.cacheStatus("/products/1") == "MISS");
  CHECK(scrape(proxy.admin_port, kToken).value("larder_admin_purges_total{scope=\"all\",result=\"ok\"}") == 2);
}

TEST_CASE("a purge through one larder's admin API reaches another larder sharing Redis") {
  RedisServer redis;
  const std::string store = fmt::format("store:\n  redis:\n    url: {}\n    timeout: 500ms\n", redis.url());
  PurgeProxy first(store);
  PurgeProxy second(store);
  REQUIRE(waitUntil([&] { return second.cacheStatus("/products/1") == "HIT"; }, 5s));
  auto response = adminRequest(first.admin_port, "POST", "/purge/namespace/products");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body.find("\"store\":\"redis\"") != std::string::npos);
  CHECK(second.cacheStatus("/products/1") == "MISS");
  auto ttl = redis.command({"PTTL", "v1:ns:products"});
  CHECK(ttl.integer > 6 * 24 * 3600 * 1000LL);  // the 7-day version TTL
}

TEST_CASE("the public listener never routes admin paths: POST /purge/all is proxied and purges nothing") {
  PurgeProxy proxy;
  proxy.warm({"/products/1"});
  HttpClient client(proxy.larder.port());
  auto response = client.request("POST", "/purge/all");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "hello from upstream");
  auto requests = proxy.upstream.requests();
  REQUIRE(!requests.empty());
  CHECK(requests.back().method == "POST");
  CHECK(requests.back().target == "/purge/all");
  auto metrics = client.get("/metrics");
  REQUIRE(metrics);
  CHECK(proxy.upstream.requests().back().target == "/metrics");
  CHECK(proxy.cacheStatus("/products/1") == "HIT");
  CHECK(scrape(proxy.admin_port).value("larder_admin_purges_total{scope=\"all\",result=\"ok\"}") == 0);
}

}  // namespace larder::test
