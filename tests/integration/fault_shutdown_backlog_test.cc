// Invalidations still in the backlog when larder is told to stop (DESIGN
// invariant 13; app/backlog_retry.h):
//  - Redis takes writes again only after SIGTERM: the drain retries the
//    backlog, larder exits once it landed, and the namespace versions in
//    Redis have moved (another instance no longer serves the pre-write
//    entry). Before the fix the drain stopped the retry timer, larder
//    exited at once and the invalidation was lost without a word.
//  - Redis stays unreachable: larder exits at the drain deadline, and says
//    how many namespace invalidations were lost, and which.
//  - An empty backlog adds no wait, with two workers (worker 0, which
//    retries, finishes after the others).
//
// The backlog is filled as in fault_write_reset_test: CLIENT PAUSE WRITE
// holds the write's invalidation script, CLIENT KILL drops it with larder's
// connections (a held script goes with its client, so it never runs later
// by itself), and the write is answered `Larder-Invalidation: pending`.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

const std::string kPath = "/api/products/7";
// The same for every instance (the harness's default names its port).
const Headers kHost = {{"Host", "shop"}};
// Two of the version keys the write invalidates (kCacheRoutes).
const std::string kProductsKey = "v1:ns:products";
const std::string kProductKey = "v1:ns:product:7";

// Two workers: the write may land on either, and worker 0 flushes.
struct DrainFixture {
  explicit DrainFixture(std::string_view drain) {
    upstream.setHandler([this](const RecordedRequest& request) { return numberedAnswer(request, ++answered); });
    CacheOptions options;
    // The invalidation fails when the test kills its connection, never by a
    // timeout first.
    options.redis_timeout = "10s";
    std::string fragment = proxyConfig(upstream.port(), cacheSections(&redis, options) + adminSection(admin_port) +
                                                            fmt::format("timeouts: {{ drain: {} }}\n", drain));
    const size_t workers_at = fragment.find("workers: 1\n");
    REQUIRE(workers_at != std::string::npos);
    fragment.replace(workers_at, 10, "workers: 2");
    larder = std::make_unique<LarderProcess>(fragment);
    REQUIRE_MESSAGE(waitForRedisClients(redis, 2 * CacheFixture::kConnectionsPerLarder),
                    "larder did not connect to Redis");
  }

  // Stores the entry and hits it.
  void warm() {
    HttpClient reader(larder->port());
    REQUIRE(xCache(mustGet(reader, kPath, kHost)) == "MISS");
    REQUIRE(waitUntil([&] { return !redis.keys(std::string(kEntryPattern)).empty(); }, 3s));
    REQUIRE(xCache(mustGet(reader, kPath, kHost)) == "HIT");
  }

  std::map<std::string, std::string> versions() {
    return {{kProductsKey, redis.command({"GET", kProductsKey}).str},
            {kProductKey, redis.command({"GET", kProductKey}).str}};
  }

  // A write whose invalidation fails into the backlog; the number of
  // version keys waiting there.
  double writeIntoBacklog() {
    REQUIRE(redis.command({"CLIENT", "PAUSE", "30000", "WRITE"}).isStatus("OK"));
    HttpClient writer(larder->port());
    REQUIRE(writer.send("PUT /api/products/7 HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\n\r\n{}"));
    REQUIRE_MESSAGE(waitUntil([&] { return redis.holdsScript(); }, 10s, 10ms),
                    "the write's invalidation never reached Redis");
    redis.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
    auto answer = writer.readResponse(10s);
    REQUIRE(answer);
    REQUIRE(answer->status == 200);
    REQUIRE(answer->header("Larder-Invalidation") == "pending");
    const double keys = scrape(admin_port).value("larder_invalidation_backlog_keys");
    REQUIRE(keys >= 2);
    return keys;
  }

  // Redis takes writes again: larder writes its backlog, says so, and exits 0.
  void unpauseAndExpectFlushedExit() {
    REQUIRE(redis.command({"CLIENT", "UNPAUSE"}).isStatus("OK"));
    const auto status = larder->waitExit(10s);
    REQUIRE(status);
    CHECK(*status == 0);
    const std::string log = larder->stderrText();
    CHECK_MESSAGE(log.find("invalidation backlog flushed") != std::string::npos, log);
    CHECK_MESSAGE(log.find("namespace invalidation(s) lost") == std::string::npos, log);
  }

  std::atomic<uint64_t> answered{0};  // before the upstream: its handler uses it
  FakeUpstream upstream;
  RedisServer redis;
  uint16_t admin_port = freePort();
  std::unique_ptr<LarderProcess> larder;
};

}  // namespace

TEST_CASE("SIGTERM with an invalidation in the backlog: the drain writes it once Redis is back, then larder exits") {
  DrainFixture fixture("10s");
  fixture.warm();
  const auto before = fixture.versions();
  REQUIRE_FALSE(before.at(kProductsKey).empty());
  fixture.writeIntoBacklog();

  REQUIRE(fixture.larder->terminate());
  // Redis takes writes again only once larder drains (the line says so;
  // before the fix larder just exited).
  (void)waitUntil(
      [&] {
        return fixture.larder->stderrText().find("namespace invalidation(s) pending") != std::string::npos ||
               !fixture.larder->isRunning();
      },
      5s, 10ms);
  fixture.unpauseAndExpectFlushedExit();

  const auto after = fixture.versions();
  CHECK_MESSAGE(after.at(kProductsKey) != before.at(kProductsKey), "the write's invalidation was lost at exit");
  CHECK(after.at(kProductKey) != before.at(kProductKey));
  // Another instance on the same Redis sees the write.
  LarderProcess next(proxyConfig(fixture.upstream.port(), cacheSections(&fixture.redis, CacheOptions{})));
  REQUIRE(waitForRedisClients(fixture.redis, CacheFixture::kConnectionsPerLarder));
  HttpClient reader(next.port());
  CHECK(xCache(mustGet(reader, kPath, kHost)) != "HIT");
}

TEST_CASE("SIGTERM with an admin purge in flight: the drain writes it once Redis is back") {
  DrainFixture fixture("10s");
  fixture.warm();
  const auto before = fixture.versions();
  REQUIRE(fixture.redis.command({"CLIENT", "PAUSE", "30000", "WRITE"}).isStatus("OK"));
  HttpClient admin(fixture.admin_port);
  REQUIRE(admin.send("POST /purge/namespace/products HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n"));
  REQUIRE_MESSAGE(waitUntil([&] { return fixture.redis.holdsScript(); }, 10s, 10ms),
                  "the purge never reached Redis");
  REQUIRE(fixture.larder->terminate());
  // No client is left to drain: the admin thread stops, dropping the
  // purge's reply (before, larder then exited with the purge unwritten).
  std::this_thread::sleep_for(300ms);
  fixture.unpauseAndExpectFlushedExit();
  CHECK_MESSAGE(fixture.versions().at(kProductsKey) != before.at(kProductsKey), "the purge was lost at exit");
  CHECK(fixture.versions().at(kProductKey) == before.at(kProductKey));  // a namespace purge, not the write's
}

TEST_CASE("SIGTERM with an invalidation in the backlog and Redis down: larder exits at the drain deadline, saying what was lost") {
  DrainFixture fixture("500ms");
  fixture.warm();
  const double pending = fixture.writeIntoBacklog();

  const auto start = Clock::now();
  REQUIRE(fixture.larder->terminate());
  const auto status = fixture.larder->waitExit(5s);  // far below the default drain (30s)
  REQUIRE_MESSAGE(status, "larder did not exit within 5s of SIGTERM with drain: 500ms");
  CHECK(*status == 3);  // a failed stop for systemd, not only a log line
  CHECK(Clock::now() - start >= 400ms);  // it did try until the deadline
  const std::string log = fixture.larder->stderrText();
  CHECK_MESSAGE(log.find(fmt::format("exiting with {} namespace invalidation(s) lost", static_cast<int64_t>(pending))) != std::string::npos,
                log);
  CHECK_MESSAGE(log.find(kProductKey) != std::string::npos, log);
  CHECK(log.find("invalidation backlog flushed") == std::string::npos);
  REQUIRE(fixture.redis.command({"CLIENT", "UNPAUSE"}).isStatus("OK"));
}

TEST_CASE("SIGTERM with an empty backlog and two workers: larder exits at once, with no flush and no loss") {
  DrainFixture fixture("30s");
  fixture.warm();
  const auto start = Clock::now();
  REQUIRE(fixture.larder->terminate());
  const auto status = fixture.larder->waitExit(5s);
  REQUIRE_MESSAGE(status, "an empty backlog held larder in its drain");
  CHECK(*status == 0);
  CHECK(Clock::now() - start < 5s);
  const std::string log = fixture.larder->stderrText();
  CHECK(log.find("invalidation backlog flushed") == std::string::npos);
  CHECK(log.find("namespace invalidation(s) lost") == std::string::npos);
}

}  // namespace larder::test
