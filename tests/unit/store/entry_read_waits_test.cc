// A burst of lookups of one entry key (store/redis/entry_read_waits.h,
// issue 13): against a real redis-server, a large entry's bytes cross once
// and the rest of the burst asks only for its tag; a small or absent one is
// read by every lookup, all at once, as without the waits.
#include <doctest/doctest.h>

#include <algorithm>

#include "base/metric_catalog.h"
#include "cache/entry_codec.h"
#include "cluster_fixture.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::StoreStatus;
using store::LocalCopies;

namespace {

std::string encoded(size_t n, uint64_t tag) {
  cache::Entry entry;
  entry.body.assign(n, 'b');
  entry.ttl = std::chrono::seconds(60);
  entry.tag = tag;
  return cache::encodeEntry(entry);
}

void configureCopies(store::RedisOptions& options) {
  options.local_copies_size = 4 * 1024 * 1024;
  options.local_copies_min_size = 4 * 1024;
}

int64_t commandsOut() { return base::metrics::redis_in_flight.value() + base::metrics::redis_queued.value(); }

// `count` lookups of `key` started in one loop turn, as a burst of clients
// would. Records how many commands they had sent right away and at most
// at once while the loop ran.
template <typename Fixture>
struct Burst {
  std::vector<std::optional<cache::LookupResult>> results;
  std::vector<cache::Pending> pendings;
  int64_t sent_at_once = 0;
  int64_t most_out = 0;

  Burst(Fixture& f, const std::string& key, size_t count) : results(count) {
    const int64_t before = commandsOut();
    for (size_t i = 0; i < count; ++i) {
      pendings.push_back(f.store->lookup({"v:a"}, key, [this, i](cache::LookupResult&& r) {
        results[i] = std::move(r);
      }));
    }
    sent_at_once = commandsOut() - before;
    most_out = sent_at_once;
    REQUIRE(runUntil(f.loop, [&] {
      most_out = std::max(most_out, commandsOut() - before);
      return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    }));
  }
};

}  // namespace

TEST_CASE("redis: a burst of lookups of a large entry reads its bytes once; the rest ask for its tag") {
  RedisFixture f({}, configureCopies);
  const std::string value = encoded(256 * 1024, 71);
  REQUIRE(insertNow(f, makeInsert("e:big", value, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  const int64_t read = base::metrics::redis_bytes_read.value();
  const int64_t hits = base::metrics::redis_local_copy_hits.value();

  Burst<RedisFixture> burst(f, "e:big", 20);
  CHECK(burst.sent_at_once == 1);  // one read; 19 lookups wait for it
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->status == StoreStatus::kOk);
    CHECK(result->entry == value);
    REQUIRE(result->versions.size() == 1);
    CHECK(result->versions[0].has_value());
  }
  // The waiters showed the demand: the bytes are kept from the first read.
  CHECK(f.redis_store->localCopiesForTest().size() == 1);
  CHECK(base::metrics::redis_local_copy_hits.value() - hits == 19);
  CHECK(base::metrics::redis_bytes_read.value() - read < static_cast<int64_t>(value.size()) + 16 * 1024);
}

TEST_CASE("redis: a lookup that waited and was cancelled sends nothing and is never answered") {
  RedisFixture f({}, configureCopies);
  const std::string value = encoded(64 * 1024, 72);
  REQUIRE(insertNow(f, makeInsert("e:big", value, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  const int64_t hits = base::metrics::redis_local_copy_hits.value();
  std::optional<cache::LookupResult> first;
  bool cancelled_answered = false;
  cache::Pending reading =
      f.store->lookup({"v:a"}, "e:big", [&](cache::LookupResult&& r) { first = std::move(r); });
  {
    cache::Pending waiting =
        f.store->lookup({"v:a"}, "e:big", [&](cache::LookupResult&&) { cancelled_answered = true; });
  }
  REQUIRE(runUntil(f.loop, [&] { return first.has_value(); }));
  CHECK(first->entry == value);
  larder::test::runFor(f.loop, std::chrono::milliseconds(50));
  CHECK_FALSE(cancelled_answered);
  CHECK(base::metrics::redis_local_copy_hits.value() == hits);
  CHECK(commandsOut() == 0);
}

TEST_CASE("redis: lookups of a small entry wait at most once, then pipeline as before") {
  RedisFixture f({}, configureCopies);
  const std::string value = encoded(1024, 73);  // under min_size: never kept
  REQUIRE(insertNow(f, makeInsert("e:small", value, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);

  Burst<RedisFixture> first(f, "e:small", 10);
  CHECK(first.sent_at_once == 1);  // not known yet: it might have been large
  CHECK(first.most_out >= 9);      // then the waiters' own reads, together
  Burst<RedisFixture> second(f, "e:small", 10);
  CHECK(second.sent_at_once == 10);  // known small: nobody waits
  for (const auto* burst : {&first, &second}) {
    for (const auto& result : burst->results) {
      REQUIRE(result.has_value());
      CHECK(result->entry == value);
    }
  }
  CHECK(f.redis_store->localCopiesForTest().size() == 0);
}

TEST_CASE("redis: a burst of lookups of an absent entry: the waiters read together, not one after another") {
  RedisFixture f({}, configureCopies);
  Burst<RedisFixture> burst(f, "e:absent", 10);
  CHECK(burst.sent_at_once == 1);
  CHECK(burst.most_out >= 9);
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->status == StoreStatus::kOk);
    CHECK_FALSE(result->entry.has_value());
  }
}

TEST_CASE("redis: when the read waited for fails, its waiters bypass Redis with it, sending nothing") {
  RedisFixture f({}, configureCopies);
  const std::string value = encoded(64 * 1024, 74);
  REQUIRE(insertNow(f, makeInsert("e:big", value, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  f.server.pause();
  const auto start = std::chrono::steady_clock::now();
  Burst<RedisFixture> burst(f, "e:big", 5);
  const auto took = elapsedSince(start);
  f.server.resume();
  CHECK(burst.sent_at_once == 1);
  CHECK(burst.most_out == 1);  // their own reads would pile onto the silent Redis
  CHECK(took < testRedisOptions(0).command_timeout + kSlack);
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->status == StoreStatus::kUnavailable);
  }
}

// The burst after a write: every lookup holds a copy whose tag the key no
// longer ends in, and the new bytes cross once.
template <typename Fixture>
void burstAfterReplace(Fixture& f, const LocalCopies& copies) {
  const std::string first = encoded(128 * 1024, 75);
  REQUIRE(insertNow(f, makeInsert("e:big", first, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  for (int i = 0; i < 2; ++i) CHECK(lookupNow(f, {"v:a"}, "e:big").entry == first);
  REQUIRE(copies.size() == 1);
  const std::string second = encoded(128 * 1024, 76);
  REQUIRE(f.server.command({"SET", "e:big", second, "PX", "60000"}).isStatus("OK"));
  const int64_t read = base::metrics::redis_bytes_read.value();

  Burst<Fixture> burst(f, "e:big", 20);
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->entry == second);
  }
  REQUIRE(copies.size() == 1);
  CHECK(base::metrics::redis_bytes_read.value() - read < static_cast<int64_t>(second.size()) + 16 * 1024);
}

TEST_CASE("redis: after the entry is replaced, a burst of lookups reads the new bytes once") {
  RedisFixture f({}, configureCopies);
  burstAfterReplace(f, f.redis_store->localCopiesForTest());
}

TEST_CASE("redis cluster: a burst of lookups of a large entry reads its bytes once; the rest ask for its tag") {
  ClusterFixture f(configureCopies);
  const std::string value = encoded(256 * 1024, 77);
  REQUIRE(insertNow(f, makeInsert("e:big", value, {{"v:a", "t1", true}})) == cache::InsertOutcome::kStored);
  const int64_t read = base::metrics::redis_bytes_read.value();
  const int64_t hits = base::metrics::redis_local_copy_hits.value();

  Burst<ClusterFixture> burst(f, "e:big", 20);
  CHECK(burst.sent_at_once == 2);  // the version's GET and the entry's, once
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->status == StoreStatus::kOk);
    CHECK(result->entry == value);
  }
  CHECK(f.cluster_store->localCopiesForTest().size() == 1);
  CHECK(base::metrics::redis_local_copy_hits.value() - hits == 19);
  CHECK(base::metrics::redis_bytes_read.value() - read < static_cast<int64_t>(value.size()) + 16 * 1024);
}

TEST_CASE("redis cluster: after the entry is replaced, a burst of lookups reads the new bytes once") {
  ClusterFixture f(configureCopies);
  burstAfterReplace(f, f.cluster_store->localCopiesForTest());
}

TEST_CASE("redis cluster: lookups of an absent entry wait at most once, then read together") {
  ClusterFixture f(configureCopies);
  Burst<ClusterFixture> burst(f, "e:absent", 10);
  CHECK(burst.sent_at_once == 2);
  CHECK(burst.most_out >= 18);
  for (const auto& result : burst.results) {
    REQUIRE(result.has_value());
    CHECK(result->status == StoreStatus::kOk);
    CHECK_FALSE(result->entry.has_value());
  }
}
