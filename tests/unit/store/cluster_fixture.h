// ClusterFixture: the Store conformance suite (STYLE T3) against
// ClusterStore, on a one-master Redis Cluster (every slot on one real
// redis-server started with --cluster-enabled, shared by the cases of the
// process and reset before each: SharedClusterNode below). The store
// routes, redirects and tags versions exactly as on more masters; keys of
// several masters are covered by tests/integration/cache_redis_cluster_test.cc.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "common/reserved_port.h"
#include "store/redis/cluster_store.h"
#include "store_fixtures.h"

namespace larder::store::test {

// The one-node cluster every ClusterFixture of this test process shares.
// A fresh cluster node refuses writes for Redis's CLUSTER_WRITABLE_DELAY
// (2 s after its first state update, not configurable), which made every
// case wait 2 s; one node per process pays it once. Before each case it is
// brought back to what a fresh node looks like: running and answering (a
// case may have killed it, restarted it or left it SIGSTOPped), every slot
// assigned and cluster_state:ok, no client of an earlier case still
// connected (so no command of theirs lands after the flush), no keys, no
// cached scripts, no stats. A case that kills and restarts it pays the
// delay again inside itself, as before; the next case then shares the
// restarted node (same port, same cluster config file: same slots).
class SharedClusterNode {
 public:
  static RedisServer& acquire(net::Loop& loop) {
    static SharedClusterNode node;
    node.reset(loop);
    return node.server_;
  }

 private:
  SharedClusterNode()
      : bus_port_(larder::test::reservePort()),
        config_file_(std::filesystem::temp_directory_path() /
                     ("larder-unit-cluster-" + std::to_string(getpid()) + "-" + std::to_string(bus_port_) + ".conf")),
        server_({"--cluster-enabled", "yes", "--cluster-config-file", config_file_.string(), "--cluster-port",
                 std::to_string(bus_port_)}) {}
  ~SharedClusterNode() {
    // Killed first, so it does not write its config file again once removed.
    server_.kill();
    std::error_code ignored;
    std::filesystem::remove(config_file_, ignored);
  }

  void reset(net::Loop& loop) {
    if (server_.isRunning()) {
      server_.resume();  // a case that failed between pause() and resume()
    } else {
      server_.restart();
    }
    // A node killed before it saved its config comes back without slots.
    if (server_.command({"CLUSTER", "INFO"}).str.find("cluster_slots_assigned:16384") == std::string::npos) {
      REQUIRE(server_.command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).isStatus("OK"));
    }
    REQUIRE_MESSAGE(runUntil(
                        loop,
                        [&] {
                          return server_.command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") !=
                                 std::string::npos;
                        },
                        5s),
                    "the one-node cluster did not reach cluster_state:ok");
    // Clients of an earlier case are closed on our side; the node frees
    // them once it has read what they sent. Only then is the flush last.
    REQUIRE_MESSAGE(runUntil(
                        loop,
                        [&] {
                          return server_.command({"INFO", "clients"}).str.find("connected_clients:1\r") !=
                                 std::string::npos;
                        },
                        5s),
                    "clients of an earlier case are still connected to the shared cluster node");
    REQUIRE(server_.command({"CONFIG", "SET", "maxmemory", "0"}).isStatus("OK"));  // a case that filled it
    REQUIRE(server_.command({"FLUSHALL"}).isStatus("OK"));
    REQUIRE(server_.command({"SCRIPT", "FLUSH"}).isStatus("OK"));
    REQUIRE(server_.command({"CONFIG", "RESETSTAT"}).isStatus("OK"));
  }

  uint16_t bus_port_;
  std::filesystem::path config_file_;
  RedisServer server_;
};

struct ClusterFixture {
  static constexpr const char* kName = "redis cluster";

  explicit ClusterFixture(std::function<void(RedisOptions&)> adjust = {})
      : server(SharedClusterNode::acquire(loop)) {
    RedisOptions options = testRedisOptions(server.port());
    if (adjust) adjust(options);
    auto cluster = std::make_unique<ClusterStore>(loop, options, std::vector<ClusterNode>{{"127.0.0.1", server.port()}});
    cluster_store = cluster.get();
    store = std::move(cluster);
    REQUIRE_MESSAGE(runUntil(loop, [&] { return cluster_store->isReady(); }, 3s),
                    "the ClusterStore did not read the slot map");
  }

  // Every key has a TTL; a cluster has no generation key (each node's run
  // is its generation, store/redis/cluster_store.h).
  void expectEveryKeyExpires(const std::vector<std::string>& keys) {
    std::vector<std::string> present = server.keys();
    CHECK(present.size() == keys.size());
    for (const auto& key : present) {
      INFO("key " << key);
      CHECK(server.pttl(key) > 0);
    }
  }

  // Destroyed in reverse: the store, then the loop (the node is shared).
  net::Loop loop;
  RedisServer& server;
  ClusterStore* cluster_store = nullptr;
  std::unique_ptr<cache::Store> store;
};

}  // namespace larder::store::test
