// The in-process tier (routes with memory_ttl): hits answered without the
// store, dropped at once by this instance's writes and within milliseconds
// by other instances' (Redis pub/sub), flushed when that channel is lost,
// and never larger than cache.memory_tier_size.
#include <chrono>
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

}  // namespace larder::test
