// RedisStore behaviour that only Redis has: a server that dies, pauses or
// comes back (DESIGN invariant 5), the circuit breaker, the handshake and
// the script cache.
#include <doctest/doctest.h>
#include <unistd.h>

#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;
using Clock = std::chrono::steady_clock;

namespace {

// Retries lookups until one succeeds: the store recovers on its own.
bool recovers(RedisFixture& f, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kOk) return true;
    runFor(f.loop, 50ms);
  }
  return false;
}

}  // namespace

TEST_CASE("redis: a killed server fails operations within the timeout; a restart reconnects") {
  RedisFixture f;
  const auto timeout = testRedisOptions(f.server.port()).command_timeout;
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t", true}})) == InsertOutcome::kStored);

  f.server.kill();
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
    CHECK(elapsedSince(start) < timeout + kSlack);
  }
  const auto start = Clock::now();
  CHECK(insertNow(f, makeInsert("e:2", "x", {})) == InsertOutcome::kUnavailable);
  CHECK(invalidateNow(f, makeInvalidation({"v:a"}, {"t2"})) == StoreStatus::kUnavailable);
  CHECK(removeNow(f, {"e:1"}) == StoreStatus::kUnavailable);
  CHECK(elapsedSince(start) < timeout + kSlack);

  f.server.restart();  // same port, empty
  CHECK(recovers(f, 5s));
  CHECK(f.store->isAvailable());
  CHECK(f.redis_store->readyConnectionsForTest() == 2);
}

TEST_CASE("redis: a paused server fails every operation in flight within the timeout") {
  RedisFixture f;
  const auto timeout = testRedisOptions(f.server.port()).command_timeout;
  f.server.pause();

  // Several at once: they pipeline behind each other and fail together.
  int done = 0;
  int unavailable = 0;
  std::vector<cache::Pending> pendings;
  const auto start = Clock::now();
  for (int i = 0; i < 10; ++i) {
    pendings.push_back(
        f.store->lookup({"v:a"}, "e:" + std::to_string(i), [&](cache::LookupResult&& result) {
          ++done;
          if (result.status == StoreStatus::kUnavailable) ++unavailable;
        }));
  }
  std::optional<InsertOutcome> inserted;
  f.store->insert(makeInsert("e:x", "x", {}), [&](InsertOutcome o) { inserted = o; });
  REQUIRE(runUntil(f.loop, [&] { return done == 10 && inserted.has_value(); }));
  const auto elapsed = elapsedSince(start);
  CHECK(unavailable == 10);
  CHECK(inserted == InsertOutcome::kUnavailable);
  CHECK(elapsed >= timeout - 10ms);
  CHECK(elapsed < timeout + kSlack);

  // Still paused: reconnecting cannot finish its handshake, and operations
  // keep failing (fast now) rather than hanging.
  const auto again = Clock::now();
  CHECK(lookupNow(f, {}, "e:1").status == StoreStatus::kUnavailable);
  CHECK(elapsedSince(again) < timeout + kSlack);

  f.server.resume();
  CHECK(recovers(f, 5s));
}

TEST_CASE("redis: the breaker opens after consecutive failures, fails fast, closes on recovery") {
  RedisFixture f;
  const auto options = testRedisOptions(f.server.port());
  f.server.kill();
  for (int i = 0; i < options.breaker_failures; ++i) {
    CHECK(f.store->isAvailable());
    CHECK(lookupNow(f, {}, "e:1").status == StoreStatus::kUnavailable);
  }
  CHECK_FALSE(f.store->isAvailable());
  CHECK(f.redis_store->breakerState() == store::CircuitBreaker::State::kOpen);

  // Open: answered on the next loop turn without touching Redis.
  const auto start = Clock::now();
  for (int i = 0; i < 20; ++i) CHECK(lookupNow(f, {}, "e:1").status == StoreStatus::kUnavailable);
  CHECK(elapsedSince(start) < 100ms);

  // Still down when the cooldown ends: the probe fails and it stays open.
  runFor(f.loop, options.breaker_cooldown + 100ms);
  CHECK_FALSE(f.store->isAvailable());

  f.server.restart();
  // The probe after the next cooldown closes it, with no traffic needed.
  CHECK(runUntil(
      f.loop, [&] { return f.store->isAvailable(); }, 5s));
  CHECK(f.redis_store->breakerState() == store::CircuitBreaker::State::kClosed);
  CHECK(lookupNow(f, {}, "e:1").status == StoreStatus::kOk);
}

TEST_CASE("redis: an insert after SCRIPT FLUSH falls back to EVAL") {
  RedisFixture f;
  REQUIRE(f.server.command({"SCRIPT", "FLUSH"}).isStatus("OK"));
  CHECK(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t", true}})) == InsertOutcome::kStored);
  CHECK(lookupNow(f, {"v:a"}, "e:1").entry == "body");
  // EVAL reloaded it: the next one goes by SHA again.
  CHECK(insertNow(f, makeInsert("e:2", "body", {{"v:a", "t", false}})) == InsertOutcome::kStored);
}

TEST_CASE("redis: keys of an unexpected type give kUnavailable or a miss, never a crash") {
  RedisFixture f;
  REQUIRE(f.server.command({"RPUSH", "v:a", "x"}).integer == 1);
  REQUIRE(f.server.command({"HSET", "e:1", "f", "x"}).integer == 1);
  auto result = lookupNow(f, {"v:a"}, "e:1");
  CHECK(result.status == StoreStatus::kOk);  // MGET reads other types as nil
  CHECK_FALSE(result.versions[0].has_value());
  CHECK_FALSE(result.entry.has_value());
  // GET inside the script fails on a list: an error reply.
  CHECK(insertNow(f, makeInsert("e:2", "x", {{"v:a", "t", false}})) == InsertOutcome::kUnavailable);
  CHECK(insertNow(f, makeInsert("e:2", "x", {{"v:a", "t", true}})) == InsertOutcome::kUnavailable);
  CHECK(f.server.command({"EXISTS", "e:2"}).integer == 0);
  CHECK(f.store->isAvailable());
}

TEST_CASE("redis: AUTH and SELECT run during the handshake") {
  RedisFixture f({"--requirepass", "s3cret"}, [](store::RedisOptions& options) {
    options.password = "s3cret";
    options.database = 3;
  });
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {})) == InsertOutcome::kStored);
  CHECK(f.server.commandIn(3, {"GET", "e:1"}).str == "body");
  CHECK(f.server.command({"EXISTS", "e:1"}).integer == 0);
}

TEST_CASE("redis: a wrong password leaves the store unavailable, retrying, without crashing") {
  RedisServer server({"--requirepass", "right"});
  net::Loop loop;
  auto options = testRedisOptions(server.port());
  options.password = "wrong";
  store::RedisStore redis(loop, options);
  runFor(loop, 200ms);
  CHECK(redis.readyConnectionsForTest() == 0);
  std::optional<StoreStatus> status;
  cache::Pending pending =
      redis.lookup({}, "e:1", [&](cache::LookupResult&& r) { status = r.status; });
  REQUIRE(runUntil(loop, [&] { return status.has_value(); }));
  CHECK(status == StoreStatus::kUnavailable);
}

TEST_CASE("redis: many operations in one loop turn pipeline on the connections") {
  RedisFixture f;
  int stored = 0;
  int found = 0;
  std::vector<cache::Pending> pendings;
  for (int i = 0; i < 200; ++i) {
    f.store->insert(makeInsert("e:" + std::to_string(i), std::string(100, 'x'), {}),
                    [&](InsertOutcome o) { stored += o == InsertOutcome::kStored ? 1 : 0; });
  }
  REQUIRE(runUntil(f.loop, [&] { return stored == 200; }));
  for (int i = 0; i < 200; ++i) {
    pendings.push_back(f.store->lookup({}, "e:" + std::to_string(i), [&](cache::LookupResult&& r) {
      found += r.entry.has_value() ? 1 : 0;
    }));
  }
  REQUIRE(runUntil(f.loop, [&] { return found == 200; }));
  CHECK(f.store->isAvailable());
}

TEST_CASE("redis: connects over a unix socket") {
  const std::string path = "/tmp/larder-store-test-" + std::to_string(::getpid()) + ".sock";
  {
    RedisFixture f({"--unixsocket", path, "--unixsocketperm", "700"},
                   [&](store::RedisOptions& options) { options.unix_path = path; });
    REQUIRE(insertNow(f, makeInsert("e:1", "body", {})) == InsertOutcome::kStored);
    CHECK(lookupNow(f, {}, "e:1").entry == "body");
  }
  ::unlink(path.c_str());  // a killed redis-server leaves it behind
}

TEST_CASE("redis: destroying the store mid-connect or with commands stuck is clean") {
  RedisServer server;
  net::Loop loop;
  {
    // Still connecting: the handshake is queued inside hiredis.
    store::RedisStore redis(loop, testRedisOptions(server.port()));
  }
  int calls = 0;
  {
    store::RedisStore redis(loop, testRedisOptions(server.port()));
    REQUIRE(runUntil(loop, [&] { return redis.readyConnectionsForTest() == 2; }));
    server.pause();
    cache::Pending pending = redis.lookup({}, "e:1", [&](cache::LookupResult&&) { ++calls; });
    redis.insert(makeInsert("e:1", "x", {}), [&](InsertOutcome) { ++calls; });
    runFor(loop, 10ms);
  }
  runFor(loop, 50ms);
  CHECK(calls == 0);
  server.resume();
}
