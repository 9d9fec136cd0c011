// Redis restarted from a snapshot older than a write (issue 16, item 3): the
// snapshot brings back the version tokens of before the write, so the
// entries the write invalidated would match again. Two larders share one
// Redis; entries are stored through B, Redis saves (SAVE), a write goes
// through A, and Redis is killed (SIGKILL) and started again from that
// dump. No response of either instance may then carry a pre-write answer
// (store/redis/generation.h: the window is zero), and hits come back.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cache_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t kProducts = 4;
const std::string kGenerations = "larder_redis_generations_started_total";

std::string productPath(size_t id) { return fmt::format("/api/products/{}", id); }

struct RestartFixture {
  RestartFixture()
      : a_admin(freePort()),
        b_admin(freePort()),
        cache(options(a_admin)) {
    b = std::make_unique<LarderProcess>(
        proxyConfig(cache.upstream.port(), cacheSections(cache.redis.get(), options(b_admin))));
    REQUIRE(cache.waitForLarderConnections(2 * CacheFixture::kConnectionsPerLarder));
  }

  static CacheOptions options(uint16_t admin_port) {
    CacheOptions options;
    options.routes = adminSection(admin_port) + std::string(kCacheRoutes);
    return options;
  }

  int64_t generations() {
    return static_cast<int64_t>(scrape(a_admin).value(kGenerations) + scrape(b_admin).value(kGenerations));
  }

  uint16_t a_admin;
  uint16_t b_admin;
  CacheFixture cache;  // A is cache.larder
  std::unique_ptr<LarderProcess> b;
};

}  // namespace

TEST_CASE("Redis restarted from a snapshot older than a write: no instance serves a pre-write entry, hits return") {
  RestartFixture f;
  HttpClient a = f.cache.client();
  HttpClient b(f.b->port());

  // Entries for every product, stored through B and hit.
  uint64_t last_pre_write = 0;
  for (size_t id = 0; id < kProducts; ++id) {
    HttpResponse miss = mustGet(b, productPath(id));
    REQUIRE(miss.status == 200);
    last_pre_write = std::max(last_pre_write, answerNumber(miss.body));
  }
  REQUIRE(f.cache.waitForEntries(kProducts));
  for (size_t id = 0; id < kProducts; ++id) REQUIRE(xCache(mustGet(b, productPath(id))) == "HIT");
  const int64_t generations_before = f.generations();

  // The snapshot: versions and entries as they are before the write.
  REQUIRE(f.cache.redis->command({"SAVE"}).str == "OK");

  // The write, through A: "products" covers every entry above.
  REQUIRE(mustRequest(a, "PUT", "/api/products/0", {}, "{}").status == 200);
  for (size_t id = 0; id < kProducts; ++id) {
    HttpResponse fresh = mustGet(b, productPath(id));
    CHECK(xCache(fresh) != "HIT");
    CHECK(answerNumber(fresh.body) > last_pre_write);
  }

  // Redis dies and comes back from the dump: the pre-write tokens are back.
  f.cache.redis->restart();
  REQUIRE(f.cache.redis->command({"EXISTS", "v1:ns:products"}).integer == 1);

  // Both instances, until each has been answered from the cache a few
  // times (bounded): every answer is post-write, none fails.
  size_t stale = 0;
  size_t hits = 0;
  size_t requests = 0;
  size_t a_hits = 0;
  size_t b_hits = 0;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while ((a_hits < 2 * kProducts || b_hits < 2 * kProducts) && std::chrono::steady_clock::now() < deadline) {
    for (size_t id = 0; id < kProducts; ++id) {
      for (HttpClient* client : {&a, &b}) {
        HttpResponse response = mustGet(*client, productPath(id));
        ++requests;
        CHECK(response.status == 200);
        if (answerNumber(response.body) <= last_pre_write) {
          ++stale;
          MESSAGE("pre-write answer served: ", response.body, " X-Cache ", xCache(response));
        }
        if (xCache(response) == "HIT") {
          ++hits;
          ++(client == &a ? a_hits : b_hits);
        }
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  MESSAGE(requests, " requests after the restart, ", hits, " hits, ", stale, " pre-write answers");
  CHECK(stale == 0);
  CHECK(a_hits >= 2 * kProducts);
  CHECK(b_hits >= 2 * kProducts);
  // The restart was seen: a new generation was started.
  CHECK(f.generations() > generations_before);
  CHECK(f.cache.larder->isRunning());
  CHECK(f.b->isRunning());
}

}  // namespace larder::test
