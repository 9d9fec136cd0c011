// ClusterFillLock on a one-master Redis Cluster (cluster_fixture.h): two
// locks on one loop stand for two larder instances sharing the cluster.
// Routing over three masters, MOVED and ASK, and the whole fleet sending
// one request are in tests/integration/cache_redis_cluster_lock_test.cc.
#include "store/redis/cluster_fill_lock.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "cluster_fixture.h"

using namespace larder;
using namespace larder::store::test;
using cache::FillEnd;
using cache::LockStatus;
using cache::WatchEvent;

namespace {

const cache::LockName kName = cache::lockName("v1", "v1:e:abc\n-");
const cache::LockName kOther = cache::lockName("v1", "v1:e:def\n-");

struct ClusterLockFixture {
  ClusterLockFixture() {
    options = testRedisOptions(cluster.server.port());
    for (int i = 0; i < 2; ++i) {
      locks.push_back(std::make_unique<store::ClusterFillLock>(
          cluster.loop, options, std::vector<store::ClusterNode>{{"127.0.0.1", cluster.server.port()}}, i));
      locks.back()->listen(kName.channel);
    }
    REQUIRE_MESSAGE(runUntil(cluster.loop, [&] { return locks[0]->isReady() && locks[1]->isReady(); }, 3s),
                    "the cluster fill locks did not read the slot map and subscribe");
  }

  cache::LockAttempt acquireNow(store::ClusterFillLock& lock, const cache::LockName& name, const std::string& token,
                                std::chrono::milliseconds ttl = 10s) {
    std::optional<cache::LockAttempt> result;
    cache::Pending pending = lock.acquire(name, token, ttl, [&](cache::LockAttempt attempt) { result = attempt; });
    CHECK_FALSE(result.has_value());  // never inside the call
    REQUIRE(runUntil(cluster.loop, [&] { return result.has_value(); }));
    return *result;
  }

  RedisServer& server() { return cluster.server; }

  ClusterFixture cluster;
  store::RedisOptions options;
  std::vector<std::unique_ptr<store::ClusterFillLock>> locks;
};

}  // namespace

TEST_CASE("cluster fill lock: the first owner wins; another learns how long it has left") {
  ClusterLockFixture f;
  CHECK(f.acquireNow(*f.locks[0], kName, "owner-a", 10s).status == LockStatus::kAcquired);
  CHECK(f.server().command({"GET", kName.key}).str == "owner-a");
  // DESIGN invariant 2: the lock carries its TTL.
  const long long pttl = f.server().pttl(kName.key);
  CHECK(pttl > 9000);
  CHECK(pttl <= 10000);
  const cache::LockAttempt lost = f.acquireNow(*f.locks[1], kName, "owner-b");
  CHECK(lost.status == LockStatus::kHeld);
  CHECK(lost.remaining > 9000ms);
  CHECK(lost.remaining <= 10000ms);
  CHECK(f.acquireNow(*f.locks[0], kName, "owner-a").status == LockStatus::kHeld);
  CHECK(f.acquireNow(*f.locks[1], kOther, "owner-b").status == LockStatus::kAcquired);
  // One EVAL per attempt: the answer came in one round trip.
  CHECK(f.server().command({"GET", kOther.key}).str == "owner-b");
}

TEST_CASE("cluster fill lock: only the owner deletes it; its notice reaches the watchers of that lock") {
  ClusterLockFixture f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  std::vector<WatchEvent> on_name, on_other;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { on_name.push_back(event); });
  cache::Pending other = f.locks[1]->watch(kOther, [&](WatchEvent event) { on_other.push_back(event); });

  f.locks[1]->release(kName, "not-the-owner", FillEnd::kAbandoned);
  runFor(f.cluster.loop, 100ms);
  CHECK(f.server().command({"GET", kName.key}).str == "owner");
  CHECK(on_name.empty());

  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  REQUIRE(runUntil(f.cluster.loop, [&] { return !on_name.empty(); }));
  CHECK(on_name == std::vector<WatchEvent>{WatchEvent::kStored});
  CHECK(f.server().command({"EXISTS", kName.key}).integer == 0);
  runFor(f.cluster.loop, 50ms);
  CHECK(on_other.empty());
}

TEST_CASE("cluster fill lock: a lock whose owner never releases it expires on its own") {
  ClusterLockFixture f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "dead-owner", 200ms).status == LockStatus::kAcquired);
  runFor(f.cluster.loop, 250ms);
  CHECK(f.acquireNow(*f.locks[1], kName, "next-owner").status == LockStatus::kAcquired);
}

TEST_CASE("cluster fill lock: a key without a TTL is held by someone else: wait a whole TTL") {
  ClusterLockFixture f;
  REQUIRE(f.server().command({"SET", kName.key, "not-a-lock"}).isStatus("OK"));
  const cache::LockAttempt held = f.acquireNow(*f.locks[0], kName, "owner", 3s);
  CHECK(held.status == LockStatus::kHeld);
  CHECK(held.remaining == 3s);
  CHECK(f.server().command({"GET", kName.key}).str == "not-a-lock");
}

TEST_CASE("cluster fill lock: the node down makes it unavailable at once; watchers look again after") {
  ClusterLockFixture f;
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });
  f.server().kill();
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout + 300ms);
  f.locks[0]->release(kName, "owner", FillEnd::kStored);  // dropped, never hangs
  REQUIRE(runUntil(f.cluster.loop, [&] { return !f.locks[1]->isReady(); }));

  f.server().restart();
  // The node serves its slots again once it says cluster_state:ok.
  REQUIRE(runUntil(
      f.cluster.loop,
      [&] { return f.server().command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos; }, 5s));
  REQUIRE(runUntil(f.cluster.loop, [&] { return f.locks[0]->isReady() && f.locks[1]->isReady(); }, 5s));
  REQUIRE(runUntil(f.cluster.loop, [&] { return !events.empty(); }));
  CHECK(events.back() == WatchEvent::kMissed);
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
}

TEST_CASE("cluster fill lock: destroyed with an attempt in flight, it calls nothing") {
  ClusterLockFixture f;
  bool called = false;
  cache::Pending pending = f.locks[0]->acquire(kName, "owner", 10s, [&](cache::LockAttempt) { called = true; });
  f.locks[0].reset();
  runFor(f.cluster.loop, 100ms);
  CHECK_FALSE(called);
  pending = f.locks[1]->acquire(kName, "other", 10s, [&](cache::LockAttempt) { called = true; });
  pending = cache::Pending();
  runFor(f.cluster.loop, 100ms);
  CHECK_FALSE(called);
}
