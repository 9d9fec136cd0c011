// ClusterFixture: the Store conformance suite (STYLE T3) against
// ClusterStore, on a one-master Redis Cluster (every slot on one real
// redis-server started with --cluster-enabled). The store routes, redirects
// and tags versions exactly as on more masters; keys of several masters are
// covered by tests/integration/cache_redis_cluster_test.cc.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/reserved_port.h"
#include "store/redis/cluster_store.h"
#include "store_fixtures.h"

namespace larder::store::test {

struct ClusterFixture {
  static constexpr const char* kName = "redis cluster";

  ClusterFixture()
      : bus_port(larder::test::reservePort()),
        config_file(std::filesystem::temp_directory_path() /
                    ("larder-unit-cluster-" + std::to_string(getpid()) + "-" + std::to_string(bus_port) + ".conf")),
        server({"--cluster-enabled", "yes", "--cluster-config-file", config_file.string(), "--cluster-port",
                std::to_string(bus_port)}) {
    REQUIRE(server.command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).isStatus("OK"));
    REQUIRE_MESSAGE(runUntil(
                        loop,
                        [&] {
                          return server.command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") !=
                                 std::string::npos;
                        },
                        5s),
                    "the one-node cluster did not reach cluster_state:ok");
    RedisOptions options = testRedisOptions(server.port());
    auto cluster = std::make_unique<ClusterStore>(loop, options, std::vector<ClusterNode>{{"127.0.0.1", server.port()}});
    cluster_store = cluster.get();
    store = std::move(cluster);
    REQUIRE_MESSAGE(runUntil(loop, [&] { return cluster_store->isReady(); }, 3s),
                    "the ClusterStore did not read the slot map");
  }
  ~ClusterFixture() {
    std::error_code ignored;
    std::filesystem::remove(config_file, ignored);
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

  uint16_t bus_port;
  std::filesystem::path config_file;
  // Destroyed in reverse: the store, then the loop, then the server.
  RedisServer server;
  net::Loop loop;
  ClusterStore* cluster_store = nullptr;
  std::unique_ptr<cache::Store> store;
};

}  // namespace larder::store::test
