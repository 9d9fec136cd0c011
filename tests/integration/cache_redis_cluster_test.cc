// store.redis.cluster (issue 16, item 2) against a real 3-master Redis
// Cluster (cluster_support.h): hits from the cluster with the keys of one
// entry spread over the masters; read-your-writes between two larder
// instances (DESIGN invariant 3); and a slot resharded under traffic, ASK
// then MOVED, followed without an error reaching a client (invariant 5);
// and invalidation notices for the in-process tier across nodes.
#include <chrono>
#include <set>
#include <string>

#include "cache_support.h"
#include "cluster_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

struct ClusterLarders {
  explicit ClusterLarders(int instances) {
    upstream.setHandler(numberedAnswers({{"Content-Type", "text/plain"}}));
    for (int i = 0; i < instances; ++i)
      larders.push_back(std::make_unique<LarderProcess>(
          proxyConfig(upstream.port(), clusterSections(cluster.seeds()) + std::string(kCacheRoutes))));
  }

  // A product id whose namespace key lives on another master than
  // "v1:ns:products", so that one entry's versions span two nodes.
  std::string spreadProduct() {
    const size_t products = cluster.ownerOf(cluster.slotOf("v1:ns:products"));
    for (int id = 1; id < 100; ++id)
      if (cluster.ownerOf(cluster.slotOf(fmt::format("v1:ns:product:{}", id))) != products) return std::to_string(id);
    FAIL("no product id on another master");
    return "";
  }

  RedisCluster cluster;
  FakeUpstream upstream;
  std::vector<std::unique_ptr<LarderProcess>> larders;
};

TEST_CASE("cluster: hits are served, and one entry's keys are spread over several masters") {
  ClusterLarders f(1);
  HttpClient client(f.larders[0]->port());
  const std::string id = f.spreadProduct();
  const std::string target = "/api/products/" + id;
  warmUntilHit(client, target);
  const int upstream_before = f.upstream.requestCount();
  for (int i = 0; i < 5; ++i) {
    HttpResponse hit = mustGet(client, target);
    CHECK(hit.status == 200);
    CHECK(xCache(hit) == "HIT");
  }
  CHECK(f.upstream.requestCount() == upstream_before);
  // The entry and both of its namespace versions exist, on at least two
  // masters: a hit read them in parallel from their own nodes.
  std::set<size_t> holders;
  for (const std::string& key : {std::string("v1:ns:products"), "v1:ns:product:" + id}) {
    auto holder = f.cluster.holderOf(key);
    REQUIRE_MESSAGE(holder.has_value(), key, " is on no node");
    holders.insert(*holder);
  }
  const auto entries = f.cluster.keys(std::string(kEntryPattern));
  REQUIRE(!entries.empty());
  for (const auto& key : entries) {
    CHECK(f.cluster.holderOf(key) == f.cluster.ownerOf(f.cluster.slotOf(key)));
    holders.insert(*f.cluster.holderOf(key));
  }
  CHECK(holders.size() >= 2);
  // Every key larder wrote carries a TTL (DESIGN invariant 2).
  for (size_t i = 0; i < RedisCluster::kMasters; ++i)
    for (const auto& key : f.cluster.node(i).keys("v1:*")) {
      CAPTURE(key);
      CHECK(f.cluster.node(i).command({"PTTL", key}).integer > 0);
    }
}

TEST_CASE("cluster: a write through instance A is a MISS at once on instance B (invariant 3)") {
  ClusterLarders f(2);
  HttpClient a(f.larders[0]->port());
  HttpClient b(f.larders[1]->port());
  const std::string id = f.spreadProduct();
  const std::string item = "/api/products/" + id;
  warmUntilHit(a, item);  // A is connected to the cluster too
  // Both namespaces (on different masters) are invalidated before A
  // answers: B's very next reads are not served from before the write.
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    expectWriteSeen(b, a, item, {item, "/api/products"});
  }
  // And they are cached again under the new versions.
  warmUntilHit(b, item);
  warmUntilHit(b, "/api/products");
}

TEST_CASE("cluster: a slot resharded under traffic (ASK, then MOVED) fails no client request") {
  ClusterLarders f(1);
  HttpClient client(f.larders[0]->port());
  const std::string id = f.spreadProduct();
  const std::string item = "/api/products/" + id;
  warmUntilHit(client, item);
  const std::string moving = "v1:ns:product:" + id;
  const int slot = f.cluster.slotOf(moving);
  const size_t from = f.cluster.ownerOf(slot);
  const size_t to = (from + 1) % RedisCluster::kMasters;

  // Half way: the key is on `to`, the slot still `from`'s, which answers
  // ASK for it. Every request is answered, none with an error.
  f.cluster.beginMove(slot, from, to);
  REQUIRE(f.cluster.holderOf(moving) == to);
  const int64_t asking_before = f.cluster.calls(to, "asking");
  for (int i = 0; i < 10; ++i) {
    HttpResponse response = mustGet(client, item);
    CHECK(response.status == 200);
    // Redirections are followed, not failed: the store stays usable.
    CHECK(xCache(response) != "BYPASS");
  }
  CHECK(f.cluster.calls(to, "asking") > asking_before);

  // Done: `from` now answers MOVED; larder updates its map and the entry
  // is a hit again (once re-created: the moved version value is of another
  // node's run, so it read as absent, never as a match).
  f.cluster.endMove(slot, to);
  for (int i = 0; i < 10; ++i) {
    HttpResponse response = mustGet(client, item);
    CHECK(response.status == 200);
    CHECK(xCache(response) != "BYPASS");
  }
  warmUntilHit(client, item);
  CHECK(f.cluster.holderOf(moving) == to);
  CHECK(f.larders[0]->stderrText().find("slot map read") != std::string::npos);
}

TEST_CASE("cluster: a write through A drops B's in-process tier copy, through the channel's shard (SPUBLISH), also after its slot moved") {
  RedisCluster cluster;
  FakeUpstream upstream;
  upstream.setHandler(numberedAnswers({{"Content-Type", "text/plain"}}));
  const std::string store = clusterSections(cluster.seeds());
  const std::string routes(kTierRoutes);
  const uint16_t admin_b = freePort();
  LarderProcess a(proxyConfig(upstream.port(), store + routes));
  LarderProcess b(proxyConfig(upstream.port(), store + adminSection(admin_b) + routes));
  HttpClient client_a(a.port());
  HttpClient client_b(b.port());
  const std::string target = "/api/products/7";
  // B's tier answers: its hits counter moves while the body stays.
  std::string cached;
  REQUIRE_MESSAGE(waitForTierHit(admin_b, client_b, target, cached), "B's tier never answered");
  // Sharded pub/sub (Redis 7): both instances' subscribers are on the
  // shard of the channel's slot, subscribed with SSUBSCRIBE (MOVED there
  // from the first seed when it is another node).
  const std::string channel(kInvalidationChannel);
  const size_t shard = cluster.ownerOf(cluster.slotOf(channel));
  REQUIRE(waitUntil([&] { return shardSubscribers(cluster.node(shard)) == 2; }, 5s, 20ms));
  for (size_t i = 0; i < RedisCluster::kMasters; ++i)
    if (i != shard) CHECK(shardSubscribers(cluster.node(i)) == 0);
  const int64_t spublish_before = cluster.calls(shard, "spublish");

  REQUIRE(mustRequest(client_a, "PUT", target, {}, "{}").status == 200);
  // The notice travels A -> the shard's master (SPUBLISH) -> B's
  // subscriber there: bounded, but not synchronous with A's answer.
  CHECK_MESSAGE(waitUntil([&] { return mustGet(client_b, target).body != cached; }, 2s, 10ms),
                "B's tier still served the copy from before A's write");
  CHECK(cluster.calls(shard, "spublish") > spublish_before);
  for (size_t i = 0; i < RedisCluster::kMasters; ++i) CHECK(cluster.calls(i, "publish") == 0);

  // The channel's slot moves to another master: the servers drop the shard
  // subscriptions (sunsubscribe), the subscribers follow the slot, and the
  // notices (SPUBLISH answered MOVED, then sent to the new master) still
  // reach B's tier.
  const size_t to = (shard + 1) % RedisCluster::kMasters;
  cluster.beginMove(cluster.slotOf(channel), shard, to);
  cluster.endMove(cluster.slotOf(channel), to);
  REQUIRE_MESSAGE(waitUntil([&] { return shardSubscribers(cluster.node(to)) == 2; }, 5s, 20ms),
                  "the subscribers did not follow the channel's slot");
  CHECK(shardSubscribers(cluster.node(shard)) == 0);
  REQUIRE(waitForTierHit(admin_b, client_b, target, cached));
  REQUIRE(mustRequest(client_a, "PUT", target, {}, "{}").status == 200);
  CHECK_MESSAGE(waitUntil([&] { return mustGet(client_b, target).body != cached; }, 2s, 10ms),
                "B's tier still served the copy from before A's write, after the slot moved");
  CHECK(cluster.calls(to, "spublish") > 0);
  // Redirects and the move were followed, not failed over to another seed
  // (which logs a warning): hiredis got an answer for every error.
  for (LarderProcess* larder : {&a, &b})
    CHECK(larder->stderrText().find("redis cluster subscriber") == std::string::npos);
}

}  // namespace
}  // namespace larder::test
