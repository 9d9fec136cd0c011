// ClusterSubscriber: pub/sub on a Redis Cluster for one worker's loop
// (issue 16): the fill lock's notices and the tier's invalidations.
//
// A PUBLISH on any node reaches the subscribers of every node (the cluster
// bus forwards it), so one subscription on one node hears the whole
// cluster. That node may fail: the subscriber is a RedisSubscriber on one
// of the nodes it was given, and when a channel has stayed lost for
// kLostLimit (the node is down, or was failed over and does not answer),
// it is dropped and the next node is tried, round the list. Handlers hear
// the loss and the return through their state callback, exactly as with a
// RedisSubscriber (messages may have been missed in between).
//
// Ownership: the owner of the fill lock or the worker owns it; it owns the
// current RedisSubscriber and that subscriber's subscriptions (one per
// channel, dispatching to every handler of the channel). Callbacks run on
// the loop, never inside hiredis or subscribe(); they may subscribe and
// unsubscribe, but must not destroy the ClusterSubscriber.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/loop.h"
#include "net/timer.h"
#include "net/defer.h"
#include "store/redis/cluster_slots.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_subscriber.h"

namespace larder::store {

class ClusterSubscriber {
 public:
  using MessageHandler = RedisSubscriber::MessageHandler;
  using StateHandler = RedisSubscriber::StateHandler;

  // How often the channels are checked; a channel lost at two checks in a
  // row (so for at least one interval) moves the subscriber to the next node.
  static constexpr base::Duration kCheckInterval{500};

  // RAII registration of one handler. Destroy it before the subscriber.
  using Subscription = SubscriptionHandle<ClusterSubscriber>;

  // `options` is the template of the node connection (host and port are
  // replaced by each of `nodes` in turn; at least one). Nothing connects
  // until the first subscribe().
  ClusterSubscriber(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> nodes, int index);
  ~ClusterSubscriber();
  ClusterSubscriber(const ClusterSubscriber&) = delete;
  ClusterSubscriber& operator=(const ClusterSubscriber&) = delete;

  // As RedisSubscriber::subscribe.
  [[nodiscard]] Subscription subscribe(const std::string& channel, MessageHandler on_message,
                                       StateHandler on_state = {});
  bool isSubscribed(const std::string& channel) const;

  // The node subscribed to now ("host:port").
  std::string nodeForTest() const { return nodes_[node_].name(); }

 private:
  struct Handler {
    std::string channel;
    MessageHandler on_message;
    StateHandler on_state;
  };
  struct Channel {
    RedisSubscriber::Subscription subscription;  // on subscriber_
    bool subscribed = false;
  };

  friend Subscription;
  void unsubscribe(uint64_t id);
  // Subscribes `channel` on the current node's subscriber.
  void attach(const std::string& channel, Channel& state);
  void check();
  // Drops the current node's subscriber and subscribes on the next node.
  void moveOn();
  void onState(const std::string& channel, bool subscribed);
  void onMessage(const std::string& channel, std::string_view message);
  std::vector<uint64_t> handlersOf(const std::string& channel) const;

  net::Loop& loop_;
  const RedisOptions options_;
  const std::vector<ClusterNode> nodes_;
  const int index_;
  // Declared first: destroyed last, dropping what has not run.
  net::Deferrer deferred_;
  std::map<uint64_t, Handler> handlers_;
  uint64_t next_id_ = 1;
  size_t node_ = 0;
  int strikes_ = 0;  // consecutive checks that found a channel lost
  bool move_logged_ = false;  // since the last subscription confirmed
  std::unique_ptr<RedisSubscriber> subscriber_;
  std::map<std::string, Channel> channels_;  // their subscriptions go before subscriber_
  net::Timer check_timer_;
};

}  // namespace larder::store
