// app::BacklogRetry on a real loop (STYLE T4), with a store that holds its
// invalidations until the test settles them: the drain's prompt first
// retry, its wait for a ready connection, retries after a failure, the
// idle notice (never inside drain()), a newer failure outliving the retry
// that was in flight, and destruction mid-retry (DESIGN invariants 5, 13).
// describeLostBacklog: the exit's error line.
#include "app/backlog_retry.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/held_store.h"
#include "net/loop.h"
#include "net/timer.h"

using namespace larder;
using namespace std::chrono_literals;

namespace {

using test::HeldStore;

cache::Invalidation invalidation(std::vector<std::string> keys, const std::string& token) {
  cache::Invalidation out;
  out.version_keys = std::move(keys);
  out.tokens.assign(out.version_keys.size(), token);
  out.version_ttl = 1h;
  out.epoch_key = "v1:epoch";
  return out;
}

// Long running interval, short draining one: a retry seen within a few
// draining ticks can only be the drain's.
constexpr app::BacklogRetry::Intervals kIntervals{base::Duration(60000), base::Duration(5)};

struct Setup {
  Setup() { retry = std::make_unique<app::BacklogRetry>(loop, store, backlog, kIntervals); }

  // Runs the loop (a ref'd timer keeps it turning: the retry's own does
  // not) until `done` or `limit`; the value of `done`.
  bool runUntil(const std::function<bool()>& done, base::Duration limit = base::Duration(2000)) {
    bool expired = false;
    net::Timer deadline(loop);
    deadline.start(limit, [&expired] { expired = true; });
    while (!done() && !expired) uv_run(loop.raw(), UV_RUN_ONCE);
    return done();
  }
  // A few draining intervals.
  void runTicks(int ticks) {
    bool expired = false;
    net::Timer deadline(loop);
    deadline.start(kIntervals.draining * ticks, [&expired] { expired = true; });
    while (!expired) uv_run(loop.raw(), UV_RUN_ONCE);
  }

  net::Loop loop;
  HeldStore store;
  cache::InvalidationBacklog backlog;
  std::unique_ptr<app::BacklogRetry> retry;
  int idle_calls = 0;
  std::function<void()> onIdle() {
    return [this] { ++idle_calls; };
  }
};

}  // namespace

TEST_CASE("draining retries at once, and reports idle once the retry empties the backlog") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a", "v1:ns:b"}, "t1"));
  setup.retry->start();
  CHECK(setup.store.heldCount() == 0);  // the running interval has not come
  setup.retry->drain(setup.onIdle());
  REQUIRE(setup.store.heldCount() == 1);  // not a running interval later
  CHECK(setup.store.oldest().version_keys.size() == 2);
  CHECK(setup.store.oldest().epoch_key == "v1:epoch");
  CHECK_FALSE(setup.retry->isIdle());  // in flight
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.empty());
  CHECK(setup.retry->isIdle());
  CHECK(setup.idle_calls == 1);
}

TEST_CASE("draining waits for a ready connection and a closed breaker instead of failing fast") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a"}, "t1"));
  setup.store.ready = false;
  setup.retry->drain(setup.onIdle());
  setup.runTicks(4);
  CHECK(setup.store.heldCount() == 0);
  setup.store.ready = true;
  setup.store.available = false;  // breaker open
  setup.runTicks(4);
  CHECK(setup.store.heldCount() == 0);
  setup.store.available = true;
  REQUIRE(setup.runUntil([&] { return setup.store.heldCount() == 1; }));
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.empty());
  CHECK(setup.idle_calls == 1);
}

TEST_CASE("a failed drain retry is tried again on a later tick, never two at once") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a"}, "t1"));
  setup.retry->drain(setup.onIdle());
  REQUIRE(setup.store.heldCount() == 1);
  setup.runTicks(4);
  CHECK(setup.store.heldCount() == 1);  // one in flight at a time
  CHECK(setup.store.settle(cache::StoreStatus::kUnavailable));
  CHECK_FALSE(setup.backlog.empty());
  CHECK(setup.idle_calls == 0);
  REQUIRE(setup.runUntil([&] { return setup.store.heldCount() == 1; }));
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.empty());
  CHECK(setup.idle_calls == 1);
}

TEST_CASE("a newer failure for a key in flight stays in the backlog; the drain is not idle until it lands") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a"}, "t1"));
  setup.retry->drain(setup.onIdle());
  REQUIRE(setup.store.heldCount() == 1);
  setup.backlog.add(invalidation({"v1:ns:a"}, "t2"));  // another worker's write failed meanwhile
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.size() == 1);
  CHECK(setup.idle_calls == 0);
  REQUIRE(setup.runUntil([&] { return setup.store.heldCount() == 1; }));
  CHECK(setup.store.oldest().tokens == std::vector<std::string>{"t2"});
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.empty());
  CHECK(setup.idle_calls == 1);
}

TEST_CASE("an empty backlog is idle at once; the notice comes on a tick, never inside drain()") {
  Setup setup;
  setup.retry->drain(setup.onIdle());
  CHECK(setup.retry->isIdle());
  CHECK(setup.idle_calls == 0);
  CHECK(setup.runUntil([&] { return setup.idle_calls >= 1; }));
  CHECK(setup.store.heldCount() == 0);
  // Added after the drain began (another worker's last write): sent on a tick.
  setup.backlog.add(invalidation({"v1:ns:late"}, "t1"));
  CHECK_FALSE(setup.retry->isIdle());
  REQUIRE(setup.runUntil([&] { return setup.store.heldCount() == 1; }));
  const int before = setup.idle_calls;
  CHECK(setup.store.settle(cache::StoreStatus::kOk));
  CHECK(setup.idle_calls == before + 1);
}

TEST_CASE("stop() ends the ticks; a retry in flight still resolves the backlog") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a"}, "t1"));
  setup.retry->drain(setup.onIdle());
  REQUIRE(setup.store.heldCount() == 1);
  setup.retry->stop();
  CHECK(setup.store.settle(cache::StoreStatus::kUnavailable));
  setup.runTicks(4);
  CHECK(setup.store.heldCount() == 0);
  CHECK(setup.backlog.size() == 1);
}

TEST_CASE("destroyed mid-retry (the drain deadline): the late reply is dropped, the backlog keeps the key") {
  Setup setup;
  setup.backlog.add(invalidation({"v1:ns:a"}, "t1"));
  setup.retry->drain(setup.onIdle());
  REQUIRE(setup.store.heldCount() == 1);
  setup.retry.reset();
  CHECK_FALSE(setup.store.settle(cache::StoreStatus::kOk));  // detached: not called
  CHECK(setup.backlog.size() == 1);
  CHECK(setup.idle_calls == 0);
}

TEST_CASE("while running, a retry goes out every running interval when the breaker is closed") {
  net::Loop loop;
  HeldStore store;
  cache::InvalidationBacklog backlog;
  app::BacklogRetry retry(loop, store, backlog, {base::Duration(5), base::Duration(5)});
  backlog.add(invalidation({"v1:ns:a"}, "t1"));
  store.ready = false;  // running: not waited for (the breaker paces it)
  retry.start();
  CHECK(store.heldCount() == 0);  // on the first tick, not at once
  bool expired = false;
  net::Timer deadline(loop);
  deadline.start(base::Duration(2000), [&expired] { expired = true; });
  while (store.heldCount() == 0 && !expired) uv_run(loop.raw(), UV_RUN_ONCE);
  REQUIRE(store.heldCount() == 1);
  CHECK(store.settle(cache::StoreStatus::kOk));
  CHECK(backlog.empty());
  CHECK_FALSE(retry.isDraining());
}

TEST_CASE("the lost-invalidation line counts every key and names a few, sorted") {
  cache::InvalidationBacklog backlog;
  backlog.add(invalidation({"v1:ns:g", "v1:ns:c", "v1:ns:a", "v1:ns:f", "v1:ns:b", "v1:ns:e", "v1:ns:d"}, "t"));
  const std::string line = app::describeLostBacklog(backlog, 3);
  CHECK(line.find("7 namespace invalidation(s) lost") != std::string::npos);
  CHECK(line.find("v1:ns:a, v1:ns:b, v1:ns:c and 4 more") != std::string::npos);
  CHECK(line.find("v1:ns:d") == std::string::npos);

  cache::InvalidationBacklog one;
  one.add(invalidation({"v1:ns:products"}, "t"));
  const std::string single = app::describeLostBacklog(one);
  CHECK(single.find("1 namespace invalidation(s) lost") != std::string::npos);
  CHECK(single.find("v1:ns:products;") != std::string::npos);
  CHECK(single.find("more") == std::string::npos);
}
