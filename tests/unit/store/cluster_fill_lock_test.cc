// ClusterFillLock on a one-master Redis Cluster (fill_lock_fixture.h): what
// only the cluster lock does. What both locks do is in
// fill_lock_conformance_test.cc. Routing over three masters, MOVED and ASK,
// and the whole fleet sending one request are in
// tests/integration/cache_redis_cluster_lock_test.cc.
#include <doctest/doctest.h>

#include <string>

#include "fill_lock_fixture.h"

using namespace larder;
using namespace larder::store::test;
using cache::LockStatus;

TEST_CASE("cluster fill lock: a key without a TTL is held by someone else: wait a whole TTL") {
  ClusterLockFixture f;
  REQUIRE(f.server.command({"SET", kName.key, "not-a-lock"}).isStatus("OK"));
  const cache::LockAttempt held = f.acquireNow(*f.locks[0], kName, "owner", 3s);
  CHECK(held.status == LockStatus::kHeld);
  CHECK(held.remaining == 3s);
  CHECK(f.server.command({"GET", kName.key}).str == "not-a-lock");
}
