// Soft invalidations (cache/soft_purge.h) in both stores: the Lua script
// and the memory backend write the same chain, read and written atomically.
#include <doctest/doctest.h>

#include "cache/soft_purge.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using cache::StoreStatus;

#define STORES MemoryFixture, RedisFixture

namespace {

cache::Invalidation soft(std::vector<std::string> keys, std::vector<std::string> tokens) {
  cache::Invalidation invalidation = makeInvalidation(std::move(keys), std::move(tokens));
  invalidation.soft = true;
  return invalidation;
}

std::string valueOf(MemoryFixture& f, const std::string& key) { return *lookupNow(f, {key}, "").versions[0]; }
std::string valueOf(RedisFixture& f, const std::string& key) { return *lookupNow(f, {key}, "").versions[0]; }

}  // namespace

TEST_CASE_TEMPLATE("a soft invalidation lists the heads it superseded; a hard one lists none", F, STORES) {
  F f;
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"hard1"})) == StoreStatus::kOk);
  const std::string first = valueOf(f, "v:a");
  REQUIRE(invalidateNow(f, soft({"v:a"}, {"s1@1000"})) == StoreStatus::kOk);
  const std::string second = valueOf(f, "v:a");
  CHECK(writtenToken(second.substr(0, second.find('~'))) == "s1@1000");
  CHECK(second.substr(second.find('~') + 1) == first);
  CHECK(cache::softlySupersededAt(first, second) == base::WallTime(std::chrono::milliseconds(1000)));

  REQUIRE(invalidateNow(f, soft({"v:a"}, {"s2@2000"})) == StoreStatus::kOk);
  const std::string third = valueOf(f, "v:a");
  CHECK(cache::softlySupersededAt(first, third) == base::WallTime(std::chrono::milliseconds(1000)));
  CHECK(cache::softlySupersededAt(second, third) == base::WallTime(std::chrono::milliseconds(2000)));

  // A write's invalidation: hard, nothing before it is listed (DESIGN invariant 3).
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"hard2"})) == StoreStatus::kOk);
  const std::string fourth = valueOf(f, "v:a");
  CHECK(fourth.find('~') == std::string::npos);
  CHECK_FALSE(cache::softlySupersededAt(third, fourth));
  CHECK_FALSE(cache::softlySupersededAt(first, fourth));
}

TEST_CASE_TEMPLATE("a soft chain is cut to kSoftChainLength heads; an absent key gets a bare head", F, STORES) {
  F f;
  REQUIRE(invalidateNow(f, soft({"v:b"}, {"s@1"})) == StoreStatus::kOk);
  CHECK(valueOf(f, "v:b").find('~') == std::string::npos);
  for (int i = 0; i < 20; ++i) REQUIRE(invalidateNow(f, soft({"v:b"}, {"s@2"})) == StoreStatus::kOk);
  const std::string value = valueOf(f, "v:b");
  CHECK(static_cast<size_t>(std::count(value.begin(), value.end(), '~')) == cache::kSoftChainLength - 1);
}

#undef STORES  // a unity batch goes on with the next file
