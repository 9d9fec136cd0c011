// A Redis that is alive but refuses writes: full with maxmemory-policy
// noeviction (OOM), or unable to persist with stop-writes-on-bgsave-error
// (MISCONF). Reads still work there, so hits must still be served: the
// refusals fail the writes (an insert is not stored, an invalidation goes
// to the caller's backlog) but never open the breaker, which would send
// every request to the origin (issue 13: never collapse onto the origin).
#include <doctest/doctest.h>

#include "base/metric_catalog.h"
#include "cluster_fixture.h"
#include "store/redis/write_refusal.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::StoreStatus;

namespace {

// Every write is refused from now on: maxmemory below what Redis uses.
void fillUp(RedisServer& server) {
  REQUIRE(server.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).isStatus("OK"));
  REQUIRE(server.command({"CONFIG", "SET", "maxmemory", "1"}).isStatus("OK"));
  REQUIRE(server.command({"SET", "probe", "x"}).isError());
}

void makeRoom(RedisServer& server) {
  REQUIRE(server.command({"CONFIG", "SET", "maxmemory", "0"}).isStatus("OK"));
}

// `invalidation`: what an invalidation gets there. A RedisStore's lands:
// its script refreshes the generation key first (PEXPIRE, accepted when
// full), and Redis lets a script that has written finish its writes, so the
// namespace is invalidated at once. A ClusterStore's first write is a SET:
// refused, so the caller keeps it in its backlog and bypasses the
// namespace until it lands (invariant 5).
template <typename Fixture>
void refusedWritesKeepReads(Fixture& f, StoreStatus invalidation) {
  REQUIRE(insertNow(f, makeInsert("e:1", "one", {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  fillUp(f.server);
  const int64_t opened = base::metrics::redis_breaker_opened.value();
  const int64_t refused = base::metrics::redis_writes_refused.value();

  for (int i = 0; i < 10; ++i) {
    const std::string key = "e:new" + std::to_string(i);
    CHECK(insertNow(f, makeInsert(key, "new", {{"v:b", "t2", true}})) == cache::InsertOutcome::kUnavailable);
    // The hit before it is still a hit.
    auto hit = lookupNow(f, {"v:a"}, "e:1");
    REQUIRE(hit.status == StoreStatus::kOk);
    CHECK(hit.entry == "one");
  }
  // Consecutive refusals, with no success between them.
  for (int i = 0; i < 10; ++i) {
    CHECK(insertNow(f, makeInsert("e:more", "new", {{"v:c", "t3", true}})) == cache::InsertOutcome::kUnavailable);
  }
  CHECK(f.store->isAvailable());
  CHECK(base::metrics::redis_breaker_opened.value() == opened);
  CHECK(base::metrics::redis_writes_refused.value() - refused >= 20);
  const std::optional<std::string> version = lookupNow(f, {"v:a"}, "e:1").versions.at(0);
  REQUIRE(version.has_value());

  CHECK(invalidateNow(f, makeInvalidation({"v:a"}, {"written"})) == invalidation);
  CHECK(f.store->isAvailable());
  auto after = lookupNow(f, {"v:a"}, "e:1");
  REQUIRE(after.status == StoreStatus::kOk);
  CHECK((after.versions.at(0) != version) == (invalidation == StoreStatus::kOk));

  makeRoom(f.server);
  CHECK(invalidateNow(f, makeInvalidation({"v:a"}, {"again"})) == StoreStatus::kOk);
  CHECK(insertNow(f, makeInsert("e:2", "two", {{"v:b", "t2", true}})) == cache::InsertOutcome::kStored);
}

}  // namespace

TEST_CASE("redis: a full Redis refuses writes; hits are still served and the breaker stays closed") {
  RedisFixture f;
  refusedWritesKeepReads(f, StoreStatus::kOk);
}

TEST_CASE("redis cluster: a full node refuses writes; hits are still served and the breaker stays closed") {
  ClusterFixture f;
  refusedWritesKeepReads(f, StoreStatus::kUnavailable);
}

TEST_CASE("redis: a connection made while Redis refuses writes is still ready, and serves hits") {
  RedisFixture f;
  REQUIRE(insertNow(f, makeInsert("e:1", "one", {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  fillUp(f.server);
  // Every connection is made again (a Redis restart would do the same, but
  // would also start a generation, which is a write).
  REQUIRE(f.server.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}).integer >= 1);
  REQUIRE(runUntil(f.loop, [&] { return lookupNow(f, {"v:a"}, "e:1").entry == "one"; }, 3s));
  CHECK(f.store->isAvailable());
}

TEST_CASE("write refusals: OOM, MISCONF and NOREPLICAS, bare or wrapped by Redis 6's script error") {
  const auto error = [](std::string& text) {
    redisReply reply{};
    reply.type = REDIS_REPLY_ERROR;
    reply.str = text.data();
    reply.len = text.size();
    return reply;
  };
  for (std::string text : {std::string("OOM command not allowed when used memory > 'maxmemory'."),
                           std::string("MISCONF Redis is configured to save RDB snapshots, but it's "
                                       "currently unable to persist to disk."),
                           std::string("NOREPLICAS Not enough good replicas to write."),
                           std::string("ERR Error running script (call to f_0123): @user_script:19: "
                                       "@user_script: 19: -OOM command not allowed when used memory > "
                                       "'maxmemory'.")}) {
    redisReply reply = error(text);
    CHECK_MESSAGE(store::isWriteRefusal(&reply), text);
  }
  for (std::string text : {std::string("ERR unknown command"), std::string("READONLY You can't write "
                                                                           "against a read only replica."),
                           std::string("LOADING Redis is loading the dataset in memory"),
                           std::string("ERR value mentions ROOM 3")}) {
    redisReply reply = error(text);
    CHECK_FALSE_MESSAGE(store::isWriteRefusal(&reply), text);
  }
  std::string status = "OOM";
  redisReply not_error{};
  not_error.type = REDIS_REPLY_STATUS;
  not_error.str = status.data();
  not_error.len = status.size();
  CHECK_FALSE(store::isWriteRefusal(&not_error));
  CHECK_FALSE(store::isWriteRefusal(nullptr));
}
