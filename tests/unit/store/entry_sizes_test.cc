// Entry sizes (store/redis/entry_sizes.h, issue 13): what a worker expects
// an entry to weigh before reading it, and a RedisStore that sends reads
// of entries it expects to be large a few at a time, against a real
// redis-server.
#include "store/redis/entry_sizes.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "base/metric_catalog.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using store::EntrySizes;

namespace {

// Lookups of `keys`, all started in one loop turn. Returns how many went
// to Redis at once (the others wait inside larder), and checks that each
// found `value`.
size_t sentAtOnce(RedisFixture& f, const std::vector<std::string>& keys, const std::string& value) {
  std::vector<std::optional<cache::LookupResult>> results(keys.size());
  std::vector<cache::Pending> pendings;
  const int64_t before = base::metrics::redis_in_flight.value();
  for (size_t i = 0; i < keys.size(); ++i) {
    pendings.push_back(f.store->lookup({"v:a"}, keys[i], [&results, i](cache::LookupResult&& r) {
      results[i] = std::move(r);
    }));
  }
  const auto sent = static_cast<size_t>(base::metrics::redis_in_flight.value() - before);
  REQUIRE(runUntil(f.loop, [&] {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
  }));
  for (const auto& result : results) {
    CHECK(result->status == cache::StoreStatus::kOk);
    CHECK(result->entry == value);
  }
  return sent;
}

std::vector<std::string> keysNamed(const std::string& prefix, size_t count) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < count; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

}  // namespace

TEST_CASE("entry sizes: a key's last size, rounded up to a power of two; others expect the largest lately") {
  EntrySizes sizes(256 * 1024);
  CHECK(sizes.expected(1) == 256 * 1024);  // nothing read yet: cautious
  sizes.record(1, 1000);
  CHECK(sizes.expected(1) == 1024);
  sizes.record(2, 1024);
  CHECK(sizes.expected(2) == 1024);
  sizes.record(3, 1025);
  CHECK(sizes.expected(3) == 2048);
  // Small reads bring the unknown keys' expectation down, a little each...
  CHECK(sizes.expected(99) < 256 * 1024);
  for (int i = 0; i < 500; ++i) sizes.record(4, 1000);
  CHECK(sizes.expected(99) < 8 * 1024);
  // ...and a large one puts it up at once.
  sizes.record(5, 3 * 1024 * 1024);
  CHECK(sizes.expected(99) == 3 * 1024 * 1024);
  CHECK(sizes.expected(5) == 4 * 1024 * 1024);
  // A key that holds nothing may be filled with anything.
  sizes.record(1, 0);
  CHECK(sizes.expected(1) == sizes.expected(99));
}

TEST_CASE("redis: reads of entries a fresh worker has not read go to Redis a few at a time") {
  RedisFixture f;
  const std::string value(200 * 1024, 'e');
  const std::vector<std::string> keys = keysNamed("e:", 16);
  for (const auto& key : keys) {
    REQUIRE(insertNow(f, makeInsert(key, value, {{"v:a", "t1", key == keys.front()}})) ==
            cache::InsertOutcome::kStored);
  }
  // One per connection at first: each could be as large as a connection's
  // whole budget (store.redis.max_in_flight_bytes). Redis would build all
  // 16 replies (3.2 MB) before sending any.
  CHECK(sentAtOnce(f, keys, value) == 2);
  // Known to be large now: the same.
  CHECK(sentAtOnce(f, keys, value) == 2);
}

TEST_CASE("redis: reads of entries known to be small are not held back") {
  RedisFixture f;
  const std::string value(1000, 's');
  const std::vector<std::string> keys = keysNamed("e:", 16);
  for (const auto& key : keys) {
    REQUIRE(insertNow(f, makeInsert(key, value, {{"v:a", "t1", key == keys.front()}})) ==
            cache::InsertOutcome::kStored);
  }
  for (const auto& key : keys) CHECK(lookupNow(f, {"v:a"}, key).entry == value);
  CHECK(sentAtOnce(f, keys, value) == keys.size());
  // And once enough small entries were read, neither are new keys' reads.
  const std::vector<std::string> others = keysNamed("f:", 300);
  for (const auto& key : others) {
    REQUIRE(insertNow(f, makeInsert(key, value, {{"v:a", "t1", false}})) == cache::InsertOutcome::kStored);
    CHECK(lookupNow(f, {"v:a"}, key).entry == value);
  }
  const std::vector<std::string> fresh = keysNamed("g:", 16);
  for (const auto& key : fresh) {
    REQUIRE(insertNow(f, makeInsert(key, value, {{"v:a", "t1", false}})) == cache::InsertOutcome::kStored);
  }
  CHECK(sentAtOnce(f, fresh, value) == fresh.size());
}
