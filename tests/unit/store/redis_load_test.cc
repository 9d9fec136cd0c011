// RedisStore under load (issue 13): slow is not dead. A reply that comes
// late is discarded and the connection stays up; a connection that keeps
// delivering bytes is never torn down and never opens the breaker; a
// stopped Redis is still bypassed within the timeout (DESIGN invariant 5);
// the work in flight per connection is bounded and the rest waits in larder.
#include <doctest/doctest.h>

#include <thread>

#include "base/metric_catalog.h"
#include "store_fixtures.h"
#include "throttled_relay.h"

using namespace larder;
using namespace larder::store::test;
using cache::StoreStatus;
using Clock = std::chrono::steady_clock;
namespace metrics = larder::base::metrics;

namespace {

// The slow-Redis tests: a timeout well above the scheduling stalls of a
// loaded host (a stall that long would be a dead Redis), and a reply that
// dribbles in for twice as long, a piece every 10 ms.
constexpr auto kSlowTimeout = 300ms;
constexpr size_t kDribble = 1024;  // bytes per 10 ms: 64 KiB take 640 ms

void slowTimeout(store::RedisOptions& options) { options.command_timeout = kSlowTimeout; }

// A store that reaches redis-server through a ThrottledRelay.
struct RelayFixture {
  explicit RelayFixture(std::function<void(store::RedisOptions&)> adjust = {})
      : relay(server.port()) {
    options = testRedisOptions(relay.port());
    if (adjust) adjust(options);
    redis_store = std::make_unique<store::RedisStore>(loop, options);
    store = redis_store.get();
    REQUIRE_MESSAGE(
        runUntil(
            loop,
            [&] {
              return redis_store->readyConnectionsForTest() ==
                     static_cast<size_t>(options.connections);
            },
            3s),
        "the RedisStore did not connect through the relay");
  }

  RedisServer server;
  ThrottledRelay relay;
  net::Loop loop;
  store::RedisOptions options;
  std::unique_ptr<store::RedisStore> redis_store;
  cache::Store* store = nullptr;
};

cache::LookupResult lookupNow(RelayFixture& f, const std::string& entry) {
  std::optional<cache::LookupResult> result;
  cache::Pending pending =
      f.store->lookup({}, entry, [&](cache::LookupResult&& r) { result = std::move(r); });
  REQUIRE(runUntil(f.loop, [&] { return result.has_value(); }));
  return std::move(*result);
}

}  // namespace

TEST_CASE("redis load: a late reply is discarded and its connection stays up") {
  RelayFixture f(slowTimeout);
  REQUIRE(f.server.command({"SET", "e:big", std::string(64 * 1024, 'x')}).isStatus("OK"));
  // Past the timeout, with bytes arriving all along.
  f.relay.throttle(kDribble, 10ms);
  const auto late_before = metrics::redis_late_replies.value();
  const auto reconnects_before = metrics::redis_reconnects.value();
  const auto timeouts_before = metrics::redis_timeouts.value();

  const auto start = Clock::now();
  CHECK(lookupNow(f, "e:big").status == StoreStatus::kUnavailable);  // the caller bypasses
  CHECK(elapsedSince(start) < f.options.command_timeout + kSlack);
  CHECK(metrics::redis_timeouts.value() == timeouts_before + 1);

  // The reply still comes, whole, on the same connection, and is dropped.
  REQUIRE(runUntil(f.loop, [&] { return metrics::redis_late_replies.value() == late_before + 1; }));
  CHECK(metrics::redis_reconnects.value() == reconnects_before);
  CHECK(f.redis_store->readyConnectionsForTest() == 2);
  CHECK(f.store->isAvailable());

  f.relay.unthrottle();
  auto result = lookupNow(f, "e:big");
  CHECK(result.status == StoreStatus::kOk);
  CHECK(result.entry.value_or("").size() == 64 * 1024);
}

TEST_CASE("redis load: slow large replies never tear a connection down nor open the breaker") {
  RelayFixture f(slowTimeout);  // breaker_failures = 3
  REQUIRE(f.server.command({"SET", "e:big", std::string(48 * 1024, 'y')}).isStatus("OK"));
  f.relay.throttle(kDribble, 10ms);
  const auto reconnects_before = metrics::redis_reconnects.value();
  const auto opened_before = metrics::redis_breaker_opened.value();
  for (int i = 0; i < f.options.breaker_failures + 1; ++i) {
    CAPTURE(i);
    CHECK(lookupNow(f, "e:big").status == StoreStatus::kUnavailable);
    CHECK(f.store->isAvailable());
  }
  CHECK(metrics::redis_breaker_opened.value() == opened_before);
  CHECK(metrics::redis_reconnects.value() == reconnects_before);
  CHECK(f.redis_store->breakerState() == store::CircuitBreaker::State::kClosed);

  f.relay.unthrottle();
  REQUIRE(runUntil(f.loop, [&] { return metrics::redis_in_flight.value() == 0; }));
  CHECK(lookupNow(f, "e:big").status == StoreStatus::kOk);
  CHECK(metrics::redis_reconnects.value() == reconnects_before);
}

// A lookup of "e:1" (stored as "body") whose command is written and whose
// reply the relay holds.
struct HeldLookup {
  explicit HeldLookup(RelayFixture& f) {
    REQUIRE(f.server.command({"SET", "e:1", "body"}).isStatus("OK"));
    f.relay.freeze(true);
    pending = f.store->lookup({}, "e:1", [this](cache::LookupResult&& r) { result = std::move(r); });
    runFor(f.loop, 20ms);
    REQUIRE_FALSE(result.has_value());
  }
  HeldLookup(const HeldLookup&) = delete;  // the lookup's callback holds `this`

  std::optional<cache::LookupResult> result;
  cache::Pending pending;
};

TEST_CASE("redis load: replies waiting unread while the loop was busy are not a dead Redis") {
  RelayFixture f;
  const auto reconnects_before = metrics::redis_reconnects.value();
  HeldLookup held(f);
  f.relay.freeze(false);
  // The worker is busy (or lost its CPU) past the timeout while the reply
  // arrives: Redis answered in time, this loop did not read.
  std::this_thread::sleep_for(f.options.command_timeout + 80ms);
  REQUIRE(runUntil(f.loop, [&] { return held.result.has_value(); }));
  CHECK(held.result->status == StoreStatus::kOk);
  CHECK(held.result->entry == "body");
  CHECK(metrics::redis_reconnects.value() == reconnects_before);
}

// The relay still holds the reply when the loop runs again after its stall:
// nothing is waiting, as when Redis shared the CPU (or the VM) that stalled.
TEST_CASE("redis load: a stall of this loop is not counted against Redis, which may not have run either") {
  RelayFixture f(slowTimeout);
  const auto reconnects_before = metrics::redis_reconnects.value();
  const auto timeouts_before = metrics::redis_timeouts.value();
  const auto stalls_before = metrics::redis_loop_stalls.value();
  HeldLookup held(f);
  std::this_thread::sleep_for(f.options.command_timeout + 80ms);
  runFor(f.loop, 30ms);  // deadline checks run, and find no reply
  CHECK_FALSE(held.result.has_value());
  CHECK(metrics::redis_loop_stalls.value() > stalls_before);
  f.relay.freeze(false);  // Redis runs again, and answers
  REQUIRE(runUntil(f.loop, [&] { return held.result.has_value(); }));
  CHECK(held.result->status == StoreStatus::kOk);
  CHECK(held.result->entry == "body");
  CHECK(metrics::redis_timeouts.value() == timeouts_before);
  CHECK(metrics::redis_reconnects.value() == reconnects_before);
}

TEST_CASE("redis load: after a stall of this loop, a Redis that stays silent is still bypassed within the timeout") {
  RelayFixture f(slowTimeout);
  HeldLookup held(f);
  std::this_thread::sleep_for(f.options.command_timeout + 80ms);
  const auto start = Clock::now();
  REQUIRE(runUntil(f.loop, [&] { return held.result.has_value(); }));
  CHECK(held.result->status == StoreStatus::kUnavailable);
  CHECK(elapsedSince(start) < f.options.command_timeout + kSlack);
  f.relay.freeze(false);
}

TEST_CASE("redis load: a stopped Redis is bypassed within the timeout and the breaker opens") {
  RedisFixture f;  // 2 connections, 100 ms timeout, breaker after 3 failures
  const auto timeout = testRedisOptions(f.server.port()).command_timeout;
  const auto reconnects_before = metrics::redis_reconnects.value();
  f.server.pause();
  int lookups = 0;
  while (f.store->isAvailable() && lookups < 20) {
    const auto start = Clock::now();
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
    CHECK(elapsedSince(start) < timeout + kSlack);
    ++lookups;
  }
  CHECK_FALSE(f.store->isAvailable());
  CHECK(f.redis_store->breakerState() == store::CircuitBreaker::State::kOpen);
  CHECK(metrics::redis_reconnects.value() > reconnects_before);
  // Open: no waiting at all.
  const auto start = Clock::now();
  CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  CHECK(elapsedSince(start) < 100ms);
  f.server.resume();
  CHECK(runUntil(
      f.loop, [&] { return f.store->isAvailable(); }, 5s));
}

TEST_CASE("redis load: commands in flight per connection are bounded; the rest queue, then bypass") {
  RelayFixture f([](store::RedisOptions& options) {
    options.connections = 1;
    options.max_in_flight = 2;
    options.max_queued = 3;
    options.command_timeout = 2000ms;  // nothing may time out here
  });
  REQUIRE(f.server.command({"SET", "e:1", "body"}).isStatus("OK"));
  const auto in_flight_before = metrics::redis_in_flight.value();
  const auto queued_before = metrics::redis_queued.value();
  const auto full_before = metrics::redis_dropped.value(0);
  f.relay.freeze(true);

  int ok = 0;
  int unavailable = 0;
  std::vector<cache::Pending> pendings;
  for (int i = 0; i < 10; ++i) {
    pendings.push_back(f.store->lookup({}, "e:1", [&](cache::LookupResult&& r) {
      (r.status == StoreStatus::kOk ? ok : unavailable) += 1;
    }));
  }
  runFor(f.loop, 50ms);
  CHECK(metrics::redis_in_flight.value() - in_flight_before == 2);
  CHECK(metrics::redis_queued.value() - queued_before == 3);
  CHECK(unavailable == 5);  // over the bound: bypassed at once, not waiting
  CHECK(ok == 0);
  CHECK(metrics::redis_dropped.value(0) - full_before == 5);
  CHECK(f.store->isAvailable());  // a full queue is not a failing Redis

  f.relay.freeze(false);
  REQUIRE(runUntil(f.loop, [&] { return ok + unavailable == 10; }));
  CHECK(ok == 5);
  CHECK(metrics::redis_in_flight.value() == in_flight_before);
  CHECK(metrics::redis_queued.value() == queued_before);
}

TEST_CASE("redis load: a command waits inside larder at most the timeout") {
  RelayFixture f([](store::RedisOptions& options) {
    options.connections = 1;
    options.max_in_flight = 1;
    slowTimeout(options);
  });
  REQUIRE(f.server.command({"SET", "e:big", std::string(64 * 1024, 'z')}).isStatus("OK"));
  REQUIRE(f.server.command({"SET", "e:1", "body"}).isStatus("OK"));
  // The first reply dribbles in past the timeout: the connection is alive,
  // and the second command waits behind it, in larder, not in Redis; once
  // the first is late, the second gives up too.
  f.relay.throttle(kDribble, 10ms);
  const auto waited_before = metrics::redis_dropped.value(1);
  std::optional<StoreStatus> first;
  std::optional<StoreStatus> second;
  cache::Pending a = f.store->lookup({}, "e:big", [&](cache::LookupResult&& r) { first = r.status; });
  const auto start = Clock::now();
  cache::Pending b = f.store->lookup({}, "e:1", [&](cache::LookupResult&& r) { second = r.status; });
  REQUIRE(runUntil(f.loop, [&] { return first.has_value() && second.has_value(); }));
  CHECK(*second == StoreStatus::kUnavailable);
  CHECK(elapsedSince(start) < f.options.command_timeout + kSlack);
  CHECK(metrics::redis_dropped.value(1) - waited_before == 1);
  CHECK(f.store->isAvailable());
}

TEST_CASE("redis load: large replies go a few at a time (max_in_flight_bytes)") {
  RelayFixture f([](store::RedisOptions& options) {
    options.connections = 1;
    options.max_in_flight = 8;
    options.max_in_flight_bytes = 100 * 1024;
    options.command_timeout = 2000ms;  // nothing may time out here
  });
  REQUIRE(f.server.command({"SET", "e:big", std::string(64 * 1024, 'w')}).isStatus("OK"));
  REQUIRE(f.server.command({"SET", "e:1", "body"}).isStatus("OK"));
  // Small replies: the count bound alone applies.
  const auto in_flight_before = metrics::redis_in_flight.value();
  const auto queued_before = metrics::redis_queued.value();
  f.relay.freeze(true);
  int done = 0;
  std::vector<cache::Pending> pendings;
  for (int i = 0; i < 4; ++i) {
    pendings.push_back(f.store->lookup({}, "e:1", [&](cache::LookupResult&& r) {
      done += r.status == StoreStatus::kOk ? 1 : 0;
    }));
  }
  runFor(f.loop, 30ms);
  CHECK(metrics::redis_in_flight.value() - in_flight_before == 4);
  f.relay.freeze(false);
  REQUIRE(runUntil(f.loop, [&] { return done == 4; }));

  // Once 64 KiB replies have been seen, two would pass 100 KiB: one at a time.
  for (int i = 0; i < 8; ++i) REQUIRE(lookupNow(f, "e:big").status == StoreStatus::kOk);
  f.relay.freeze(true);
  done = 0;
  pendings.clear();
  for (int i = 0; i < 4; ++i) {
    pendings.push_back(f.store->lookup({}, "e:big", [&](cache::LookupResult&& r) {
      done += r.entry.value_or("").size() == 64 * 1024 ? 1 : 0;
    }));
  }
  runFor(f.loop, 30ms);
  CHECK(metrics::redis_in_flight.value() - in_flight_before == 1);
  CHECK(metrics::redis_queued.value() - queued_before == 3);
  f.relay.freeze(false);
  REQUIRE(runUntil(f.loop, [&] { return done == 4; }));
  CHECK(metrics::redis_queued.value() == queued_before);
}

TEST_CASE("redis load: a 1 MiB reply arrives whole and its bytes are counted") {
  RelayFixture f([](store::RedisOptions& options) { options.command_timeout = 2000ms; });
  std::string value(1024 * 1024, 'v');
  for (size_t i = 0; i < value.size(); i += 4096) value[i] = static_cast<char>('a' + i / 4096 % 26);
  REQUIRE(f.server.command({"SET", "e:huge", value}).isStatus("OK"));
  const auto read_before = metrics::redis_bytes_read.value();
  for (int i = 0; i < 3; ++i) {
    auto result = lookupNow(f, "e:huge");
    REQUIRE(result.status == StoreStatus::kOk);
    CHECK(result.entry == value);
  }
  const auto read = metrics::redis_bytes_read.value() - read_before;
  CHECK(read >= static_cast<int64_t>(3 * value.size()));
  CHECK(read < static_cast<int64_t>(3 * value.size() + 4096));
}
