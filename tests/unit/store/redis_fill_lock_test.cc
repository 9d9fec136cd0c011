// RedisFillLock against a real redis-server: two locks on one loop stand for
// two larder instances sharing the Redis.
#include "store/redis/redis_fill_lock.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::FillEnd;
using cache::LockStatus;
using cache::WatchEvent;

namespace {

const cache::LockName kName = cache::lockName("v1", "v1:e:abc\n-");
const cache::LockName kOther = cache::lockName("v1", "v1:e:def\n-");

struct LockFixture {
  explicit LockFixture(std::vector<std::string> server_args = {}) : server(std::move(server_args)) {
    options = testRedisOptions(server.port());
    for (int i = 0; i < 2; ++i) {
      locks.push_back(std::make_unique<store::RedisFillLock>(loop, options, i));
      locks.back()->listen(kName.channel);
    }
    REQUIRE_MESSAGE(runUntil(loop, [&] { return locks[0]->isReady() && locks[1]->isReady(); }, 3s),
                    "the fill locks did not connect and subscribe");
  }

  cache::LockAttempt acquireNow(store::RedisFillLock& lock, const cache::LockName& name,
                                const std::string& token, std::chrono::milliseconds ttl = 10s) {
    std::optional<cache::LockAttempt> result;
    cache::Pending pending =
        lock.acquire(name, token, ttl, [&](cache::LockAttempt attempt) { result = attempt; });
    CHECK_FALSE(result.has_value());  // never inside the call
    REQUIRE(runUntil(loop, [&] { return result.has_value(); }));
    return *result;
  }

  RedisServer server;
  net::Loop loop;
  store::RedisOptions options;
  std::vector<std::unique_ptr<store::RedisFillLock>> locks;
};

}  // namespace

TEST_CASE("fill lock: the first owner wins; another learns how long it has left") {
  LockFixture f;
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
}

TEST_CASE("fill lock: a lock whose owner never releases it expires on its own") {
  LockFixture f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "dead-owner", 200ms).status == LockStatus::kAcquired);
  runFor(f.loop, 250ms);
  CHECK(f.acquireNow(*f.locks[1], kName, "next-owner").status == LockStatus::kAcquired);
}

TEST_CASE("fill lock: only the owner deletes it; its notice reaches the watchers of that lock") {
  LockFixture f;
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

TEST_CASE("fill lock: an owner's abandonment is announced; a late stored notice still is") {
  LockFixture f;
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
  LockFixture f;
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
  LockFixture f;
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

TEST_CASE("fill lock: Redis down makes it unavailable at once; watchers look again after") {
  LockFixture f;
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });
  f.server.kill();
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout + 300ms);
  f.locks[0]->release(kName, "owner", FillEnd::kStored);  // dropped, never hangs
  CHECK_FALSE(f.locks[1]->isReady());

  f.server.restart();
  REQUIRE(runUntil(f.loop, [&] { return f.locks[0]->isReady() && f.locks[1]->isReady(); }, 5s));
  // Notices published while it was away are lost: the watcher is told so.
  REQUIRE(runUntil(f.loop, [&] { return !events.empty(); }));
  CHECK(events.back() == WatchEvent::kMissed);
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
}

TEST_CASE("fill lock: a paused Redis fails an attempt within the command timeout") {
  LockFixture f;
  f.server.pause();
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout + 300ms);
  f.server.resume();
}

TEST_CASE("fill lock: release after SCRIPT FLUSH falls back to EVAL") {
  LockFixture f;
  REQUIRE(f.acquireNow(*f.locks[0], kName, "owner").status == LockStatus::kAcquired);
  REQUIRE(f.server.command({"SCRIPT", "FLUSH"}).isStatus("OK"));
  std::vector<WatchEvent> events;
  cache::Pending watch = f.locks[1]->watch(kName, [&](WatchEvent event) { events.push_back(event); });
  f.locks[0]->release(kName, "owner", FillEnd::kStored);
  REQUIRE(runUntil(f.loop, [&] { return !events.empty(); }));
  CHECK(f.server.command({"EXISTS", kName.key}).integer == 0);
}

TEST_CASE("fill lock: destroyed with an attempt in flight, it calls nothing") {
  LockFixture f;
  bool called = false;
  cache::Pending pending =
      f.locks[0]->acquire(kName, "owner", 10s, [&](cache::LockAttempt) { called = true; });
  f.locks[0].reset();
  runFor(f.loop, 100ms);
  CHECK_FALSE(called);
  // A dropped Pending: the answer is not delivered either.
  pending = f.locks[1]->acquire(kName, "other", 10s, [&](cache::LockAttempt) { called = true; });
  pending = cache::Pending();
  runFor(f.loop, 100ms);
  CHECK_FALSE(called);
}
