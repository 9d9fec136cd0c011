// A real 3-master Redis Cluster on loopback for the cluster tests (issue 16,
// item 2): three Debian redis-servers started with --cluster-enabled on
// harness ports (bus ports too), joined with CLUSTER MEET, the 16384 slots split in three
// with CLUSTER ADDSLOTSRANGE, and ready once every node says
// cluster_state:ok. moveSlot() reshards one slot the way
// `redis-cli --cluster reshard` does (IMPORTING/MIGRATING, MIGRATE, SETSLOT
// NODE), and can stop half way so that the source answers ASK.
// RedisClusterWithReplicas: three masters with one replica each, created
// the way an operator does (`redis-cli --cluster create ... --cluster-replicas
// 1`), with a short cluster-node-timeout so a killed master's replica is
// promoted within a few seconds (the failover test). Before them, what the
// cluster tests share: their config sections, the tier's routes, and how
// they wait for a hit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cache_support.h"
#include "common/harness_error.h"
#include "common/process.h"
#include "harness/admin_fixture.h"
#include "harness/gate.h"
#include "harness/ports.h"
#include "harness/redis_server.h"

namespace larder::test {

// Calls of `command` (lower case) on `node` so far.
inline int64_t callsOf(RedisServer& node, const std::string& command) {
  const std::map<std::string, int64_t> calls = commandCalls(node);
  auto it = calls.find(command);
  return it == calls.end() ? 0 : it->second;
}

// The port of the master that serves `slot` in `ask`'s map (CLUSTER
// SLOTS); -1 when none does.
inline int64_t masterPortOf(RedisServer& ask, int64_t slot) {
  RedisReply slots = ask.command({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements) {
    if (range.elements.size() < 3) continue;
    if (slot < range.elements[0].integer || slot > range.elements[1].integer) continue;
    return range.elements[2].elements.at(1).integer;
  }
  return -1;
}

// store: and cache: for a cluster with these seeds (`nodes: [...]`), each
// answer stamped in X-Cache; `cache_extra` adds lines to cache:.
inline std::string clusterSections(const std::string& seeds, std::string_view cache_extra = {}) {
  return fmt::format(
      "store:\n  redis:\n    cluster: {{ nodes: {} }}\n    timeout: 250ms\n  on_failure: bypass\n"
      "cache:\n  status_header: X-Cache\n{}",
      seeds, cache_extra);
}

// Products cached in Redis and, for 60 s, in each instance's in-process
// tier, which a PUT's invalidation notice (the "v1:invalidations" channel)
// must drop on every instance.
inline constexpr std::string_view kTierRoutes = R"(routes:
  - match: GET /api/products/{id}
    ttl: 1h
    memory_ttl: 60s
    namespaces: [products, "product:{id}"]
  - match: PUT /api/products/{id}
    invalidates: [products, "product:{id}"]
)";
inline constexpr std::string_view kInvalidationChannel = "v1:invalidations";

// How many subscribers `channel`'s shard has on `node` (PUBSUB
// SHARDNUMSUB); -1 when it does not answer.
inline int64_t shardSubscribers(RedisServer& node, std::string_view channel = kInvalidationChannel) {
  RedisReply reply = node.command({"PUBSUB", "SHARDNUMSUB", std::string(channel)});
  return reply.elements.size() == 2 ? reply.elements[1].integer : int64_t{-1};
}

// Until a repeated GET of `target` is a HIT: the store is ready once the
// slot map is read and every master is connected (bounded, DESIGN
// invariant 5).
inline void warmUntilHit(HttpClient& client, const std::string& target, Millis timeout = 10s) {
  REQUIRE_MESSAGE(waitUntil([&] { return xCache(mustGet(client, target)) == "HIT"; }, timeout, 50ms),
                  "no HIT for ", target, " from the cluster");
}

// Read your writes across instances (DESIGN invariant 3): once `reader`
// serves each of `reads` from cache, `writer` PUTs `write`, and `reader`'s
// very next GET of each is not from before the write. Returns the PUT's
// answer.
inline HttpResponse expectWriteSeen(HttpClient& reader, HttpClient& writer, const std::string& write,
                                    const std::vector<std::string>& reads) {
  std::vector<std::string> cached(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    REQUIRE_MESSAGE(waitUntil(
                        [&] {
                          HttpResponse response = mustGet(reader, reads[i]);
                          cached[i] = response.body;
                          return xCache(response) == "HIT";
                        },
                        10s, 50ms),
                    "no HIT for ", reads[i], " from the cluster");
  }
  HttpResponse written = mustRequest(writer, "PUT", write, {}, "{}");
  REQUIRE(written.status == 200);
  for (size_t i = 0; i < reads.size(); ++i) {
    CAPTURE(reads[i]);
    HttpResponse after = mustGet(reader, reads[i]);
    CHECK(after.status == 200);
    CHECK(xCache(after) != "HIT");
    CHECK(after.body != cached[i]);
  }
  return written;
}

// Until a GET of `target` through `client` is answered by the in-process
// tier of the instance whose admin port is `admin_port` (its tier hits
// counter moved); `body` is that answer's.
inline bool waitForTierHit(uint16_t admin_port, HttpClient& client, const std::string& target, std::string& body,
                           Millis timeout = 10s) {
  return waitUntil(
      [&] {
        const double before = scrape(admin_port).value("larder_memory_tier_hits_total");
        HttpResponse response = mustGet(client, target);
        body = response.body;
        return response.status == 200 && scrape(admin_port).value("larder_memory_tier_hits_total") > before;
      },
      timeout, 50ms);
}

class RedisCluster {
 public:
  static constexpr size_t kMasters = 3;

  RedisCluster() {
    for (size_t i = 0; i < kMasters; ++i) {
      // The bus port from the harness too: port + 10000 may be anyone's.
      bus_ports_.push_back(freePort());
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
          "--cluster-port", std::to_string(bus_ports_.back())}));
    }
    const int per_node = 16384 / static_cast<int>(kMasters);
    for (size_t i = 0; i < kMasters; ++i) {
      const int first = static_cast<int>(i) * per_node;
      const int last = i + 1 == kMasters ? 16383 : first + per_node - 1;
      expectOk(node(i).command({"CLUSTER", "ADDSLOTSRANGE", std::to_string(first), std::to_string(last)}));
      ids_.push_back(node(i).command({"CLUSTER", "MYID"}).str);
    }
    for (size_t i = 1; i < kMasters; ++i)
      expectOk(node(0).command({"CLUSTER", "MEET", "127.0.0.1", std::to_string(node(i).port()),
                                std::to_string(bus_ports_[i])}));
    const bool ok = waitUntil(
        [&] {
          for (size_t i = 0; i < kMasters; ++i) {
            std::string info = node(i).command({"CLUSTER", "INFO"}).str;
            if (info.find("cluster_state:ok") == std::string::npos ||
                info.find("cluster_known_nodes:3") == std::string::npos)
              return false;
          }
          return true;
        },
        20s, 50ms);
    if (!ok) throw HarnessError("the Redis Cluster did not reach cluster_state:ok");
  }

  RedisServer& node(size_t i) { return *nodes_.at(i); }
  const std::string& id(size_t i) const { return ids_.at(i); }

  // `nodes: [...]` for store.redis.cluster.
  std::string seeds() const {
    std::string out;
    for (const auto& node : nodes_) out += fmt::format("{}127.0.0.1:{}", out.empty() ? "" : ", ", node->port());
    return "[" + out + "]";
  }

  int slotOf(const std::string& key) { return static_cast<int>(node(0).command({"CLUSTER", "KEYSLOT", key}).integer); }

  // The node that holds `key` now, by looking (not by the slot map), also
  // half way through a move.
  std::optional<size_t> holderOf(const std::string& key) {
    for (size_t i = 0; i < kMasters; ++i) {
      // ASKING: an importing node answers for the key, not with MOVED.
      node(i).command({"ASKING"});
      if (node(i).command({"EXISTS", key}).integer == 1) return i;
    }
    return std::nullopt;
  }

  // Which master serves `slot`, from node 0's map.
  size_t ownerOf(int slot) {
    const int64_t port = masterPortOf(node(0), slot);
    for (size_t i = 0; i < kMasters; ++i)
      if (node(i).port() == port) return i;
    throw HarnessError(fmt::format("no master serves slot {}", slot));
  }

  std::vector<std::string> keys(const std::string& pattern) {
    std::vector<std::string> all;
    for (auto& node : nodes_)
      for (auto& key : node->keys(pattern)) all.push_back(std::move(key));
    return all;
  }

  // Step 1 of a reshard: `to` imports, `from` migrates, the slot's keys are
  // moved. Keys of the slot missing on `from` are now answered with ASK.
  void beginMove(int slot, size_t from, size_t to) {
    const std::string s = std::to_string(slot);
    expectOk(node(to).command({"CLUSTER", "SETSLOT", s, "IMPORTING", id(from)}));
    expectOk(node(from).command({"CLUSTER", "SETSLOT", s, "MIGRATING", id(to)}));
    RedisReply keys = node(from).command({"CLUSTER", "GETKEYSINSLOT", s, "1000"});
    for (const auto& key : keys.elements) {
      RedisReply moved = node(from).command(
          {"MIGRATE", "127.0.0.1", std::to_string(node(to).port()), key.str, "0", "5000"});
      if (moved.isError()) throw HarnessError("MIGRATE: " + moved.str);
    }
  }
  // Step 2: the slot belongs to `to`, everywhere; `from` answers MOVED.
  void endMove(int slot, size_t to) {
    const std::string s = std::to_string(slot);
    expectOk(node(to).command({"CLUSTER", "SETSLOT", s, "NODE", id(to)}));
    for (size_t i = 0; i < kMasters; ++i)
      if (i != to) expectOk(node(i).command({"CLUSTER", "SETSLOT", s, "NODE", id(to)}));
  }

  // Calls of `command` (lower case, e.g. "asking") on node i so far.
  int64_t calls(size_t i, const std::string& command) { return callsOf(node(i), command); }

 private:
  static void expectOk(const RedisReply& reply) {
    if (!reply.isStatus("OK")) throw HarnessError("redis cluster setup: " + reply.toString());
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<std::string> ids_;
  std::vector<uint16_t> bus_ports_;
};

class RedisClusterWithReplicas {
 public:
  static constexpr size_t kNodes = 6;  // three masters, three replicas

  RedisClusterWithReplicas() {
    for (size_t i = 0; i < kNodes; ++i) {
      bus_ports_.push_back(freePort());
      nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
          "--cluster-port", std::to_string(bus_ports_.back())}));
    }
    std::vector<std::string> argv{findExecutable("redis-cli"), "--cluster", "create"};
    for (const auto& node : nodes_) argv.push_back(fmt::format("127.0.0.1:{}", node->port()));
    for (const char* arg : {"--cluster-replicas", "1", "--cluster-yes"}) argv.push_back(arg);
    Process create(argv);
    auto status = create.waitExit(30s);
    if (!status || *status != 0)
      throw HarnessError("redis-cli --cluster create failed: " + create.stdoutText() + create.stderrText());
    const bool ok = waitUntil(
        [&] {
          for (size_t i = 0; i < kNodes; ++i) {
            if (!isUp(i)) return false;
            std::string replication = node(i).command({"INFO", "replication"}).str;
            const bool is_master = replication.find("role:master") != std::string::npos;
            if (is_master && replication.find("connected_slaves:1") == std::string::npos) return false;
            if (!is_master && replication.find("master_link_status:up") == std::string::npos) return false;
          }
          return true;
        },
        30s, 100ms);
    if (!ok) throw HarnessError("the replicated Redis Cluster did not come up");
  }

  RedisServer& node(size_t i) { return *nodes_.at(i); }

  // Node `first` first: the subscribers start on the first seed.
  std::string seeds(size_t first = 0) const {
    std::string out = fmt::format("127.0.0.1:{}", nodes_.at(first)->port());
    for (size_t i = 0; i < kNodes; ++i)
      if (i != first) out += fmt::format(", 127.0.0.1:{}", nodes_[i]->port());
    return "[" + out + "]";
  }

  // Node i says cluster_state:ok and knows all six.
  bool isUp(size_t i) {
    std::string info = node(i).command({"CLUSTER", "INFO"}).str;
    return info.find("cluster_state:ok") != std::string::npos &&
           info.find("cluster_known_nodes:6") != std::string::npos;
  }

  bool isMaster(size_t i) {
    return node(i).command({"INFO", "replication"}).str.find("role:master") != std::string::npos;
  }

  // The node serving `key`'s slot as master, asked of node `ask`.
  size_t masterOf(const std::string& key, size_t ask) {
    const int64_t port = masterPortOf(node(ask), node(ask).command({"CLUSTER", "KEYSLOT", key}).integer);
    for (size_t i = 0; i < kNodes; ++i)
      if (node(i).port() == port) return i;
    throw HarnessError(fmt::format("no master serves {}", key));
  }

  // Calls of `command` (lower case) on node i so far.
  int64_t calls(size_t i, const std::string& command) { return callsOf(node(i), command); }

  // The replica of master `i` (from its INFO replication).
  size_t replicaOf(size_t i) {
    std::string replication = node(i).command({"INFO", "replication"}).str;
    for (size_t j = 0; j < kNodes; ++j)
      if (j != i && replication.find(fmt::format("port={},", node(j).port())) != std::string::npos) return j;
    throw HarnessError(fmt::format("node {} has no replica", i));
  }

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::vector<uint16_t> bus_ports_;
};

}  // namespace larder::test
