// RedisFillLock against a real redis-server (fill_lock_fixture.h): what only
// the single-server lock does. What both locks do is in
// fill_lock_conformance_test.cc.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fill_lock_fixture.h"

using namespace larder;
using namespace larder::store::test;
using cache::FillEnd;
using cache::LockStatus;
using cache::WatchEvent;

TEST_CASE("fill lock: an owner's abandonment is announced; a late stored notice still is") {
  RedisLockFixture f;
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });

  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  f.locks[0]->release(kName, "owner", FillEnd::kAbandoned);
  REQUIRE(runUntil(f.loop, [&] { return events.size() == 1; }));
  CHECK(events[0] == WatchEvent::kAbandoned);

  // The lock expired and another owner took it: a stored entry still helps
  // that owner's waiters, but the lock is not the late one's to delete.
  REQUIRE(f.acquireNow(*f.locks[1], kName, "new-owner").status == LockStatus::kAcquired);
  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  REQUIRE(runUntil(f.loop, [&] { return events.size() == 2; }));
  CHECK(events[1] == WatchEvent::kStored);
  CHECK(f.server.command({"GET", kName.key}).str == "new-owner");
}

// Before the abort hook (net/pending.h) a destroyed watch stayed in the
// table until a sweep, 64 watches later.
TEST_CASE("fill lock: a destroyed watch leaves the table at once; a lock destroyed first is not touched") {
  RedisLockFixture f;
  cache::Pending kept = f.locks[1]->watch(kName, [](WatchEvent) {});
  {
    cache::Pending watch = f.locks[1]->watch(kName, [](WatchEvent) {});
    CHECK(f.locks[1]->watcherCountForTest() == 2);
  }
  CHECK(f.locks[1]->watcherCountForTest() == 1);
  f.locks[1].reset();
  kept = cache::Pending();  // its abort finds the lock gone and does nothing
}

TEST_CASE("fill lock: a destroyed watch hears nothing and is swept") {
  RedisLockFixture f;
  int heard = 0;
  {
    cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent) { ++heard; });
  }
  std::vector<cache::Pending> churn;
  for (int i = 0; i < 200; ++i) {
    churn.push_back(f.locks[1]->watch(kOther, [](WatchEvent) {}));
    churn.pop_back();
  }
  CHECK(f.locks[1]->watcherCountForTest() < 100);
  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  runFor(f.loop, 100ms);
  CHECK(heard == 0);
}

TEST_CASE("fill lock: a paused Redis fails an attempt within the command timeout") {
  RedisLockFixture f;
  f.server.pause();
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout + 300ms);
  f.server.resume();
}

TEST_CASE("fill lock: release after SCRIPT FLUSH falls back to EVAL") {
  RedisLockFixture f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  REQUIRE(f.server.command({"SCRIPT", "FLUSH"}).isStatus("OK"));
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });
  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  REQUIRE(runUntil(f.loop, [&] { return !events.empty(); }));
  CHECK(f.server.command({"EXISTS", kName.key}).integer == 0);
}
