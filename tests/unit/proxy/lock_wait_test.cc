// LockWait on a real loop (STYLE T4) over a scripted FillLock: what a fill's
// leader does for each answer the lock gives, and when.
#include "proxy/lock_wait.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/metric_catalog.h"
#include "net/timer.h"

using namespace larder;
using namespace std::chrono_literals;
using Step = proxy::LockWait::Step;
using Event = base::metrics::FillLockEvent;
using Clock = std::chrono::steady_clock;

namespace {

// A FillLock whose answers the test gives by hand.
class ScriptedLock final : public cache::FillLock {
 public:
  cache::Pending acquire(const cache::LockName& name, const std::string& token,
                         std::chrono::milliseconds, AcquireCallback on_done) override {
    log.push_back("acquire " + name.key);
    tokens.push_back(token);
    attempt_state = std::make_shared<cache::PendingState>();
    on_attempt = std::move(on_done);
    return cache::Pending(attempt_state);
  }
  void release(const cache::LockName& name, const std::string& token, cache::FillEnd end) override {
    log.push_back(std::string(end == cache::FillEnd::kStored ? "release stored " : "release abandoned ") +
                  name.key + " " + token);
  }
  cache::Pending watch(const cache::LockName& name, WatchCallback on_event) override {
    log.push_back("watch " + name.key);
    watch_state = std::make_shared<cache::PendingState>();
    on_watch = std::move(on_event);
    return cache::Pending(watch_state);
  }
  void listen(const std::string&) override {}
  bool isReady() const override { return true; }

  void answer(cache::LockStatus status, std::chrono::milliseconds remaining = 0ms) {
    REQUIRE(attempt_state);
    if (!attempt_state->cancelled) on_attempt(cache::LockAttempt{status, remaining});
    attempt_state.reset();
  }
  void notice(cache::WatchEvent event) {
    REQUIRE(watch_state);
    if (!watch_state->cancelled) on_watch(event);
  }

  std::vector<std::string> log;
  std::vector<std::string> tokens;
  std::shared_ptr<cache::PendingState> attempt_state;
  std::shared_ptr<cache::PendingState> watch_state;
  AcquireCallback on_attempt;
  WatchCallback on_watch;
};

struct WaitFixture {
  explicit WaitFixture(std::chrono::milliseconds budget = 5s) {
    wait = std::make_unique<proxy::LockWait>(lock, loop, name, 1s, Clock::now() + budget,
                                             [this](Step step) { steps.push_back(step); });
  }
  // Runs the loop until a step arrives or `timeout` passes.
  bool runUntilStep(size_t count, std::chrono::milliseconds timeout = 2s) {
    net::Timer tick(loop);
    tick.startRepeating(2ms, [] {});
    const auto deadline = Clock::now() + timeout;
    while (steps.size() < count && Clock::now() < deadline) uv_run(loop.raw(), UV_RUN_ONCE);
    return steps.size() >= count;
  }
  int64_t count(Event event) const {
    return base::metrics::fill_lock_events.value(base::metrics::index(event));
  }

  net::Loop loop;
  ScriptedLock lock;
  cache::LockName name = cache::lockName("v1", "fill");
  std::vector<Step> steps;
  std::unique_ptr<proxy::LockWait> wait;
};

}  // namespace

TEST_CASE("lock wait: it watches before it tries, so no notice can slip between") {
  WaitFixture f;
  f.wait->start();
  REQUIRE(f.lock.log.size() == 2);
  CHECK(f.lock.log[0] == "watch " + f.name.key);
  CHECK(f.lock.log[1] == "acquire " + f.name.key);
  CHECK(f.steps.empty());
}

TEST_CASE("lock wait: a won lock means fetch under it; dropped unclaimed, it is released") {
  WaitFixture f;
  const int64_t acquired = f.count(Event::kAcquired);
  f.wait->start();
  f.lock.answer(cache::LockStatus::kAcquired);
  CHECK(f.steps == std::vector<Step>{Step::kFetch});
  CHECK(f.wait->isHeld());
  CHECK(f.count(Event::kAcquired) == acquired + 1);
  const std::string token = f.lock.tokens.at(0);
  f.wait.reset();  // e.g. the client left: other instances must not wait out the TTL
  CHECK(f.lock.log.back() == "release abandoned " + f.name.key + " " + token);
}

TEST_CASE("lock wait: a claimed lock is the claimer's to release") {
  WaitFixture f;
  f.wait->start();
  f.lock.answer(cache::LockStatus::kAcquired);
  proxy::LockWait::Held held = f.wait->takeHeld();
  CHECK(held.name.key == f.name.key);
  CHECK(held.token == f.lock.tokens.at(0));
  CHECK_FALSE(f.wait->isHeld());
  const size_t before = f.lock.log.size();
  f.wait.reset();
  CHECK(f.lock.log.size() == before);
}

TEST_CASE("lock wait: store trouble means fetch now, without the lock") {
  WaitFixture f;
  const int64_t unavailable = f.count(Event::kUnavailable);
  f.wait->start();
  f.lock.answer(cache::LockStatus::kUnavailable);
  CHECK(f.steps == std::vector<Step>{Step::kFetch});
  CHECK_FALSE(f.wait->isHeld());
  CHECK(f.count(Event::kUnavailable) == unavailable + 1);
}

TEST_CASE("lock wait: a lost lock is looked at again just after it expires, not before") {
  WaitFixture f;
  const int64_t lost = f.count(Event::kLost);
  const int64_t expired = f.count(Event::kExpired);
  f.wait->start();
  // The timer counts from the loop's cached time, which trails the clock by
  // however long the test has run since the loop last looked (under TSan on
  // a busy host, tens of ms): bring it up to date before taking `start`.
  uv_update_time(f.loop.raw());
  const auto start = Clock::now();
  f.lock.answer(cache::LockStatus::kHeld, 150ms);
  CHECK(f.count(Event::kLost) == lost + 1);
  REQUIRE(f.runUntilStep(1));
  // Less 1 ms: the loop's time is in whole milliseconds, rounded down.
  CHECK(Clock::now() - start >= 149ms);
  CHECK(f.steps == std::vector<Step>{Step::kLookUp});
  CHECK(f.count(Event::kExpired) == expired + 1);

  // A miss after that: it tries again, with the same token, still watching.
  f.wait->start();
  CHECK(f.lock.tokens.size() == 2);
  CHECK(f.lock.tokens[1] == f.lock.tokens[0]);
  f.lock.answer(cache::LockStatus::kAcquired);
  CHECK(f.steps.back() == Step::kFetch);
  CHECK(f.wait->isHeld());
}

TEST_CASE("lock wait: the owner's notice ends the wait at once") {
  WaitFixture f;
  const int64_t notified = f.count(Event::kNotified);
  f.wait->start();
  f.lock.answer(cache::LockStatus::kHeld, 10s);
  f.lock.notice(cache::WatchEvent::kStored);
  CHECK(f.steps == std::vector<Step>{Step::kLookUp});
  CHECK(f.count(Event::kNotified) == notified + 1);
  // The expiry timer is off: nothing more comes.
  CHECK_FALSE(f.runUntilStep(2, 100ms));
}

TEST_CASE("lock wait: an abandoned fill sends each waiting instance upstream") {
  WaitFixture f;
  f.wait->start();
  f.lock.answer(cache::LockStatus::kHeld, 10s);
  f.lock.notice(cache::WatchEvent::kAbandoned);
  CHECK(f.steps == std::vector<Step>{Step::kFetch});
  CHECK_FALSE(f.wait->isHeld());
}

TEST_CASE("lock wait: a notice that overtakes the lost attempt's answer is not lost") {
  WaitFixture f;
  f.wait->start();
  f.lock.notice(cache::WatchEvent::kStored);
  CHECK(f.steps.empty());
  f.lock.answer(cache::LockStatus::kHeld, 10s);
  CHECK(f.steps == std::vector<Step>{Step::kLookUp});
}

TEST_CASE("lock wait: notices while the leader looks up or fetches change nothing") {
  WaitFixture f;
  f.wait->start();
  f.lock.answer(cache::LockStatus::kHeld, 10s);
  f.lock.notice(cache::WatchEvent::kMissed);  // resubscribed: look again
  CHECK(f.steps == std::vector<Step>{Step::kLookUp});
  f.lock.notice(cache::WatchEvent::kStored);
  CHECK(f.steps.size() == 1);
}

TEST_CASE("lock wait: lock_timeout bounds the whole wait; then fetch without the lock") {
  WaitFixture f(150ms);
  const int64_t timed_out = f.count(Event::kTimedOut);
  f.wait->start();
  const auto start = Clock::now();
  f.lock.answer(cache::LockStatus::kHeld, 10s);  // a lock that outlives the budget
  REQUIRE(f.runUntilStep(1));
  CHECK(Clock::now() - start < 1s);
  CHECK(f.steps == std::vector<Step>{Step::kFetch});
  CHECK_FALSE(f.wait->isHeld());
  CHECK(f.count(Event::kTimedOut) == timed_out + 1);
  // Past the deadline, another try does not ask the lock at all.
  const size_t asked = f.lock.tokens.size();
  f.wait->start();
  CHECK(f.steps.size() == 2);
  CHECK(f.steps[1] == Step::kFetch);
  CHECK(f.lock.tokens.size() == asked);
}

TEST_CASE("lock wait: destroyed while waiting, it cancels its attempt, watch and timer") {
  WaitFixture f;
  f.wait->start();
  f.lock.answer(cache::LockStatus::kHeld, 50ms);
  f.wait.reset();
  CHECK(f.lock.watch_state->cancelled);
  CHECK_FALSE(f.runUntilStep(1, 150ms));
  // Destroyed with an attempt in flight: its answer is dropped.
  f.wait = std::make_unique<proxy::LockWait>(f.lock, f.loop, f.name, 1s, Clock::now() + 5s,
                                             [&](Step step) { f.steps.push_back(step); });
  f.wait->start();
  auto attempt = f.lock.attempt_state;
  f.wait.reset();
  CHECK(attempt->cancelled);
}

// The owner (FillFetch) ends a wait from inside its own step and destroys it
// on a later turn: stop() must leave nothing that can call back meanwhile.
TEST_CASE("lock wait: stopped from inside its own step, it releases an unclaimed lock and goes silent") {
  WaitFixture f;
  f.wait = std::make_unique<proxy::LockWait>(f.lock, f.loop, f.name, 1s, Clock::now() + 5s, [&](Step step) {
    f.steps.push_back(step);
    f.wait->stop();
    f.wait->stop();  // idempotent
  });
  f.wait->start();
  f.lock.answer(cache::LockStatus::kAcquired);
  REQUIRE(f.steps == std::vector<Step>{Step::kFetch});
  CHECK_FALSE(f.wait->isHeld());
  CHECK(f.lock.log.back() == "release abandoned " + f.name.key + " " + f.lock.tokens.at(0));
  CHECK(f.lock.watch_state->cancelled);
  f.lock.notice(cache::WatchEvent::kStored);  // dropped: the watch is cancelled
  CHECK_FALSE(f.runUntilStep(2, 100ms));
  const size_t logged = f.lock.log.size();
  f.wait.reset();  // nothing left to release
  CHECK(f.lock.log.size() == logged);
}

TEST_CASE("lock wait: stopped with an attempt in flight or while waiting, it hears nothing more") {
  WaitFixture f;
  f.wait->start();
  auto attempt = f.lock.attempt_state;
  f.wait->stop();
  CHECK(attempt->cancelled);
  f.wait->start();  // a stopped wait may be started again
  f.lock.answer(cache::LockStatus::kHeld, 30ms);
  f.wait->stop();  // waiting for the lock to expire: the timer goes too
  CHECK(f.lock.watch_state->cancelled);
  CHECK_FALSE(f.runUntilStep(1, 100ms));
}
