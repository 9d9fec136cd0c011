// Soft purges (cache/soft_purge.h): POST /purge/namespace/NAME?soft=1 and
// `larder purge --soft` mark entries stale instead of invalid. Served STALE
// within stale-while-revalidate while one refresh reaches the upstream, then
// a fresh HIT; with Redis (shared by two larders) and with the memory store.
// A hard purge, and a write, still invalidate hard (DESIGN invariant 3).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <memory>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/larder_process.h"
#include "harness/printing.h"
#include "harness/redis_server.h"
#include "harness/upstream_script.h"

namespace larder::test {
namespace {

std::string softConfig(uint16_t upstream_port, uint16_t admin_port, const RedisServer* redis,
                       std::string_view stale = "    stale_while_revalidate: 30s\n") {
  std::string store =
      redis ? fmt::format("store: {{ redis: {{ url: \"{}\", timeout: 1s }} }}\n", redis->url()) : "";
  return fmt::format(
      "workers: 2\n"
      "upstream: {{ servers: [127.0.0.1:{}], response_timeout: 5s, connect_timeout: 500ms }}\n"
      "{}{}"
      "routes:\n"
      "  - match: GET /products/{{id}}\n"
      "    ttl: 1h\n"
      "    namespaces: [products]\n{}"
      "  - match: PUT /products/{{id}}\n"
      "    invalidates: [products]\n",
      upstream_port, store, adminSection(admin_port), stale);
}

// Answers reads with "version N" (N counts reads); holds reads while
// `hold` is set, so a refresh stays in flight as long as the test wants.
struct VersionedUpstream {
  VersionedUpstream() {
    upstream.setHandler([this](const RecordedRequest& request) {
      FakeResponse response;
      if (request.method != "GET") return response;
      response.headers = {{"Cache-Control", "max-age=3600"}};
      response.body = fmt::format("version {}", ++reads);
      if (auto gate = hold) response.hold = gate;
      return response;
    });
  }
  FakeUpstream upstream;
  std::atomic<int> reads{0};
  std::shared_ptr<Gate> hold;  // set before requests only (read by the handler thread)
};

// One Host for every larder: the key includes it (DESIGN invariant 7).
std::string xCache(uint16_t port, std::string_view target, std::string* body = nullptr) {
  auto response = HttpClient(port).get(target, {{"Host", "api.test"}});
  if (!response) return "no response";
  if (body) *body = response->body;
  return response->header("X-Cache");
}

// Until `target` is a HIT (its entry is in the store; each request may meet
// another worker); the body it was.
std::string fill(uint16_t port, std::string_view target) {
  std::string body;
  CHECK(xCache(port, target) == "MISS");
  REQUIRE(waitUntil([&] { return xCache(port, target, &body) == "HIT"; }, 5s));
  return body;
}

// Fill, soft purge, then: STALE while the one refresh is held, a fresh HIT after.
void checkSoftPurge(bool use_redis, bool through_cli) {
  std::unique_ptr<RedisServer> redis;
  if (use_redis) redis = std::make_unique<RedisServer>();
  VersionedUpstream up;
  const uint16_t admin_port = freePort();
  LarderProcess larder(softConfig(up.upstream.port(), admin_port, redis.get()));
  const std::string filled = fill(larder.port(), "/products/1");
  const size_t before = up.upstream.requestCount();

  up.hold = std::make_shared<Gate>();
  if (through_cli) {
    auto result = runLarder({"purge", "namespace", "products", "--soft", "--admin",
                             fmt::format("127.0.0.1:{}", admin_port)});
    CHECK(result.exit_code == 0);
    CHECK(result.stdout_text.find("\"soft\":true") != std::string::npos);
  } else {
    auto purge = adminRequest(admin_port, "POST", "/purge/namespace/products?soft=1");
    REQUIRE(purge);
    CHECK(purge->status == 200);
    CHECK(purge->body.find("\"soft\":true") != std::string::npos);
  }
  for (int i = 0; i < 6; ++i) {
    std::string body;
    CHECK(xCache(larder.port(), "/products/1", &body) == "STALE");
    CHECK(body == filled);
  }
  REQUIRE(up.upstream.waitForRequests(before + 1, 5s));
  CHECK(up.upstream.requestCount() == before + 1);  // exactly one refresh
  up.hold->open();
  std::string body;
  CHECK(waitUntil([&] { return xCache(larder.port(), "/products/1", &body) == "HIT"; }, 5s));
  CHECK(body == fmt::format("version {}", before + 1));
  CHECK(up.upstream.requestCount() == before + 1);
}

}  // namespace

TEST_CASE("a soft purge serves STALE while exactly one refresh reaches the upstream, then a fresh HIT") {
  SUBCASE("redis, admin API") { checkSoftPurge(true, false); }
  SUBCASE("memory store, larder purge --soft") { checkSoftPurge(false, true); }
}

TEST_CASE("a hard purge still gives a MISS, and a write still invalidates hard after a soft purge") {
  RedisServer redis;
  VersionedUpstream up;
  const uint16_t admin_port = freePort();
  LarderProcess larder(softConfig(up.upstream.port(), admin_port, &redis));
  fill(larder.port(), "/products/1");
  auto hard = adminRequest(admin_port, "POST", "/purge/namespace/products");
  REQUIRE(hard);
  CHECK(hard->body.find("\"soft\":false") != std::string::npos);
  fill(larder.port(), "/products/1");  // a MISS first

  // Soft, then a write before anyone looked: the write wins (invariant 3).
  auto soft = adminRequest(admin_port, "POST", "/purge/namespace/products?soft=true");
  REQUIRE(soft);
  CHECK(soft->status == 200);
  auto write = HttpClient(larder.port()).request("PUT", "/products/1", {}, "{}", 5s);
  REQUIRE(write);
  CHECK(write->status == 200);
  const std::string filled = fill(larder.port(), "/products/1");  // a MISS first, not STALE

  // Soft purges stack: an entry from before two of them is still stale, not lost.
  adminRequest(admin_port, "POST", "/purge/namespace/products?soft=1");
  adminRequest(admin_port, "POST", "/purge/namespace/products?soft=1");
  std::string body;
  CHECK(xCache(larder.port(), "/products/1", &body) == "STALE");
  CHECK(body == filled);
}

TEST_CASE("a soft purge reaches every larder sharing the Redis") {
  RedisServer redis;
  VersionedUpstream up;
  const uint16_t admin_a = freePort();
  const uint16_t admin_b = freePort();
  LarderProcess a(softConfig(up.upstream.port(), admin_a, &redis));
  LarderProcess b(softConfig(up.upstream.port(), admin_b, &redis));
  // A's HIT comes from Redis once the entry is stored there (no tier here).
  const std::string filled = fill(a.port(), "/products/7");
  CHECK(xCache(b.port(), "/products/7") == "HIT");
  const size_t before = up.upstream.requestCount();
  up.hold = std::make_shared<Gate>();
  auto soft = adminRequest(admin_a, "POST", "/purge/namespace/products?soft=1");
  REQUIRE(soft);
  CHECK(soft->status == 200);
  std::string body;
  CHECK(xCache(b.port(), "/products/7", &body) == "STALE");
  CHECK(body == filled);
  REQUIRE(up.upstream.waitForRequests(before + 1, 5s));
  up.hold->open();
  CHECK(waitUntil([&] { return xCache(b.port(), "/products/7", &body) == "HIT"; }, 5s));
  const std::string refreshed = fmt::format("version {}", before + 1);
  CHECK(body == refreshed);
  // B's refresh is stored under the soft purge's token: fresh for A too.
  CHECK(xCache(a.port(), "/products/7", &body) == "HIT");
  CHECK(body == refreshed);
  CHECK(up.upstream.requestCount() == before + 1);
}

TEST_CASE("without a stale window a soft purge refetches like a hard one; bad soft values are refused") {
  VersionedUpstream up;
  const uint16_t admin_port = freePort();
  LarderProcess larder(softConfig(up.upstream.port(), admin_port, nullptr, ""));
  const std::string filled = fill(larder.port(), "/products/2");
  auto soft = adminRequest(admin_port, "POST", "/purge/namespace/products?soft=1");
  REQUIRE(soft);
  CHECK(soft->status == 200);
  std::string body;
  CHECK(xCache(larder.port(), "/products/2", &body) == "MISS");
  CHECK(body != filled);
  REQUIRE(waitUntil([&] { return xCache(larder.port(), "/products/2") == "HIT"; }, 5s));

  auto bad = adminRequest(admin_port, "POST", "/purge/namespace/products?soft=maybe");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(xCache(larder.port(), "/products/2") == "HIT");  // nothing was purged
  auto cli = runLarder({"purge", "all", "--soft", "--soft-ish", "--admin",
                        fmt::format("127.0.0.1:{}", admin_port)});
  CHECK(cli.exit_code == 2);
}

TEST_CASE("after a soft purge, stale_if_error serves the entry when the upstream fails; after a hard one, not") {
  VersionedUpstream up;
  const uint16_t admin_port = freePort();
  LarderProcess larder(softConfig(up.upstream.port(), admin_port, nullptr, "    stale_if_error: 30s\n"));
  const std::string filled = fill(larder.port(), "/products/3");
  up.upstream.setHandler(
      [](const RecordedRequest&) { return statusAnswer(503, "Service Unavailable", "overloaded"); });
  auto soft = adminRequest(admin_port, "POST", "/purge/namespace/products?soft=1");
  REQUIRE(soft);
  CHECK(soft->status == 200);
  auto served = HttpClient(larder.port()).get("/products/3", {{"Host", "api.test"}});
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->header("X-Cache") == "STALE");
  CHECK(served->body == filled);

  auto hard = adminRequest(admin_port, "POST", "/purge/namespace/products");
  REQUIRE(hard);
  CHECK(hard->status == 200);
  auto failed = HttpClient(larder.port()).get("/products/3", {{"Host", "api.test"}});
  REQUIRE(failed);
  CHECK(failed->status == 503);
  CHECK(failed->body == "overloaded");
}

}  // namespace larder::test
