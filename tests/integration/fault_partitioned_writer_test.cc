// A write through an instance that cannot reach Redis while the others can
// (issue 16, item 4). Instance A reaches Redis as the ACL user "writer";
// disabling that user and killing its connections cuts A off alone.
//  - By default A answers the write at once, with `Larder-Invalidation:
//    pending`; A does not serve the namespaces from cache meanwhile, but B
//    still serves pre-write entries until A's backlog lands (the guarantee
//    the README states), and B is fresh once the partition heals.
//  - With store.redis.write_consistency.wait_for_invalidation the answer
//    waits up to the bound: a partition that heals within it gives an
//    answer without the header, after which B is fresh (read-your-writes);
//    one that does not gives the header once the bound has passed.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "cache_support.h"
#include "common/temp_dir.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kPassword = "writer-secret";
const std::string kPath = "/api/products/7";

struct PartitionFixture {
  explicit PartitionFixture(std::string wait_for_invalidation = {}) {
    REQUIRE(cache.redis->command({"ACL", "SETUSER", "writer", "on", fmt::format(">{}", kPassword), "~*", "&*",
                                  "+@all"})
                .isStatus("OK"));
    const auto password_file = dir.writeFile("redis.pass", kPassword);
    std::string consistency;
    if (!wait_for_invalidation.empty())
      consistency = fmt::format(", write_consistency: {{ wait_for_invalidation: {} }}", wait_for_invalidation);
    const std::string sections = fmt::format(
        "store:\n  redis: {{ url: \"redis://writer@127.0.0.1:{}/0\", password_file: {}, timeout: 250ms, "
        "breaker: {{ cooldown: 100ms }}{} }}\ncache:\n  status_header: X-Cache\n{}",
        cache.redis->port(), password_file.string(), consistency, kCacheRoutes);
    a = std::make_unique<LarderProcess>(proxyConfig(cache.upstream.port(), sections));
    REQUIRE(cache.waitForLarderConnections(2 * CacheFixture::kConnectionsPerLarder));
  }

  // B stores the entry and hits it; its body.
  std::string warm() {
    HttpClient b = cache.client();
    HttpResponse miss = mustGet(b, kPath);
    REQUIRE(cache.waitForEntries(1));
    HttpResponse hit = mustGet(b, kPath);
    REQUIRE(xCache(hit) == "HIT");
    REQUIRE(hit.body == miss.body);
    return miss.body;
  }

  void cutOffA() {
    REQUIRE(cache.redis->command({"ACL", "SETUSER", "writer", "off"}).isStatus("OK"));
    cache.redis->command({"CLIENT", "KILL", "USER", "writer"});
  }
  void heal() { REQUIRE(cache.redis->command({"ACL", "SETUSER", "writer", "on"}).isStatus("OK")); }

  TempDir dir;
  CacheFixture cache;  // B is cache.larder
  std::unique_ptr<LarderProcess> a;
};

}  // namespace

TEST_CASE("partitioned writer: the write is answered at once with Larder-Invalidation: pending; B is fresh once it heals") {
  PartitionFixture f;
  const std::string before = f.warm();
  HttpClient a(f.a->port());
  HttpClient b = f.cache.client();
  f.cutOffA();

  HttpResponse write = mustRequest(a, "PUT", kPath, {}, "{}");
  CHECK(write.status == 200);
  CHECK(write.header("Larder-Invalidation") == "pending");
  // A does not serve the namespace from cache while its invalidation waits.
  HttpResponse from_a = mustGet(a, kPath);
  CHECK(xCache(from_a) != "HIT");
  CHECK(from_a.body != before);
  // B cannot know: it serves the pre-write entry (the stated limit).
  HttpResponse from_b = mustGet(b, kPath);
  CHECK(xCache(from_b) == "HIT");
  CHECK(from_b.body == before);

  f.heal();
  const auto healed = Clock::now();
  CHECK(waitUntil([&] { return mustGet(b, kPath).body != before; }, 10s, 20ms));
  MESSAGE(fmt::format("B fresh {:.0f} ms after the partition healed",
                      std::chrono::duration<double, std::milli>(Clock::now() - healed).count()));
}

TEST_CASE("partitioned writer, wait_for_invalidation: healed within the bound, the answer has no header and B is fresh") {
  PartitionFixture f("10s");
  const std::string before = f.warm();
  HttpClient b = f.cache.client();
  f.cutOffA();
  const size_t upstream_before = f.cache.upstream.requestCount();
  auto write = std::async(std::launch::async, [&] {
    HttpClient a(f.a->port());
    return mustRequest(a, "PUT", kPath, {}, "{}");
  });
  // The write reached the upstream; its invalidation cannot land yet.
  REQUIRE(f.cache.upstream.waitForRequests(upstream_before + 1, 5s));
  CHECK(write.wait_for(300ms) == std::future_status::timeout);
  f.heal();
  REQUIRE(write.wait_for(15s) == std::future_status::ready);
  HttpResponse answer = write.get();
  CHECK(answer.status == 200);
  CHECK_FALSE(answer.hasHeader("Larder-Invalidation"));
  // Read your writes, on the other instance, at once.
  HttpResponse from_b = mustGet(b, kPath);
  CHECK(xCache(from_b) != "HIT");
  CHECK(from_b.body != before);
}

TEST_CASE("partitioned writer, wait_for_invalidation: past the bound, the answer says the invalidation is pending") {
  PartitionFixture f("300ms");
  f.warm();
  HttpClient a(f.a->port());
  f.cutOffA();
  const auto start = Clock::now();
  HttpResponse write = mustRequest(a, "PUT", kPath, {}, "{}");
  CHECK(write.status == 200);
  CHECK(write.header("Larder-Invalidation") == "pending");
  // It waited (no upper bound asserted: the host is shared).
  CHECK(Clock::now() - start >= 300ms);
  f.heal();
}

}  // namespace larder::test
