// The Store conformance suite (STYLE T3): the same behaviour, checked against
// MemoryStore, RedisStore on a real redis-server, and ClusterStore on a
// real one-master Redis Cluster.
#include <doctest/doctest.h>

#include <type_traits>

#include "cache/versioned_insert.h"
#include "cluster_fixture.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;
using cache::VersionExpectation;

#define STORES MemoryFixture, RedisFixture, ClusterFixture

// A cluster store checks each version key on its own node (ClusterStore::
// insert): a refused insert may have created some. It never writes a
// token but the insert's own created one, and no entry records it.
template <typename F>
constexpr bool kAtomicInsert = !std::is_same_v<F, ClusterFixture>;

TEST_CASE_TEMPLATE("lookup of absent keys finds no versions and no entry", F, STORES) {
  F f;
  auto result = lookupNow(f, {"v:a", "v:b"}, "e:1");
  CHECK(result.status == StoreStatus::kOk);
  REQUIRE(result.versions.size() == 2);
  CHECK_FALSE(result.versions[0].has_value());
  CHECK_FALSE(result.versions[1].has_value());
  CHECK_FALSE(result.entry.has_value());

  auto no_versions = lookupNow(f, {}, "e:1");
  CHECK(no_versions.status == StoreStatus::kOk);
  CHECK(no_versions.versions.empty());
  CHECK_FALSE(no_versions.entry.has_value());
}

TEST_CASE_TEMPLATE("insert creating versions, then lookup returns the entry and its versions", F,
                   STORES) {
  F f;
  auto miss = lookupNow(f, {"v:a", "v:b"}, "e:1");
  REQUIRE_FALSE(miss.versions[0].has_value());

  auto outcome =
      insertNow(f, makeInsert("e:1", "body-1", {{"v:a", "tok-a", true}, {"v:b", "tok-b", true}}));
  CHECK(outcome == InsertOutcome::kStored);

  auto hit = lookupNow(f, {"v:a", "v:b"}, "e:1");
  CHECK(hit.status == StoreStatus::kOk);
  CHECK(hit.versions[0] == "tok-a");
  CHECK(hit.versions[1] == "tok-b");
  CHECK(hit.entry == "body-1");

  // A second entry recorded under the versions now present.
  outcome = insertNow(f, makeInsert("e:2", "body-2", {{"v:a", "tok-a", false}}));
  CHECK(outcome == InsertOutcome::kStored);
  CHECK(lookupNow(f, {"v:a"}, "e:2").entry == "body-2");
}

TEST_CASE_TEMPLATE("values and keys are binary-safe", F, STORES) {
  F f;
  const std::string key("e:\0\r\n bin", 9);
  const std::string value("a\0b\r\n$3\r\n\xff", 11);
  const std::string token("t\0k", 3);
  CHECK(insertNow(f, makeInsert(key, value, {{"v:\n", token, true}})) == InsertOutcome::kStored);
  auto hit = lookupNow(f, {"v:\n"}, key);
  CHECK(hit.versions[0] == token);
  CHECK(hit.entry == value);
}

TEST_CASE_TEMPLATE("insert is refused when a version was invalidated after the lookup", F, STORES) {
  F f;
  REQUIRE(insertNow(f, makeInsert("e:1", "old", {{"v:a", "tok-1", true}})) ==
          InsertOutcome::kStored);
  auto seen = lookupNow(f, {"v:a"}, "e:2");
  REQUIRE(seen.versions[0] == "tok-1");

  // A write invalidates while the fetch for e:2 is in flight (DESIGN invariant 3).
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"tok-2"})) == StoreStatus::kOk);

  CHECK(insertNow(f, makeInsert("e:2", "stale", {{"v:a", "tok-1", false}})) ==
        InsertOutcome::kVersionChanged);
  auto after = lookupNow(f, {"v:a"}, "e:2");
  CHECK(writtenToken(after.versions[0]) == "tok-2");
  CHECK_FALSE(after.entry.has_value());
}

TEST_CASE_TEMPLATE("insert is refused when an expected-absent version key appeared", F, STORES) {
  F f;
  auto seen = lookupNow(f, {"v:a", "v:b"}, "e:1");
  REQUIRE_FALSE(seen.versions[0].has_value());
  REQUIRE(invalidateNow(f, makeInvalidation({"v:b"}, {"fresh"})) == StoreStatus::kOk);

  CHECK(insertNow(f,
                  makeInsert("e:1", "stale", {{"v:a", "mine-a", true}, {"v:b", "mine-b", true}})) ==
        InsertOutcome::kVersionChanged);
  // Nothing at all was written, not even the first version key (on a
  // cluster: at most the insert's own created token).
  auto after = lookupNow(f, {"v:a", "v:b"}, "e:1");
  if (kAtomicInsert<F>) {
    CHECK_FALSE(after.versions[0].has_value());
  } else {
    CHECK((!after.versions[0].has_value() || after.versions[0] == "mine-a"));
  }
  CHECK(writtenToken(after.versions[1]) == "fresh");
  CHECK_FALSE(after.entry.has_value());
}

TEST_CASE_TEMPLATE("invalidate writes fresh tokens that lookup then returns", F, STORES) {
  F f;
  REQUIRE(
      insertNow(f, makeInsert("e:1", "body", {{"v:a", "tok-1", true}, {"v:b", "tok-1", true}})) ==
      InsertOutcome::kStored);
  CHECK(invalidateNow(f, makeInvalidation({"v:a", "v:b"}, {"tok-2a", "tok-2b"})) ==
        StoreStatus::kOk);
  auto result = lookupNow(f, {"v:a", "v:b"}, "e:1");
  CHECK(writtenToken(result.versions[0]) == "tok-2a");
  CHECK(writtenToken(result.versions[1]) == "tok-2b");
  // The entry is still there; it is cache/'s job to see its tokens differ.
  CHECK(result.entry == "body");

  CHECK(invalidateNow(f, makeInvalidation({}, {})) == StoreStatus::kOk);
}

TEST_CASE_TEMPLATE("remove deletes the keys it names and nothing else", F, STORES) {
  F f;
  REQUIRE(insertNow(f, makeInsert("e:1", "one", {})) == InsertOutcome::kStored);
  REQUIRE(insertNow(f, makeInsert("e:2", "two", {})) == InsertOutcome::kStored);
  CHECK(removeNow(f, {"e:1", "e:absent"}) == StoreStatus::kOk);
  CHECK_FALSE(lookupNow(f, {}, "e:1").entry.has_value());
  CHECK(lookupNow(f, {}, "e:2").entry == "two");
  CHECK(removeNow(f, {}) == StoreStatus::kOk);
}

TEST_CASE_TEMPLATE("a Pending destroyed before completion never calls back", F, STORES) {
  F f;
  int calls = 0;
  {
    cache::Pending lookup =
        f.store->lookup({"v:a"}, "e:1", [&](cache::LookupResult&&) { ++calls; });
    cache::Pending invalidate =
        f.store->invalidate(makeInvalidation({"v:a"}, {"t"}), [&](cache::StoreStatus) { ++calls; });
    cache::Pending remove = f.store->remove({"e:1"}, [&](cache::StoreStatus) { ++calls; });
    CHECK(lookup.isActive());
  }
  // The operations still complete; a later one proves they were processed
  // (a cluster's invalidation takes two steps, epoch then versions, so a
  // lookup sent after it may overtake it: it is looked for a while).
  auto after = lookupNow(f, {"v:a"}, "e:1");
  for (int i = 0; i < 100 && writtenToken(after.versions[0]) != "t"; ++i) {
    runFor(f.loop, 10ms);
    after = lookupNow(f, {"v:a"}, "e:1");
  }
  CHECK(calls == 0);
  CHECK(writtenToken(after.versions[0]) == "t");

  // Cancelling explicitly behaves the same.
  cache::Pending pending = f.store->lookup({}, "e:1", [&](cache::LookupResult&&) { ++calls; });
  pending.cancel();
  CHECK_FALSE(pending.isActive());
  lookupNow(f, {}, "e:1");
  CHECK(calls == 0);
}

TEST_CASE_TEMPLATE("destroying the store with operations in flight drops their callbacks", F,
                   STORES) {
  F f;
  int calls = 0;
  cache::Pending lookup = f.store->lookup({"v:a"}, "e:1", [&](cache::LookupResult&&) { ++calls; });
  f.store->insert(makeInsert("e:1", "x", {}), [&](cache::InsertOutcome) { ++calls; });
  f.store.reset();
  runFor(f.loop, 50ms);
  CHECK(calls == 0);
}

TEST_CASE_TEMPLATE("a store may be destroyed from inside its own callback", F, STORES) {
  F f;
  bool called = false;
  cache::Pending pending = f.store->lookup({}, "e:1", [&](cache::LookupResult&&) {
    called = true;
    f.store.reset();
  });
  REQUIRE(runUntil(f.loop, [&] { return called; }));
  runFor(f.loop, 20ms);
  CHECK(f.store == nullptr);
}

TEST_CASE_TEMPLATE("every key written carries a TTL", F, STORES) {
  F f;
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t1", true}, {"v:b", "t1", true}})) ==
          InsertOutcome::kStored);
  REQUIRE(insertNow(f, makeInsert("e:2", "body", {{"v:a", "t1", false}})) ==
          InsertOutcome::kStored);
  REQUIRE(invalidateNow(f, makeInvalidation({"v:b", "v:c"}, {"t2", "t2"})) == StoreStatus::kOk);
  f.expectEveryKeyExpires({"e:1", "e:2", "v:a", "v:b", "v:c", "epoch"});
}

TEST_CASE_TEMPLATE("writes without a TTL are refused and write nothing", F, STORES) {
  F f;
  auto request = makeInsert("e:1", "body", {});
  request.ttl = std::chrono::milliseconds(0);
  CHECK(insertNow(f, request) == InsertOutcome::kUnavailable);
  CHECK_FALSE(lookupNow(f, {}, "e:1").entry.has_value());

  auto invalidation = makeInvalidation({"v:a"}, {"t"});
  invalidation.version_ttl = std::chrono::milliseconds(0);
  CHECK(invalidateNow(f, invalidation) == StoreStatus::kUnavailable);
  CHECK(invalidateNow(f, makeInvalidation({"v:a", "v:b"}, {"t"})) == StoreStatus::kUnavailable);
  CHECK_FALSE(lookupNow(f, {"v:a"}, "e:1").versions[0].has_value());
}

TEST_CASE_TEMPLATE("a lookup with an empty entry key reads the versions only", F, STORES) {
  F f;
  REQUIRE(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t1", true}})) == InsertOutcome::kStored);
  auto result = lookupNow(f, {"v:a", "v:b"}, "");
  CHECK(result.status == StoreStatus::kOk);
  CHECK(result.versions == std::vector<std::optional<std::string>>{"t1", std::nullopt});
  CHECK_FALSE(result.entry.has_value());
  CHECK(lookupNow(f, {}, "").status == StoreStatus::kOk);
}

TEST_CASE_TEMPLATE("invalidate advances the epoch key and stamps each token with it, atomically", F,
                   STORES) {
  F f;
  CHECK_FALSE(lookupNow(f, {"epoch"}, "").versions[0].has_value());
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a", "v:b"}, {"ta", "tb"})) == StoreStatus::kOk);
  auto first = lookupNow(f, {"epoch", "v:a", "v:b"}, "");
  std::optional<uint64_t> epoch = cache::parseEpoch(first.versions[0]);
  REQUIRE(epoch.has_value());
  CHECK(*epoch > 0);
  // One epoch for the whole invalidation, and it is the epoch key's value.
  CHECK(cache::tokenEpoch(*first.versions[1]) == epoch);
  CHECK(cache::tokenEpoch(*first.versions[2]) == epoch);
  CHECK(writtenToken(first.versions[1]) == "ta");

  // A lookup that saw this epoch tells a later write apart (cache/versioned_insert.h).
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"ta2"})) == StoreStatus::kOk);
  auto second = lookupNow(f, {"epoch", "v:a", "v:b"}, "");
  std::optional<uint64_t> later = cache::parseEpoch(second.versions[0]);
  REQUIRE(later.has_value());
  CHECK(*later > *epoch);
  CHECK(cache::tokenEpoch(*second.versions[1]) == later);
  CHECK(second.versions[2] == first.versions[2]);  // untouched
}

TEST_CASE_TEMPLATE("the epoch only rises: past a value ahead of the clock, and never below it", F, STORES) {
  F f;
  // An epoch key ahead of this store's clock (another clock wrote it).
  const uint64_t ahead = 8'000'000'000'000'000;
  REQUIRE(insertNow(f, makeInsert("e:1", "x", {{"epoch", std::to_string(ahead), true}})) ==
          InsertOutcome::kStored);
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"t"})) == StoreStatus::kOk);
  auto result = lookupNow(f, {"epoch", "v:a"}, "");
  CHECK(cache::parseEpoch(result.versions[0]) == ahead + 1);
  CHECK(cache::tokenEpoch(*result.versions[1]) == ahead + 1);
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"t"})) == StoreStatus::kOk);
  CHECK(cache::parseEpoch(lookupNow(f, {"epoch"}, "").versions[0]) == ahead + 2);

  // Evicted (here: removed), it restarts from the clock, not from 0.
  REQUIRE(removeNow(f, {"epoch"}) == StoreStatus::kOk);
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"t"})) == StoreStatus::kOk);
  auto restarted = cache::parseEpoch(lookupNow(f, {"epoch"}, "").versions[0]);
  REQUIRE(restarted.has_value());
  CHECK(*restarted > 1'000'000'000);
}

TEST_CASE_TEMPLATE("an invalidation without an epoch key is refused and writes nothing", F, STORES) {
  F f;
  auto invalidation = makeInvalidation({"v:a"}, {"t"});
  invalidation.epoch_key.clear();
  CHECK(invalidateNow(f, invalidation) == StoreStatus::kUnavailable);
  CHECK_FALSE(lookupNow(f, {"v:a"}, "").versions[0].has_value());
}

#undef STORES  // a unity batch goes on with the next file
