// cache.distributed_lock on a 3-master Redis Cluster (issue 16): two larder
// instances, each in front of its own upstream, send one request upstream
// per cold key between them (DESIGN invariant 9), with the lock routed to
// the master of its key's slot; and again once that slot has moved to
// another master behind larder's back (MOVED followed, the map refreshed).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "cluster_support.h"
#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/ports.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

using Clients = std::vector<std::unique_ptr<HttpClient>>;

// One larder, its own upstream holding every answer until its gate opens.
struct LockInstance {
  LockInstance(const RedisCluster& cluster, std::atomic<int>& version) : admin_port(freePort()) {
    upstream.setHandler([this, &version](const RecordedRequest& request) {
      FakeResponse response;
      if (request.method == "PUT") {
        ++version;
        response.body = "written";
        return response;
      }
      response.headers = {{"Cache-Control", "max-age=60"}};
      response.body = fmt::format("item version {}", version.load());
      response.hold = gate;
      return response;
    });
    std::string fragment = fmt::format(
        "workers: 2\n"
        "upstream: {{ servers: [127.0.0.1:{}], response_timeout: 20s, connect_timeout: 500ms }}\n"
        "store:\n  redis:\n    cluster: {{ nodes: {} }}\n    timeout: 1s\n"
        "cache:\n  status_header: X-Cache\n  lock_timeout: 10s\n  distributed_lock: {{ enabled: true, ttl: 10s }}\n"
        "routes:\n  - match: GET /item\n    ttl: 60s\n    namespaces: [items]\n"
        "  - match: PUT /item\n    invalidates: [items]\n"
        "{}",
        upstream.port(), cluster.seeds(), adminSection(admin_port));
    larder = std::make_unique<LarderProcess>(fragment);
  }

  double lockEvents(std::string_view event) {
    return scrape(admin_port).value(fmt::format("larder_fill_lock_events_total{{event=\"{}\"}}", event));
  }
  size_t gets() {
    size_t count = 0;
    for (const auto& request : upstream.requests())
      if (request.method == "GET") ++count;
    return count;
  }

  FakeUpstream upstream;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  uint16_t admin_port;
  std::unique_ptr<LarderProcess> larder;
};

struct ClusterFleet {
  ClusterFleet() {
    for (int i = 0; i < 2; ++i) instances.push_back(std::make_unique<LockInstance>(cluster, version));
    // Ready: a GET of another target is cached and served by each (the
    // store read the slot map), and the lock is subscribed (awaitStore).
    for (auto& instance : instances) {
      instance->gate->open();
      HttpClient client(instance->larder->port());
      REQUIRE(waitUntil(
          [&] {
            auto response = client.get("/item?warm", {{"Host", "shop"}});
            return response && response->header("X-Cache") == "HIT";
          },
          10s, 50ms));
      instance->gate = std::make_shared<Gate>();
    }
  }

  size_t gets() { return instances[0]->gets() + instances[1]->gets(); }
  std::vector<std::string> lockKeys() { return cluster.keys("v1:lock:*"); }

  // `per_instance` cold GET /item on each instance at once.
  std::pair<Clients, Clients> sendCold(size_t per_instance) {
    std::pair<Clients, Clients> clients;
    for (size_t i = 0; i < per_instance; ++i) {
      for (int side = 0; side < 2; ++side) {
        Clients& list = side == 0 ? clients.first : clients.second;
        list.push_back(std::make_unique<HttpClient>(instances[side]->larder->port()));
        REQUIRE(list.back()->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
      }
    }
    return clients;
  }

  RedisCluster cluster;
  std::atomic<int> version{1};
  std::vector<std::unique_ptr<LockInstance>> instances;  // destroyed before the cluster
};

size_t countBody(Clients& clients, const std::string& body) {
  size_t same = 0;
  for (auto& client : clients) {
    auto response = client->readResponse(20s);
    if (response && response->status == 200 && response->body == body) ++same;
  }
  return same;
}

}  // namespace

TEST_CASE("cluster lock: 20 cold requests over two instances send one upstream; again after the lock's slot moved") {
  ClusterFleet fleet;
  const size_t warm_gets = fleet.gets();
  constexpr size_t kPerInstance = 10;

  auto [a, b] = fleet.sendCold(kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.gets() > warm_gets; }, 10s));
  // One instance owns the lock, on the master of its key's slot; the other
  // instance's leader lost it and waits for the notice.
  REQUIRE(waitUntil(
      [&] { return fleet.instances[0]->lockEvents("lost") + fleet.instances[1]->lockEvents("lost") >= 1; }, 10s,
      50ms));
  LockInstance& other = *fleet.instances[fleet.instances[0]->lockEvents("lost") >= 1 ? 0 : 1];
  auto locks = fleet.lockKeys();
  REQUIRE(locks.size() == 1);
  const std::string lock_key = locks[0];
  const int slot = fleet.cluster.slotOf(lock_key);
  const size_t holder = fleet.cluster.ownerOf(slot);
  CHECK(fleet.cluster.holderOf(lock_key) == holder);
  const int64_t pttl = fleet.cluster.node(holder).command({"PTTL", lock_key}).integer;
  CHECK(pttl > 0);  // DESIGN invariant 2
  CHECK(pttl <= 10000);

  for (auto& instance : fleet.instances) instance->gate->open();
  CHECK(countBody(a, "item version 1") == kPerInstance);
  CHECK(countBody(b, "item version 1") == kPerInstance);
  CHECK(fleet.gets() == warm_gets + 1);
  // Released once stored; the waiter heard the notice, not the TTL.
  CHECK(waitUntil([&] { return fleet.lockKeys().empty(); }, 3s));
  CHECK(other.lockEvents("notified") >= 1);
  CHECK(other.lockEvents("expired") == 0);

  // A write makes the item cold again; this time the lock's slot moves to
  // another master while the lock is held. larder's maps still name the
  // old master, which answers the release with MOVED: it is followed, the
  // lock deleted where it now lives, and the notice published from there.
  for (auto& instance : fleet.instances) instance->gate = std::make_shared<Gate>();
  HttpClient writer(fleet.instances[0]->larder->port());
  auto written = writer.request("PUT", "/item", {{"Host", "shop"}}, "{}");
  REQUIRE(written);
  REQUIRE(written->status == 200);
  auto total = [&](std::string_view event) {
    return fleet.instances[0]->lockEvents(event) + fleet.instances[1]->lockEvents(event);
  };
  const double notified_before = total("notified");
  const size_t before = fleet.gets();
  auto [c, d] = fleet.sendCold(kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.gets() > before; }, 10s));
  REQUIRE(waitUntil([&] { return fleet.lockKeys().size() == 1; }, 10s));
  const std::string moving = fleet.lockKeys()[0];
  const int moving_slot = fleet.cluster.slotOf(moving);
  const size_t from = fleet.cluster.ownerOf(moving_slot);
  const size_t to = (from + 1) % RedisCluster::kMasters;
  REQUIRE(waitUntil([&] { return total("lost") >= 2; }, 10s, 50ms));
  fleet.cluster.beginMove(moving_slot, from, to);
  fleet.cluster.endMove(moving_slot, to);
  REQUIRE(fleet.cluster.holderOf(moving) == to);
  for (auto& instance : fleet.instances) instance->gate->open();
  CHECK(countBody(c, "item version 2") == kPerInstance);
  CHECK(countBody(d, "item version 2") == kPerInstance);
  CHECK(fleet.gets() == before + 1);
  CHECK(waitUntil([&] { return fleet.lockKeys().empty(); }, 3s));
  CHECK(total("notified") > notified_before);
  CHECK(total("expired") == 0);
  for (auto& instance : fleet.instances) CHECK(instance->lockEvents("unavailable") == 0);
}
