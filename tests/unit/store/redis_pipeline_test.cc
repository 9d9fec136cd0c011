// Replies read in bulk (store/redis/libuv_attach.cc hands hiredis one whole
// reply at a time, and large strings point into its buffer): many pipelined
// lookups of entries of every size each get their own bytes, intact.
#include <doctest/doctest.h>

#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;

namespace {

std::string patterned(size_t size, int seed) {
  std::string value(size, '\0');
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return value;
}

}  // namespace

TEST_CASE("redis: pipelined lookups of entries of many sizes each get their own entry, intact") {
  // One connection: every lookup of a turn shares one pipeline and its
  // replies arrive together, split across reads wherever the socket splits them.
  RedisFixture f({}, [](store::RedisOptions& options) {
    options.connections = 1;
    options.max_in_flight = 64;
    options.max_in_flight_bytes = 4 * 1024 * 1024;
    options.command_timeout = 2000ms;
  });
  const std::vector<size_t> sizes = {1, 17, 255, 256, 257, 1000, 1023, 1024, 1025, 4096, 65536, 70001, 300000};
  for (size_t i = 0; i < sizes.size(); ++i) {
    REQUIRE(insertNow(f, makeInsert("e:" + std::to_string(i), patterned(sizes[i], static_cast<int>(i)),
                                    {{"v:" + std::to_string(i % 3), "t" + std::to_string(i % 3), i < 3}})) ==
            InsertOutcome::kStored);
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<std::optional<cache::LookupResult>> results(sizes.size() * 2);
    std::vector<cache::Pending> pending;
    for (size_t n = 0; n < results.size(); ++n) {
      const size_t i = (n * 5 + static_cast<size_t>(round)) % sizes.size();
      std::vector<std::string> versions;
      if (n % 2 == 0) versions = {"v:" + std::to_string(i % 3), "v:absent"};
      pending.push_back(f.store->lookup(std::move(versions), "e:" + std::to_string(i),
                                        [&results, n](cache::LookupResult&& r) { results[n] = std::move(r); }));
    }
    REQUIRE(runUntil(f.loop, [&] {
      return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    }));
    for (size_t n = 0; n < results.size(); ++n) {
      const size_t i = (n * 5 + static_cast<size_t>(round)) % sizes.size();
      INFO("lookup " << n << " of entry " << i << " (" << sizes[i] << " bytes)");
      const cache::LookupResult& r = *results[n];
      REQUIRE(r.status == StoreStatus::kOk);
      REQUIRE(r.entry.has_value());
      CHECK(*r.entry == patterned(sizes[i], static_cast<int>(i)));
      if (n % 2 == 0) {
        REQUIRE(r.versions.size() == 2);
        CHECK(r.versions[0] == std::optional<std::string>("t" + std::to_string(i % 3)));
        CHECK_FALSE(r.versions[1].has_value());
      } else {
        CHECK(r.versions.empty());
      }
    }
  }
}

TEST_CASE("redis: commands larger than the socket takes at once are written in full") {
  // Commands are written at the end of the loop phase without asking for
  // write interest (libuv_attach.cc); a socket that takes only part of them
  // gets write interest for the rest.
  RedisFixture f({}, [](store::RedisOptions& options) {
    options.connections = 1;
    options.command_timeout = 5000ms;
  });
  constexpr int kEntries = 4;
  std::vector<std::optional<InsertOutcome>> outcomes(kEntries);
  for (int i = 0; i < kEntries; ++i) {
    f.store->insert(makeInsert("big:" + std::to_string(i), patterned(3 * 1024 * 1024, i), {}),
                    [&outcomes, i](InsertOutcome outcome) { outcomes[i] = outcome; });
  }
  REQUIRE(runUntil(
      f.loop, [&] { return std::all_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.has_value(); }); },
      20s));
  for (int i = 0; i < kEntries; ++i) {
    CHECK(outcomes[i] == InsertOutcome::kStored);
    const cache::LookupResult read = lookupNow(f, {}, "big:" + std::to_string(i));
    REQUIRE(read.entry.has_value());
    CHECK(*read.entry == patterned(3 * 1024 * 1024, i));
  }
}
