// cache::StoreDecisions: the bounded memo of the last store decision per
// entry key that `larder explain` reports.
#include "cache/store_decisions.h"

#include <doctest/doctest.h>

#include <string>

using namespace larder;
using namespace larder::cache;

TEST_CASE("the last decision per key is kept, a later one replaces it") {
  StoreDecisions decisions(8);
  const base::WallTime t0 = base::WallClock::now();
  CHECK_FALSE(decisions.find("v1:e:a"));
  decisions.remember("v1:e:a", false, "private", 200, t0);
  auto found = decisions.find("v1:e:a");
  REQUIRE(found);
  CHECK_FALSE(found->stored);
  CHECK(found->reason == "private");
  CHECK(found->status == 200);
  CHECK(found->at == t0);
  decisions.remember("v1:e:a", true, "stored", 200, t0 + std::chrono::seconds(1));
  found = decisions.find("v1:e:a");
  REQUIRE(found);
  CHECK(found->stored);
  CHECK(found->reason == "stored");
  CHECK(decisions.size() == 1);
}

TEST_CASE("bounded: the least recently decided key is forgotten first") {
  StoreDecisions decisions(3);
  const base::WallTime now = base::WallClock::now();
  decisions.remember("a", true, "stored", 200, now);
  decisions.remember("b", true, "stored", 200, now);
  decisions.remember("c", true, "stored", 200, now);
  decisions.remember("a", false, "status", 500, now);  // a is recent again
  decisions.remember("d", true, "stored", 200, now);   // evicts b
  CHECK(decisions.size() == 3);
  CHECK(decisions.find("a"));
  CHECK_FALSE(decisions.find("b"));
  CHECK(decisions.find("c"));
  CHECK(decisions.find("d"));
  for (int i = 0; i < 100; ++i) decisions.remember(std::to_string(i) + "-k", true, "stored", 200, now);
  CHECK(decisions.size() == 3);
}

TEST_CASE("the process's memo has the documented capacity, and the hook marks only \"stored\" as stored") {
  StoreDecisions zero(0);  // a capacity of 0 still keeps the last one
  zero.remember("x", true, "stored", 200, base::WallClock::now());
  CHECK(zero.find("x"));
  rememberStoreDecision("explain-test:stored", "stored", 200);
  rememberStoreDecision("explain-test:refused", "no_store", 200);
  REQUIRE(storeDecisions().find("explain-test:stored"));
  CHECK(storeDecisions().find("explain-test:stored")->stored);
  REQUIRE(storeDecisions().find("explain-test:refused"));
  CHECK_FALSE(storeDecisions().find("explain-test:refused")->stored);
  CHECK(StoreDecisions::kCapacity == 4096);
}
