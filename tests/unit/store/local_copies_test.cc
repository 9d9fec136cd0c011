// Local copies of large entries (store/redis/local_copies.h, issue 13): the
// bookkeeping alone, then a RedisStore and a ClusterStore that keep them
// against a real redis-server, where every lookup must return exactly what
// Redis holds.
#include "store/redis/local_copies.h"

#include <doctest/doctest.h>

#include "base/metric_catalog.h"
#include "cache/entry_codec.h"
#include "cluster_fixture.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::StoreStatus;
using store::LocalCopies;

namespace {

// The encoding of an entry with an `n`-byte body and `tag` (0: untagged).
std::string encoded(size_t n, uint64_t tag, char fill = 'j') {
  cache::Entry entry;
  entry.body.assign(n, fill);
  entry.ttl = std::chrono::seconds(60);
  entry.tag = tag;
  return cache::encodeEntry(entry);
}

void configureCopies(store::RedisOptions& options) {
  options.local_copies_size = 1024 * 1024;
  options.local_copies_min_size = 4 * 1024;
}

// Stores `value` under `key` (version v:a created with `token`), looks it
// up twice so that `copies` keeps it, then checks that the next lookup is
// answered from the copy: the same bytes, shared, with under 1 KiB read
// from Redis. Returns that lookup.
template <typename Fixture>
cache::LookupResult servedFromCopy(Fixture& f, const LocalCopies& copies, const std::string& key,
                                   const std::string& value, const std::string& token) {
  REQUIRE(insertNow(f, makeInsert(key, value, {{"v:a", token, true}})) == cache::InsertOutcome::kStored);
  for (int i = 0; i < 2; ++i) CHECK(lookupNow(f, {"v:a"}, key).entry == value);
  REQUIRE(copies.size() == 1);

  const int64_t hits = base::metrics::redis_local_copy_hits.value();
  const int64_t read = base::metrics::redis_bytes_read.value();
  cache::LookupResult result = lookupNow(f, {"v:a"}, key);
  CHECK(result.status == StoreStatus::kOk);
  CHECK(result.entry == value);
  REQUIRE(result.versions.size() == 1);
  CHECK(result.versions[0].has_value());
  CHECK(base::metrics::redis_local_copy_hits.value() == hits + 1);
  CHECK(base::metrics::redis_bytes_read.value() - read < 1024);
  // The kept bytes themselves, shared with the lookup: no copy per hit.
  REQUIRE(result.entry.sharedBytes() != nullptr);
  return result;
}

}  // namespace

TEST_CASE("local copies: admitted on the second sighting or a waited-for first, large and tagged only") {
  LocalCopies copies(1024 * 1024, 4096);
  const std::string big = encoded(8192, 11);
  copies.offer(1, big);
  CHECK(copies.find(1) == nullptr);  // seen once
  copies.offer(1, big);
  REQUIRE(copies.find(1) != nullptr);
  CHECK(*copies.find(1) == big);
  CHECK(copies.bytes() == big.size());

  copies.offer(2, encoded(1000, 12));  // under min_size
  copies.offer(2, encoded(1000, 12));
  CHECK(copies.find(2) == nullptr);
  copies.offer(3, encoded(8192, 0));  // untagged: nothing can ask after it
  copies.offer(3, encoded(8192, 0));
  CHECK(copies.find(3) == nullptr);
  copies.offer(4, std::string(8192, 'x'));  // not an entry at all
  copies.offer(4, std::string(8192, 'x'));
  CHECK(copies.find(4) == nullptr);
  CHECK(copies.size() == 1);

  // A first sighting others waited for is admitted at once.
  copies.offer(5, encoded(8192, 15), true);
  CHECK(copies.find(5) != nullptr);
  CHECK(copies.size() == 2);
  // Reads of unfit bytes mark the key as not worth waiting for; fit ones
  // clear that.
  CHECK(copies.mayKeep(6));        // never read
  CHECK_FALSE(copies.mayKeep(2));  // too small
  CHECK_FALSE(copies.mayKeep(3));  // untagged
  copies.offer(2, encoded(8192, 12));
  CHECK(copies.mayKeep(2));

  LocalCopies off(0, 4096);
  off.offer(1, big);
  off.offer(1, big);
  CHECK(off.find(1) == nullptr);
  CHECK_FALSE(off.isEnabled());
}

TEST_CASE("local copies: other bytes replace a copy, unfit ones drop it, the same ones keep it") {
  LocalCopies copies(1024 * 1024, 4096);
  const std::string first = encoded(8192, 21);
  copies.offer(7, first);
  copies.offer(7, first);
  LocalCopies::Bytes kept = copies.find(7);
  REQUIRE(kept != nullptr);
  copies.offer(7, first);
  CHECK(copies.find(7) == kept);  // the same bytes: not copied again

  const std::string second = encoded(9000, 22);
  copies.offer(7, second);  // the key's bytes changed: replaced at once
  REQUIRE(copies.find(7) != nullptr);
  CHECK(*copies.find(7) == second);
  CHECK(*kept == first);  // a lookup holding the old copy still has it whole
  CHECK(copies.bytes() == second.size());

  copies.offer(7, encoded(8192, 0));
  CHECK(copies.find(7) == nullptr);
  CHECK(copies.bytes() == 0);
  copies.offer(8, second);
  copies.offer(8, second);
  copies.drop(8);
  CHECK(copies.find(8) == nullptr);
  CHECK(copies.size() == 0);
}

TEST_CASE("local copies: bounded in bytes, least recently used out; the gauge follows") {
  const int64_t gauge_before = base::metrics::redis_local_copy_bytes.value();
  {
    const std::string one = encoded(10000, 31);
    LocalCopies copies(3 * one.size(), 4096);
    for (uint64_t key = 1; key <= 3; ++key) {
      copies.offer(key, encoded(10000, 30 + key));
      copies.offer(key, encoded(10000, 30 + key));
    }
    CHECK(copies.size() == 3);
    CHECK(copies.find(1) != nullptr);  // 1 is now the most recent; 2 the least
    copies.offer(4, encoded(10000, 34));
    copies.offer(4, encoded(10000, 34));
    CHECK(copies.size() == 3);
    CHECK(copies.find(2) == nullptr);
    CHECK(copies.find(1) != nullptr);
    CHECK(copies.find(4) != nullptr);
    CHECK(copies.bytes() <= 3 * one.size());
    CHECK(base::metrics::redis_local_copy_bytes.value() - gauge_before ==
          static_cast<int64_t>(copies.bytes()));
    // Larger than the whole bound: never kept.
    copies.offer(9, encoded(40000, 39));
    copies.offer(9, encoded(40000, 39));
    CHECK(copies.find(9) == nullptr);
  }
  CHECK(base::metrics::redis_local_copy_bytes.value() == gauge_before);
}

TEST_CASE("redis: a kept copy answers a lookup; Redis sends its tag's verdict, not the bytes") {
  RedisFixture f({}, configureCopies);
  auto result = servedFromCopy(f, f.redis_store->localCopiesForTest(), "e:big", encoded(64 * 1024, 41), "t1");
  CHECK(lookupNow(f, {"v:a"}, "e:big").entry.sharedBytes() == result.entry.sharedBytes());
}

TEST_CASE("redis: with a copy kept, a lookup still returns exactly what Redis holds") {
  RedisFixture f({}, configureCopies);
  const std::string first = encoded(20000, 51);
  REQUIRE(insertNow(f, makeInsert("e:1", first, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  lookupNow(f, {"v:a"}, "e:1");
  lookupNow(f, {"v:a"}, "e:1");
  REQUIRE(f.redis_store->localCopiesForTest().size() == 1);
  const std::string generation = f.server.command({"GET", store::RedisOptions().generation_key}).str;

  SUBCASE("the versions are read in the same step") {
    // Another instance's write: the copy is still the entry, the version is new.
    REQUIRE(f.server.command({"SET", "v:a", generation + "/written", "PX", "60000"}).isStatus("OK"));
    auto result = lookupNow(f, {"v:a"}, "e:1");
    CHECK(result.entry == first);
    CHECK(result.versions[0] == "written");
  }
  SUBCASE("replaced by other bytes: those, and they become the copy") {
    const std::string second = encoded(20000, 52, 'k');
    REQUIRE(f.server.command({"SET", "e:1", second, "PX", "60000"}).isStatus("OK"));
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == second);
    const int64_t hits = base::metrics::redis_local_copy_hits.value();
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == second);
    CHECK(base::metrics::redis_local_copy_hits.value() == hits + 1);
  }
  SUBCASE("replaced by bytes with no tag: those, and the copy is dropped") {
    const std::string untagged = encoded(20000, 0, 'u');
    REQUIRE(f.server.command({"SET", "e:1", untagged, "PX", "60000"}).isStatus("OK"));
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == untagged);
    CHECK(f.redis_store->localCopiesForTest().size() == 0);
  }
  SUBCASE("removed, expired or evicted: a miss, and the copy is dropped") {
    REQUIRE(f.server.command({"DEL", "e:1"}).integer == 1);
    auto result = lookupNow(f, {"v:a"}, "e:1");
    CHECK(result.status == StoreStatus::kOk);
    CHECK_FALSE(result.entry.has_value());
    CHECK(f.redis_store->localCopiesForTest().size() == 0);
  }
  SUBCASE("a key of another type reads as absent, as MGET reads it") {
    REQUIRE(f.server.command({"DEL", "e:1"}).integer == 1);
    REQUIRE(f.server.command({"HSET", "e:1", "f", "x"}).integer == 1);
    auto result = lookupNow(f, {"v:a"}, "e:1");
    CHECK(result.status == StoreStatus::kOk);
    CHECK_FALSE(result.entry.has_value());
    CHECK(f.store->isAvailable());
  }
  SUBCASE("a version key of another type reads as absent, as MGET reads it") {
    REQUIRE(f.server.command({"DEL", "v:a"}).integer == 1);
    REQUIRE(f.server.command({"LPUSH", "v:a", "x"}).integer == 1);
    auto result = lookupNow(f, {"v:a"}, "e:1");
    CHECK(result.status == StoreStatus::kOk);
    CHECK(result.entry == first);
    REQUIRE(result.versions.size() == 1);
    CHECK_FALSE(result.versions[0].has_value());
  }
  SUBCASE("a copy lookup runs no script: SCRIPT FLUSH changes nothing") {
    REQUIRE(f.server.command({"SCRIPT", "FLUSH"}).isStatus("OK"));
    const int64_t hits = base::metrics::redis_local_copy_hits.value();
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == first);
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == first);
    CHECK(base::metrics::redis_local_copy_hits.value() == hits + 2);
  }
  SUBCASE("another generation: unavailable, as without a copy") {
    REQUIRE(f.server.command({"SET", store::RedisOptions().generation_key, "other", "PX", "60000"})
                .isStatus("OK"));
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  }
  SUBCASE("Redis gone: unavailable, never the copy") {
    f.server.kill();
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  }
  SUBCASE("Redis stopped: unavailable within the timeout, never the copy") {
    f.server.pause();
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
    f.server.resume();
  }
  SUBCASE("a purge (remove) drops the copy as well as the key") {
    CHECK(removeNow(f, {"e:1"}) == StoreStatus::kOk);
    CHECK(f.redis_store->localCopiesForTest().size() == 0);
    CHECK_FALSE(lookupNow(f, {"v:a"}, "e:1").entry.has_value());
  }
}

TEST_CASE("redis cluster: a kept copy answers a lookup by its tag, and never outlives what the node holds") {
  ClusterFixture f(configureCopies);
  const std::string first = encoded(64 * 1024, 61);
  auto result = servedFromCopy(f, f.cluster_store->localCopiesForTest(), "e:1", first, "+t1");
  CHECK(result.versions[0] == "+t1");

  SUBCASE("the versions are read as they are now") {
    REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"written"})) == StoreStatus::kOk);
    auto after = lookupNow(f, {"v:a"}, "e:1");
    CHECK(after.entry == first);
    CHECK(after.versions[0] != "+t1");
  }
  SUBCASE("replaced by other bytes: those, and they become the copy") {
    const std::string second = encoded(64 * 1024, 62, 'k');
    REQUIRE(f.server.command({"SET", "e:1", second, "PX", "60000"}).isStatus("OK"));
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == second);
    const int64_t before = base::metrics::redis_local_copy_hits.value();
    CHECK(lookupNow(f, {"v:a"}, "e:1").entry == second);
    CHECK(base::metrics::redis_local_copy_hits.value() == before + 1);
  }
  SUBCASE("removed, expired or evicted: a miss, and the copy is dropped") {
    REQUIRE(f.server.command({"DEL", "e:1"}).integer == 1);
    auto after = lookupNow(f, {"v:a"}, "e:1");
    CHECK(after.status == StoreStatus::kOk);
    CHECK_FALSE(after.entry.has_value());
    CHECK(f.cluster_store->localCopiesForTest().size() == 0);
  }
  SUBCASE("a purge (remove) drops the copy as well as the key") {
    CHECK(removeNow(f, {"e:1"}) == StoreStatus::kOk);
    CHECK(f.cluster_store->localCopiesForTest().size() == 0);
    CHECK_FALSE(lookupNow(f, {"v:a"}, "e:1").entry.has_value());
  }
  SUBCASE("the node gone: unavailable, never the copy") {
    f.server.kill();
    CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  }
}
