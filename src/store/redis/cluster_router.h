// ClusterRouter: sends single-key commands to the Redis Cluster node that
// serves the key's slot (issue 16, item 2), for one worker's loop.
//
// Topology: the slot map comes from CLUSTER SLOTS, asked of any ready node
// (at first, the configured seeds; names allowed, RedisEndpoint looks them
// up). It is asked again on a MOVED, on a command lost with its connection,
// every kRefreshInterval, and every kStartupPoll while a master of the map
// has no ready connection (a failover); at most one CLUSTER SLOTS is in
// flight.
// A MOVED also updates the slot at once and the command is sent again to the
// node it names; an ASK sends ASKING and the command, pipelined on one
// connection to the importing node, once. At most kMaxRedirects per command.
//
// Ownership: the router owns one group of RedisConnections per node it has
// heard of (seeds, masters, redirect targets); nodes are never removed while
// it lives, so a raw RedisConnection* stays valid for the router's lifetime.
// Reply callbacks run inside hiredis (STYLE L5: copy what you keep) and are
// dropped, never called, once the router is destroyed. A command that cannot
// be sent (no node for its slot is ready) is answered at once, inside send(),
// with a null reply: callers deliver their own completions later.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/loop.h"
#include "net/timer.h"
#include "store/redis/cluster_slots.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class ClusterRouter {
 public:
  using Failure = RedisConnection::Failure;
  // Builds the command for the connection it goes on (a version value is
  // tagged with that node's generation, store/redis/generation.h).
  using Build = std::function<std::vector<std::string>(const RedisConnection& connection)>;
  // `connection`: the one that answered (nullptr without a reply).
  using Reply =
      std::function<void(const redisReply* reply, Failure failure, const RedisConnection* connection)>;

  static constexpr int kMaxRedirects = 3;
  static constexpr base::Duration kRefreshInterval{5000};
  static constexpr base::Duration kStartupPoll{100};

  // `options` is the template of every node connection (host and port are
  // replaced); `script` is loaded on each at its handshake.
  ClusterRouter(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> seeds,
                std::string script);
  ~ClusterRouter();
  ClusterRouter(const ClusterRouter&) = delete;
  ClusterRouter& operator=(const ClusterRouter&) = delete;

  // Sends the command that `build` makes to the master of `key`'s slot.
  // `on_reply` runs exactly once (see the top for when).
  void send(std::string key, Build build, Reply on_reply);
  // Sends to any ready node (a command without a key: PUBLISH, PING).
  void sendAny(std::vector<std::string> args, Reply on_reply);

  // The slot map is known and every master in it has a ready connection.
  bool isReady() const;
  // Asks a node for the slot map now (unless a request is in flight).
  void refresh();

  // For tests: the node serving `key`'s slot ("host:port"), empty if none.
  std::string nodeForTest(std::string_view key) const { return slots_[keySlot(key)]; }
  size_t nodeCountForTest() const { return nodes_.size(); }

 private:
  struct Node;
  struct Attempt;

  Node& nodeFor(const ClusterNode& address);
  RedisConnection* readyConnection(Node& node);
  RedisConnection* anyReadyConnection();
  void dispatch(std::shared_ptr<Attempt> attempt, RedisConnection* connection, bool asking);
  void onReply(std::shared_ptr<Attempt> attempt, const RedisConnection* connection, const redisReply* reply,
               Failure failure);
  void onSlots(const redisReply* reply, const ClusterNode& answered_by);
  void schedule();

  net::Loop& loop_;
  const RedisOptions options_;
  const std::vector<ClusterNode> seeds_;
  const std::string script_;
  // Keyed by "host:port"; see the top for why nodes are never removed.
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes_;
  SlotMap slots_;
  // The masters of the map (and of MOVED answers since), and whether the
  // map covers every slot: isReady() is asked often.
  std::vector<std::string> masters_;
  std::vector<std::string> known_masters_;  // of the last map read, sorted: to log a change
  bool complete_ = false;
  bool has_map_ = false;
  bool refreshing_ = false;
  uint64_t last_tick_refresh_ms_ = 0;  // monotonic; see schedule()
  net::Timer refresh_timer_;
};

}  // namespace larder::store
