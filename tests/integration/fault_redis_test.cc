// Redis faults under load (DESIGN invariant 5): while a few client threads
// issue cached GETs back to back, Redis is stopped (SIGSTOP), killed and
// restarted, or made slower than larder's 50ms store timeout. No client
// request fails, the p99 latency stays bounded (the store timeout plus the
// upstream's time until the breaker opens, then the upstream's own), and
// hits come back once Redis recovers. A Redis that is full (maxmemory with
// noeviction) refuses writes but still serves hits, and is not bypassed.
// Each test prints its figures.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cache_support.h"
#include "fault_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t kThreads = 3;
constexpr size_t kKeys = 8;
constexpr Millis kPhase = 1500ms;
// A request still unanswered after this counts as failed: far above the
// 50ms store timeout, far below an outage (a request stuck on the dead
// Redis would wait out the whole phase). Percentiles are printed, not
// asserted: they belong in bench/.
constexpr Millis kRequestTimeout = 3s;

std::string target(size_t thread, size_t i) { return fmt::format("/api/products/{}", (thread * 3 + i) % kKeys); }

// An upstream, a Redis that accepts DEBUG from loopback, and a one-worker
// larder with a 50ms store timeout in front of them.
struct RedisFaultFixture {
  RedisFaultFixture() {
    redis = std::make_unique<RedisServer>(std::vector<std::string>{"--enable-debug-command", "local"});
    CacheOptions options;
    options.redis_timeout = "50ms";
    admin_port = freePort();
    larder = std::make_unique<LarderProcess>(
        proxyConfig(upstream.port(), cacheSections(redis.get(), options) + adminSection(admin_port)));
  }

  // Every key is cached and answered as a hit (a 50ms timeout on a loaded
  // host may bypass now and then: retried until each key hits).
  void warm() {
    HttpClient client(larder->port());
    for (size_t key = 0; key < kKeys; ++key) {
      const std::string path = fmt::format("/api/products/{}", key);
      REQUIRE_MESSAGE(waitUntil(
                          [&] {
                            auto response = client.get(path);
                            return response && response->status == 200 && response->header("X-Cache") == "HIT";
                          },
                          10s, 20ms),
                      "no hit for ", path);
    }
  }

  FakeUpstream upstream;
  std::unique_ptr<RedisServer> redis;
  uint16_t admin_port = 0;
  std::unique_ptr<LarderProcess> larder;
};

struct Phases {
  PhaseStats before;
  PhaseStats during;
  PhaseStats after;
  double recovery_ms = 0;  // from the end of the fault to the first hit
};

// Runs the load: kPhase before, `fault` (which returns when the fault is
// over), then until hits come back (at most 10s) and kPhase more.
template <typename Fault>
Phases underLoad(RedisFaultFixture& fixture, Fault fault) {
  LoadRunner load(fixture.larder->port(), kThreads, target, kRequestTimeout);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(kPhase);
  const auto t1 = Clock::now();
  fault();
  const auto t2 = Clock::now();
  Clock::time_point first_hit = t2;
  const bool recovered = waitUntil(
      [&] {
        if (load.stats(t2, Clock::now()).hits == 0) return false;
        first_hit = Clock::now();
        return true;
      },
      10s, 20ms);
  std::this_thread::sleep_for(kPhase);
  const auto t3 = Clock::now();
  load.stop();
  Phases phases{load.stats(t0, t1), load.stats(t1, t2), load.stats(t2, t3),
                std::chrono::duration<double, std::milli>(first_hit - t2).count()};
  MESSAGE(phases.before.describe("before"));
  MESSAGE(phases.during.describe("during"));
  MESSAGE(phases.after.describe("after"));
  MESSAGE(fmt::format("first hit {:.0f} ms after the fault ended", phases.recovery_ms));
  CHECK_MESSAGE(recovered, "no hit within 10s of the fault ending");
  return phases;
}

void checkPhases(const Phases& phases) {
  for (const PhaseStats* stats : {&phases.before, &phases.during, &phases.after}) {
    CHECK(stats->sent > 0);
    CHECK(stats->failed == 0);
    CHECK(stats->non_200 == 0);
  }
  CHECK(phases.before.hits > 0);
  CHECK(phases.after.hits > 0);
}

TEST_CASE("Redis paused (SIGSTOP) under load: no request fails, p99 stays bounded, hits resume after SIGCONT") {
  RedisFaultFixture fixture;
  fixture.warm();
  const size_t upstream_before = fixture.upstream.requestCount();
  Phases phases = underLoad(fixture, [&] {
    fixture.redis->pause();
    std::this_thread::sleep_for(kPhase);
    fixture.redis->resume();
  });
  checkPhases(phases);
  // While Redis was stopped, the answers came from the upstream.
  CHECK(fixture.upstream.requestCount() > upstream_before);
  CHECK(fixture.larder->isRunning());
}

TEST_CASE("Redis killed and restarted under load: no request fails, p99 stays bounded, hits resume") {
  RedisFaultFixture fixture;
  fixture.warm();
  Phases phases = underLoad(fixture, [&] {
    fixture.redis->kill();
    std::this_thread::sleep_for(kPhase);
    fixture.redis->restart();  // empty: the keys are filled again
  });
  checkPhases(phases);
  CHECK(phases.during.hits == 0);
  CHECK(fixture.larder->isRunning());
}

TEST_CASE("Redis slower than the store timeout (DEBUG SLEEP 0.2) under load: no request fails, p99 stays bounded") {
  RedisFaultFixture fixture;
  fixture.warm();
  size_t sleeps = 0;
  Phases phases = underLoad(fixture, [&] {
    // Back to back, each blocks Redis for 200ms, four times the timeout:
    // every reply that does come is late, and larder must drop it.
    const auto end = Clock::now() + kPhase;
    while (Clock::now() < end) {
      fixture.redis->command({"DEBUG", "SLEEP", "0.2"});
      ++sleeps;
    }
  });
  MESSAGE("DEBUG SLEEP 0.2 sent ", sleeps, " times");
  checkPhases(phases);
  CHECK(fixture.larder->isRunning());
}

TEST_CASE("Redis full (maxmemory, noeviction) under load: cached keys stay hits, the breaker stays closed") {
  RedisFaultFixture fixture;
  fixture.warm();
  REQUIRE(fixture.redis->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).isStatus("OK"));
  REQUIRE(fixture.redis->command({"CONFIG", "SET", "maxmemory", "1"}).isStatus("OK"));
  const size_t upstream_before = fixture.upstream.requestCount();

  // Hits on the cached keys, and at the same time misses on new ones, many
  // more, whose inserts Redis refuses, often several in a row.
  const auto t0 = Clock::now();
  LoadRunner hits(fixture.larder->port(), 1, target, kRequestTimeout);
  LoadRunner misses(fixture.larder->port(), 6,
                    [](size_t thread, size_t i) { return fmt::format("/api/products/new-{}-{}", thread, i); },
                    kRequestTimeout);
  std::this_thread::sleep_for(kPhase);
  const auto t1 = Clock::now();
  hits.stop();
  misses.stop();
  const PhaseStats hit_stats = hits.stats(t0, t1);
  const PhaseStats miss_stats = misses.stats(t0, t1);
  MESSAGE(hit_stats.describe("cached keys"));
  MESSAGE(miss_stats.describe("new keys"));
  const PrometheusText metrics = scrape(fixture.admin_port);
  const double refused = metrics.value("larder_redis_writes_refused_total");
  const double opened = metrics.value("larder_redis_circuit_opened_total");
  const size_t upstream_during = fixture.upstream.requestCount() - upstream_before;
  MESSAGE(fmt::format("writes refused {}, breaker opened {}, origin requests {} (new keys {})", refused,
                      opened, upstream_during, miss_stats.sent));

  CHECK(hit_stats.failed + hit_stats.non_200 + miss_stats.failed + miss_stats.non_200 == 0);
  CHECK(miss_stats.sent > 10);
  CHECK(refused > 0);
  CHECK(opened == 0);
  // Bypassing Redis would make them misses: 84 hits of 3,444 before write
  // refusals were told apart from failures. (Not all: with the 50ms
  // timeout, a loaded host may bypass a lookup now and then.)
  CHECK(hit_stats.hits * 10 >= hit_stats.sent * 9);
  CHECK(miss_stats.hits == 0);  // nothing new is stored

  REQUIRE(fixture.redis->command({"CONFIG", "SET", "maxmemory", "0"}).isStatus("OK"));
  HttpClient client(fixture.larder->port());
  CHECK(waitUntil(
      [&] {
        auto response = client.get("/api/products/after");
        return response && response->header("X-Cache") == "HIT";
      },
      5s, 20ms));
}

}  // namespace
}  // namespace larder::test
