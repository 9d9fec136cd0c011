// ClusterStore beyond the conformance suite: generations per node and a
// node that goes away and comes back (DESIGN invariants 4 and 5).
#include "store/redis/cluster_store.h"

#include <doctest/doctest.h>

#include "cluster_fixture.h"

using namespace larder;
using namespace larder::store;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;

TEST_CASE("cluster: a version value of another run of the node reads as absent, and an insert replaces it") {
  ClusterFixture f;
  REQUIRE(invalidateNow(f, makeInvalidation({"v:a"}, {"mine"})) == StoreStatus::kOk);
  const std::string value = f.server.command({"GET", "v:a"}).str;
  const std::string generation = value.substr(0, value.find('/'));
  REQUIRE(generation.size() == 16);  // the node's run_id, cut (store/redis/generation.h)
  // As after a restart from a snapshot, or a slot migrated from another
  // node: the tag is not this node's run.
  REQUIRE(f.server.command({"SET", "v:a", "0123456789abcdef/1.mine", "PX", "60000"}).isStatus("OK"));
  auto result = lookupNow(f, {"v:a"}, "");
  CHECK_FALSE(result.versions[0].has_value());
  // An entry that recorded "1.mine" is not stored under it (it would never match).
  CHECK(insertNow(f, makeInsert("e:1", "x", {{"v:a", "1.mine", false}})) == InsertOutcome::kVersionChanged);
  // An insert that saw it absent creates it, tagged with this run.
  CHECK(insertNow(f, makeInsert("e:1", "x", {{"v:a", "+created", true}})) == InsertOutcome::kStored);
  CHECK(f.server.command({"GET", "v:a"}).str == generation + "/+created");
  CHECK(lookupNow(f, {"v:a"}, "e:1").entry == "x");
}

TEST_CASE("cluster: a node that dies is a bypass (kUnavailable), and its restart is picked up") {
  ClusterFixture f;
  REQUIRE(insertNow(f, makeInsert("e:1", "x", {{"v:a", "+t", true}})) == InsertOutcome::kStored);
  f.server.kill();
  auto down = lookupNow(f, {"v:a"}, "e:1");
  CHECK(down.status == StoreStatus::kUnavailable);
  CHECK(invalidateNow(f, makeInvalidation({"v:a"}, {"t2"})) == StoreStatus::kUnavailable);
  CHECK(insertNow(f, makeInsert("e:2", "y", {})) == InsertOutcome::kUnavailable);

  // Back on the same port with its nodes.conf: the same slots, a new run.
  f.server.restart();
  REQUIRE(runUntil(
      f.loop, [&] { return f.server.command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos; },
      5s));
  REQUIRE(runUntil(f.loop, [&] { return f.cluster_store->isReady() && f.store->isAvailable(); }, 5s));
  std::optional<cache::LookupResult> result;
  for (int i = 0; i < 100; ++i) {
    result = lookupNow(f, {"v:a"}, "e:1");
    if (result->status == StoreStatus::kOk) break;
    runFor(f.loop, 20ms);
  }
  CHECK(result->status == StoreStatus::kOk);
  CHECK(insertNow(f, makeInsert("e:2", "y", {})) == InsertOutcome::kStored);
  CHECK(lookupNow(f, {}, "e:2").entry == "y");
}
