// Generations (store/redis/generation.h): version values of another Redis
// server run read as absent, and a generation that changes under a
// connection bypasses the cache once and is learned again.
#include "store/redis/generation.h"

#include <doctest/doctest.h>

#include "base/metric_catalog.h"
#include "cache/versioned_insert.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;

namespace {

std::string currentGeneration(RedisFixture& f) {
  return f.server.command({"GET", store::RedisOptions().generation_key}).str;
}

}  // namespace

TEST_CASE("untagVersion: only a value of the given generation, without its tag") {
  struct Row {
    std::optional<std::string> value;
    std::optional<std::string> expected;
  };
  const std::string tag = store::generationTag("0123456789abcdef");
  CHECK(tag == "0123456789abcdef/");
  const Row rows[] = {
      {"0123456789abcdef/17.t", "17.t"},
      {"0123456789abcdef/+t", "+t"},
      {"0123456789abcdef/", ""},
      {std::nullopt, std::nullopt},
      {"fedcba9876543210/17.t", std::nullopt},  // another server run
      {"17.t", std::nullopt},                   // untagged (written before generations)
      {"0123456789abcdef", std::nullopt},       // the generation alone, no separator
      {"0123456789abcde/17.t", std::nullopt},
      {"", std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value.value_or("<absent>"));
    CHECK(store::untagVersion(row.value, tag) == row.expected);
  }
}

TEST_CASE("redis: the handshake writes the generation of this server run, with a TTL") {
  RedisFixture f;
  const std::string generation = currentGeneration(f);
  const std::string info = f.server.command({"INFO", "server"}).str;
  const size_t at = info.find("run_id:");
  REQUIRE(at != std::string::npos);
  CHECK(generation == info.substr(at + 7, 16));
  CHECK(f.server.pttl(store::RedisOptions().generation_key) > 0);
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "+t", true}})) == InsertOutcome::kStored);
  CHECK(f.server.command({"GET", "v:a"}).str == generation + "/+t");
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"t2"})) == StoreStatus::kOk);
  CHECK(f.server.command({"GET", "v:a"}).str.starts_with(generation + "/"));
  CHECK(f.server.command({"GET", "v:a"}).str.ends_with(".t2"));
  CHECK(f.server.command({"GET", "epoch"}).str.starts_with(generation + "/"));
}

TEST_CASE("redis: a version value of another server run reads as absent and is replaced as absent") {
  RedisFixture f;
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t", true}})) == InsertOutcome::kStored);
  auto before = lookupNow(f, {"v:a"}, "e:1");
  REQUIRE(before.versions[0] == std::optional<std::string>("t"));

  // What a snapshot of an earlier run brings back: the same token, another tag.
  REQUIRE(f.server.command({"SET", "v:a", "fedcba9876543210/t"}).isStatus("OK"));
  auto after = lookupNow(f, {"v:a"}, "e:1");
  REQUIRE(after.status == StoreStatus::kOk);
  CHECK_FALSE(after.versions[0].has_value());  // the entry recording "t" is a miss
  CHECK(after.entry == std::optional<std::string>("body"));

  // Expecting the old token is refused; creating it succeeds, as for an absent key.
  CHECK(insertNow(f, makeInsert("e:1", "old", {{"v:a", "t", false}})) == InsertOutcome::kVersionChanged);
  CHECK(insertNow(f, makeInsert("e:1", "new", {{"v:a", "+n", true}})) == InsertOutcome::kStored);
  CHECK(f.server.command({"GET", "v:a"}).str == currentGeneration(f) + "/+n");
  CHECK(lookupNow(f, {"v:a"}, "e:1").versions[0] == std::optional<std::string>("+n"));

  // An invalidation's epoch keeps rising past an epoch of another run.
  REQUIRE(f.server.command({"SET", "epoch", "fedcba9876543210/8000000000000000"}).isStatus("OK"));
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"t"})) == StoreStatus::kOk);
  CHECK(cache::parseEpoch(lookupNow(f, {"epoch"}, "").versions[0]) == 8000000000000001);
}

TEST_CASE("redis: another generation under a live connection bypasses, keeps the breaker closed, and is learned") {
  RedisFixture f;
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t", true}})) == InsertOutcome::kStored);
  const std::string generation = currentGeneration(f);
  const auto mismatches = base::metrics::redis_generation_mismatches.value();

  // As if another process had seen another server run (the key is only
  // ever written by the generation script, which this simulates).
  // Each mismatch runs the script again, which writes this run's
  // generation back: set it again before the insert.
  const auto other = [&] {
    REQUIRE(f.server.command({"SET", store::RedisOptions().generation_key, "fedcba9876543210"}).isStatus("OK"));
  };
  other();
  CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  other();
  CHECK(insertNow(f, makeInsert("e:2", "x", {{"v:a", "t", false}})) == InsertOutcome::kVersionChanged);
  CHECK(f.server.command({"EXISTS", "e:2"}).integer == 0);
  CHECK(base::metrics::redis_generation_mismatches.value() >= mismatches + 2);
  CHECK(f.redis_store->breakerState() == store::CircuitBreaker::State::kClosed);

  // Each connection runs the generation script again: this server's run
  // is the one the versions were written in, so they hold again.
  bool learned = false;
  for (int i = 0; i < 20 && !learned; ++i) {
    auto result = lookupNow(f, {"v:a"}, "e:1");
    learned = result.status == StoreStatus::kOk && lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kOk &&
              result.versions[0] == std::optional<std::string>("t");
    if (!learned) runFor(f.loop, 20ms);
  }
  CHECK(learned);
  CHECK(currentGeneration(f) == generation);
}
