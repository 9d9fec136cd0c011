#include "store/redis/cluster_router.h"

#include <algorithm>

#include "base/log.h"
#include "base/time.h"

namespace larder::store {

struct ClusterRouter::Node {
  ClusterNode address;
  std::vector<std::unique_ptr<RedisConnection>> connections;
  size_t next = 0;
};

struct ClusterRouter::Attempt {
  std::string key;
  Build build;
  Reply on_reply;
  int redirects = 0;
};

ClusterRouter::ClusterRouter(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> seeds,
                             std::string script)
    : loop_(loop),
      options_(options),
      seeds_(std::move(seeds)),
      script_(std::move(script)),
      refresh_timer_(loop) {
  for (const auto& seed : seeds_) nodeFor(seed);
  refresh_timer_.unref();  // housekeeping: never what keeps a loop running
  schedule();
}

ClusterRouter::~ClusterRouter() = default;

ClusterRouter::Node& ClusterRouter::nodeFor(const ClusterNode& address) {
  auto [it, inserted] = nodes_.try_emplace(address.name());
  if (inserted) {
    it->second = std::make_unique<Node>();
    it->second->address = address;
    RedisOptions options = options_;
    options.host = address.host;
    options.port = address.port;
    options.unix_path.clear();
    options.master.reset();
    options.cluster_node = true;
    const int count = std::max(1, options.connections);
    for (int i = 0; i < count; ++i)
      it->second->connections.push_back(std::make_unique<RedisConnection>(loop_, options, std::vector<std::string>{script_}, i));
  }
  return *it->second;
}

RedisConnection* ClusterRouter::readyConnection(Node& node) {
  // Round-robin over the ready ones; commands of one loop turn on one
  // connection share a write (RedisStore::pick does the same, with loads).
  const size_t count = node.connections.size();
  for (size_t i = 0; i < count; ++i) {
    RedisConnection* connection = node.connections[(node.next + i) % count].get();
    if (connection->canSendNow()) {
      node.next = (node.next + i) % count;
      return connection;
    }
  }
  for (size_t i = 0; i < count; ++i) {
    RedisConnection* connection = node.connections[(node.next + i) % count].get();
    if (connection->isReady()) return connection;
  }
  return nullptr;
}

RedisConnection* ClusterRouter::anyReadyConnection() {
  for (auto& [name, node] : nodes_) {
    if (RedisConnection* connection = readyConnection(*node)) return connection;
  }
  return nullptr;
}

bool ClusterRouter::isReady() const {
  if (!has_map_ || !complete_) return false;
  for (const std::string& name : masters_) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return false;
    bool ready = false;
    for (const auto& connection : it->second->connections) ready = ready || connection->isReady();
    if (!ready) return false;
  }
  return true;
}

void ClusterRouter::send(std::string key, Build build, Reply on_reply) {
  auto attempt = std::make_shared<Attempt>();
  attempt->key = std::move(key);
  attempt->build = std::move(build);
  attempt->on_reply = std::move(on_reply);
  const std::string& name = slots_[keySlot(attempt->key)];
  RedisConnection* connection = nullptr;
  if (!name.empty()) {
    auto it = nodes_.find(name);
    if (it != nodes_.end()) connection = readyConnection(*it->second);
  }
  dispatch(std::move(attempt), connection, false);
}

void ClusterRouter::sendAny(std::vector<std::string> args, Reply on_reply) {
  auto attempt = std::make_shared<Attempt>();
  attempt->build = [args = std::move(args)](const RedisConnection&) { return args; };
  attempt->on_reply = std::move(on_reply);
  attempt->redirects = kMaxRedirects;  // no key: never redirected
  dispatch(std::move(attempt), anyReadyConnection(), false);
}

void ClusterRouter::dispatch(std::shared_ptr<Attempt> attempt, RedisConnection* connection, bool asking) {
  if (connection == nullptr) {
    // No map yet, or the node is (re)connecting: the caller bypasses Redis
    // (DESIGN invariant 5) and the map is asked for again.
    refresh();
    attempt->on_reply(nullptr, Failure::kLost, nullptr);
    return;
  }
  const std::vector<std::string> args = attempt->build(*connection);
  std::vector<std::string_view> views(args.begin(), args.end());
  bool busy = false;
  // ASK (cluster-spec "ASK redirection"): ASKING holds for the next command
  // on this connection only; the two are queued back to back, in order.
  if (asking && !connection->send({"ASKING"}, [](const redisReply*, Failure) {}, &busy)) {
    attempt->on_reply(nullptr, busy ? Failure::kBusy : Failure::kLost, nullptr);
    return;
  }
  auto on_reply = [this, attempt, connection](const redisReply* reply, Failure failure) {
    onReply(attempt, connection, reply, failure);
  };
  if (!connection->send(views, std::move(on_reply), &busy))
    attempt->on_reply(nullptr, busy ? Failure::kBusy : Failure::kLost, nullptr);
}

void ClusterRouter::onReply(std::shared_ptr<Attempt> attempt, const RedisConnection* connection,
                            const redisReply* reply, Failure failure) {
  if (reply == nullptr) {
    if (failure == Failure::kLost) refresh();  // the node may have failed over
    attempt->on_reply(nullptr, failure, nullptr);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    auto redirect = parseRedirect(std::string_view(reply->str, reply->len));
    if (redirect && attempt->redirects < kMaxRedirects) {
      ++attempt->redirects;
      Node& node = nodeFor(redirect->node);
      if (redirect->kind == Redirect::Kind::kMoved) {
        // The slot has moved for good: later commands go there at once,
        // and the rest of the map may have changed with it.
        slots_[redirect->slot] = redirect->node.name();
        if (std::find(masters_.begin(), masters_.end(), slots_[redirect->slot]) == masters_.end())
          masters_.push_back(slots_[redirect->slot]);
        refresh();
      }
      dispatch(std::move(attempt), readyConnection(node), redirect->kind == Redirect::Kind::kAsk);
      return;
    }
    if (redirect || std::string_view(reply->str, reply->len).starts_with("CLUSTERDOWN")) refresh();
  }
  attempt->on_reply(reply, failure, connection);
}

void ClusterRouter::refresh() {
  if (refreshing_) return;
  RedisConnection* connection = anyReadyConnection();
  if (connection == nullptr) return;  // the timer tries again
  refreshing_ = true;
  ClusterNode answered_by{options_.host, options_.port};
  for (const auto& [name, node] : nodes_) {
    for (const auto& candidate : node->connections)
      if (candidate.get() == connection) answered_by = node->address;
  }
  const bool sent = connection->send({"CLUSTER", "SLOTS"}, [this, answered_by](const redisReply* reply, Failure) {
    refreshing_ = false;
    onSlots(reply, answered_by);
  });
  if (!sent) refreshing_ = false;
}

void ClusterRouter::onSlots(const redisReply* reply, const ClusterNode& answered_by) {
  auto masters = parseClusterSlots(reply, answered_by);
  if (!masters || masters->empty()) {
    if (reply != nullptr) LOG_WARN("redis cluster: {} gave no usable slot map", answered_by.name());
    return;
  }
  SlotMap slots;
  std::vector<std::string> names;
  for (const auto& [address, ranges] : *masters) {
    nodeFor(address);  // connects to a master seen for the first time
    names.push_back(address.name());
    for (const auto& [start, end] : ranges)
      for (uint32_t slot = start; slot <= end; ++slot) slots[slot] = names.back();
  }
  complete_ = std::none_of(slots.begin(), slots.end(), [](const std::string& name) { return name.empty(); });
  std::sort(names.begin(), names.end());
  if (!has_map_) {
    LOG_INFO("redis cluster: slot map read from {} ({} masters)", answered_by.name(), masters->size());
  } else if (names != known_masters_) {
    // A failover or a node added or removed (not a slot moved between the same masters).
    LOG_INFO("redis cluster: the masters are now {}", fmt::join(names, ", "));
  }
  known_masters_ = names;
  masters_ = std::move(names);
  slots_ = std::move(slots);
  has_map_ = true;
}

void ClusterRouter::schedule() {
  // A tick every kStartupPoll; the map is asked for at a tick until the
  // first map (the seeds are connecting), and while a master of the map has
  // no ready connection (it died: the map names its promoted replica within
  // the cluster's node timeout, and commands for its slots bypass until
  // larder reads that map, even when no command runs into the dead node to
  // ask for it); otherwise every kRefreshInterval, which catches changes no
  // command has run into yet. isReady() is cheap: a look at each master.
  refresh_timer_.startRepeating(kStartupPoll, [this] {
    const uint64_t now = base::monoMillis();
    if (isReady() && now - last_tick_refresh_ms_ < static_cast<uint64_t>(kRefreshInterval.count())) return;
    last_tick_refresh_ms_ = now;
    refresh();
  });
}

}  // namespace larder::store
