// The in-process tier (routes with memory_ttl): hits answered without the
// store, dropped at once by this instance's writes and within milliseconds
// by other instances' (Redis pub/sub), flushed when that channel is lost,
// and never larger than cache.memory_tier_size.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cache_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTierRoutes = R"(routes:
  - match: GET /api/products/{id}
    ttl: 1h
    memory_ttl: 60s
    namespaces: [products, "product:{id}"]
  - match: GET /api/categories
    ttl: 1h
  - match: PUT|PATCH|DELETE /api/products/{id}
    invalidates: [products, "product:{id}"]
)";

const std::string kTierHits = "larder_memory_tier_hits_total";

struct TierFixture {
  explicit TierFixture(StoreKind store, std::string cache_section = {})
      : admin_port(freePort()), cache(options(store, admin_port, std::move(cache_section))) {}

  static CacheOptions options(StoreKind store, uint16_t admin_port, std::string cache_section) {
    CacheOptions options;
    options.store = store;
    options.cache_section = std::move(cache_section);
    options.routes = adminSection(admin_port) + std::string(kTierRoutes);
    return options;
  }

  int64_t metric(const std::string& name) { return static_cast<int64_t>(scrape(admin_port).value(name)); }

  uint16_t admin_port;
  CacheFixture cache;
};

}  // namespace

TEST_CASE("memory tier: hits come from the tier, and a write through this instance drops them at once") {
  TierFixture fixture(StoreKind::kMemory);
  HttpClient client = fixture.cache.client();
  HttpResponse miss = mustGet(client, "/api/products/7");
  CHECK(xCache(miss) == "MISS");
  HttpResponse from_store = mustGet(client, "/api/products/7");  // validated, then kept
  CHECK(xCache(from_store) == "HIT");
  const int64_t before = fixture.metric(kTierHits);
  for (int i = 0; i < 5; ++i) {
    HttpResponse hit = mustGet(client, "/api/products/7");
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.body == miss.body);
    CHECK(hit.hasHeader("Age"));
  }
  CHECK(fixture.metric(kTierHits) == before + 5);

  // A route without memory_ttl never uses the tier.
  mustGet(client, "/api/categories");
  for (int i = 0; i < 3; ++i) CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
  CHECK(fixture.metric(kTierHits) == before + 5);

  CHECK(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 200);
  HttpResponse after = mustGet(client, "/api/products/7");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != miss.body);
  CHECK(fixture.metric(kTierHits) == before + 5);
  CHECK(fixture.cache.upstreamCount("GET", "/api/products/7") == 2);
}

TEST_CASE("memory tier: a large body, and a range of it, come from the tier's bytes intact") {
  TierFixture fixture(StoreKind::kRedis);
  std::string body(200 * 1024, ' ');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  fixture.cache.customize([&body](const RecordedRequest&, FakeResponse& response) {
    response.body = body;
    response.headers = {{"Content-Type", "application/octet-stream"}};
  });
  HttpClient client = fixture.cache.client();
  CHECK(xCache(mustGet(client, "/api/products/9")) == "MISS");
  REQUIRE(fixture.cache.waitForEntries(1));
  CHECK(xCache(mustGet(client, "/api/products/9")) == "HIT");  // validated, then kept
  const int64_t before = fixture.metric(kTierHits);
  for (int i = 0; i < 3; ++i) {
    HttpResponse hit = mustGet(client, "/api/products/9");
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.body == body);
  }
  HttpResponse part = mustGet(client, "/api/products/9", {{"Range", "bytes=100000-100009"}});
  CHECK(part.status == 206);
  CHECK(part.body == body.substr(100000, 10));
  CHECK(fixture.metric(kTierHits) == before + 4);
  CHECK(fixture.cache.upstreamCount("GET", "/api/products/9") == 1);
}

TEST_CASE("memory tier: an admin purge drops copies at once") {
  TierFixture fixture(StoreKind::kMemory);
  HttpClient client = fixture.cache.client();
  HttpResponse first = mustGet(client, "/api/products/3");
  mustGet(client, "/api/products/3");
  const int64_t before = fixture.metric(kTierHits);
  REQUIRE(xCache(mustGet(client, "/api/products/3")) == "HIT");
  REQUIRE(fixture.metric(kTierHits) == before + 1);
  auto purged = adminRequest(fixture.admin_port, "POST", "/purge/namespace/products");
  REQUIRE(purged);
  CHECK(purged->status == 200);
  HttpResponse after = mustGet(client, "/api/products/3");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != first.body);
}

TEST_CASE("memory tier: never holds more than cache.memory_tier_size") {
  constexpr int64_t kBound = 64 * 1024;
  TierFixture fixture(StoreKind::kMemory, "  memory_tier_size: 64KiB\n");
  fixture.cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    response.body = std::string(4000, 'x') + request.target;
  });
  HttpClient client = fixture.cache.client();
  for (int id = 0; id < 60; ++id) {
    const std::string target = fmt::format("/api/products/{}", id);
    mustGet(client, target);
    CHECK(xCache(mustGet(client, target)) == "HIT");  // into the tier
    CHECK(fixture.metric("larder_memory_tier_bytes") <= kBound);
  }
  // It is full (60 entries of 4 KB would be 240 KB), not empty: the most
  // recent ones answer from it.
  CHECK(fixture.metric("larder_memory_tier_bytes") > kBound / 2);
  const int64_t before = fixture.metric(kTierHits);
  CHECK(xCache(mustGet(client, "/api/products/59")) == "HIT");
  CHECK(fixture.metric(kTierHits) == before + 1);
}

// Both instances see requests for one host (their ports differ).
const Headers kShop = {{"Host", "shop"}};

// Two instances on one Redis, each with its own admin port for its metrics.
struct TwoInstances {
  TwoInstances() : a_admin(freePort()), b_admin(freePort()), cache(options(a_admin)) {
    b = std::make_unique<LarderProcess>(proxyConfig(cache.upstream.port(), cacheSections(cache.redis.get(), options(b_admin))));
    REQUIRE(cache.waitForLarderConnections(2 * CacheFixture::kConnectionsPerLarder));
  }

  static CacheOptions options(uint16_t admin_port) {
    CacheOptions options;
    options.routes = adminSection(admin_port) + std::string(kTierRoutes);
    return options;
  }

  int64_t bMetric(const std::string& name) { return static_cast<int64_t>(scrape(b_admin).value(name)); }

  // A tier is on only while its process listens to the invalidation channel.
  bool waitForBothSubscribed() {
    return waitUntil([&] {
      RedisReply reply = cache.redis->command({"PUBSUB", "NUMSUB", "v1:invalidations"});
      return reply.elements.size() == 2 && reply.elements[1].integer >= 2;
    }, 5s);
  }

  // B answers `target` from its tier (waiting for A's fill to reach Redis).
  HttpResponse warmTierOfB(HttpClient& client_b, const std::string& target) {
    REQUIRE(cache.waitForEntries(1));
    REQUIRE(xCache(mustGet(client_b, target, kShop)) == "HIT");  // from the store: validated, then kept
    const int64_t before = bMetric(kTierHits);
    HttpResponse from_tier = mustGet(client_b, target, kShop);
    REQUIRE(xCache(from_tier) == "HIT");
    REQUIRE(bMetric(kTierHits) == before + 1);
    return from_tier;
  }

  uint16_t a_admin;
  uint16_t b_admin;
  CacheFixture cache;  // larder A
  std::unique_ptr<LarderProcess> b;
};

TEST_CASE("memory tier: a write through instance A drops instance B's copy within 100 ms") {
  TwoInstances fleet;
  HttpClient client_a = fleet.cache.client();
  HttpClient client_b(fleet.b->port());
  REQUIRE(fleet.waitForBothSubscribed());
  HttpResponse original = mustGet(client_a, "/api/products/7", kShop);
  REQUIRE(xCache(original) == "MISS");
  HttpResponse from_tier = fleet.warmTierOfB(client_b, "/api/products/7");
  CHECK(from_tier.body == original.body);

  REQUIRE(mustRequest(client_a, "PUT", "/api/products/7", kShop, "{}").status == 200);
  const auto written = Clock::now();
  std::optional<HttpResponse> changed;
  while (Clock::now() - written < 100ms) {
    HttpResponse response = mustGet(client_b, "/api/products/7", kShop);
    if (response.body != original.body) {
      changed = response;
      break;
    }
  }
  REQUIRE_MESSAGE(changed.has_value(), "B still served the copy from before A's write after 100 ms");
  CHECK(xCache(*changed) == "MISS");
}

TEST_CASE("memory tier: losing the invalidation subscription flushes the tier") {
  TwoInstances fleet;
  HttpClient client_a = fleet.cache.client();
  HttpClient client_b(fleet.b->port());
  REQUIRE(fleet.waitForBothSubscribed());
  mustGet(client_a, "/api/products/8", kShop);
  fleet.warmTierOfB(client_b, "/api/products/8");
  REQUIRE(fleet.bMetric("larder_memory_tier_entries") >= 1);
  const int64_t flushes = fleet.bMetric("larder_memory_tier_flushes_total");

  // Cut every pub/sub connection: a message published now would be lost.
  REQUIRE(fleet.cache.redis->command({"CLIENT", "KILL", "TYPE", "pubsub"}).integer >= 2);
  CHECK(waitUntil([&] { return fleet.bMetric("larder_memory_tier_flushes_total") > flushes; }, 2s));
  CHECK(fleet.bMetric("larder_memory_tier_entries") == 0);
  const int64_t hits = fleet.bMetric(kTierHits);
  HttpResponse after = mustGet(client_b, "/api/products/8", kShop);
  CHECK(xCache(after) == "HIT");  // from Redis, not from the flushed tier
  CHECK(fleet.bMetric(kTierHits) == hits);

  // Subscribed again, the tier serves again.
  REQUIRE(fleet.waitForBothSubscribed());
  CHECK(waitUntil([&] {
    mustGet(client_b, "/api/products/8", kShop);
    return fleet.bMetric(kTierHits) > hits;
  }, 3s));
}

}  // namespace larder::test
