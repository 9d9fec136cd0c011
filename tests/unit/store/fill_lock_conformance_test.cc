// What RedisFillLock and ClusterFillLock share, checked against both
// (fill_lock_fixture.h): two locks on one loop stand for two larder
// instances. What only one of them does is in redis_fill_lock_test.cc and
// cluster_fill_lock_test.cc.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fill_lock_fixture.h"

using namespace larder;
using namespace larder::store::test;
using cache::FillEnd;
using cache::LockStatus;
using cache::WatchEvent;

#define LOCKS RedisLockFixture, ClusterLockFixture

TEST_CASE_TEMPLATE("fill lock: the first owner wins; another learns how long it has left", F, LOCKS) {
  F f;
  CHECK(f.acquireNow(*f.locks[0], kName, "owner-a", 10s).status == LockStatus::kAcquired);
  CHECK(f.server.command({"GET", kName.key}).str == "owner-a");
  // DESIGN invariant 2: the lock carries its TTL.
  const long long pttl = f.server.pttl(kName.key);
  CHECK(pttl > 9000);
  CHECK(pttl <= 10000);

  const cache::LockAttempt lost = f.acquireNow(*f.locks[1], kName, "owner-b");
  CHECK(lost.status == LockStatus::kHeld);
  CHECK(lost.remaining > 9000ms);
  CHECK(lost.remaining <= 10000ms);
  // Not re-entrant either: a second try by the same token is a loss too.
  CHECK(f.acquireNow(*f.locks[0], kName, "owner-a").status == LockStatus::kHeld);
  CHECK(f.acquireNow(*f.locks[1], kOther, "owner-b").status == LockStatus::kAcquired);
  CHECK(f.server.command({"GET", kOther.key}).str == "owner-b");
}

TEST_CASE_TEMPLATE("fill lock: a lock whose owner never releases it expires on its own", F, LOCKS) {
  F f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "dead-owner", 200ms).status == LockStatus::kAcquired);
  runFor(f.loop, 250ms);
  CHECK(f.acquireNow(*f.locks[1], kName, "next-owner").status == LockStatus::kAcquired);
}

TEST_CASE_TEMPLATE("fill lock: only the owner deletes it; its notice reaches the watchers of that lock", F, LOCKS) {
  F f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  std::vector<WatchEvent> on_name, on_other;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { on_name.push_back(event); });
  cache::Pending other = f.locks[1]->watch(kOther, [&](WatchEvent event) { on_other.push_back(event); });

  // Someone else's abandonment neither deletes the lock nor sends its waiters upstream.
  f.locks[1]->release(kName, "not-the-owner", FillEnd::kAbandoned);
  runFor(f.loop, 100ms);
  CHECK(f.server.command({"GET", kName.key}).str == "owner");
  CHECK(on_name.empty());

  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  REQUIRE(runUntil(f.loop, [&] { return !on_name.empty(); }));
  CHECK(on_name == std::vector<WatchEvent>{WatchEvent::kStored});
  CHECK(f.server.command({"EXISTS", kName.key}).integer == 0);
  runFor(f.loop, 50ms);
  CHECK(on_other.empty());
}

TEST_CASE_TEMPLATE("fill lock: the server down makes it unavailable at once; watchers look again after", F, LOCKS) {
  F f;
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });
  f.server.kill();
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout + 300ms);
  f.locks[0]->release(kName, "owner", FillEnd::kStored);  // dropped, never hangs
  REQUIRE(runUntil(f.loop, [&] { return !f.locks[1]->isReady(); }));

  f.server.restart();
  f.waitServing();
  REQUIRE(runUntil(f.loop, [&] { return f.locks[0]->isReady() && f.locks[1]->isReady(); }, 5s));
  // Notices published while it was away are lost: the watcher is told so.
  REQUIRE(runUntil(f.loop, [&] { return !events.empty(); }));
  CHECK(events.back() == WatchEvent::kMissed);
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
}

TEST_CASE_TEMPLATE("fill lock: destroyed with an attempt in flight, it calls nothing", F, LOCKS) {
  F f;
  bool called = false;
  cache::Pending pending = f.locks[0]->acquire(kName, "owner", 10s, [&](cache::LockAttempt) { called = true; });
  f.locks[0].reset();
  runFor(f.loop, 100ms);
  CHECK_FALSE(called);
  // A dropped Pending: the answer is not delivered either.
  pending = f.locks[1]->acquire(kName, "other", 10s, [&](cache::LockAttempt) { called = true; });
  pending = cache::Pending();
  runFor(f.loop, 100ms);
  CHECK_FALSE(called);
}
