// ClusterShardSubscriber: the invalidation channel on a Redis Cluster with
// sharded pub/sub (Redis 7: SSUBSCRIBE/SPUBLISH; issue 16). A plain PUBLISH
// is broadcast over the cluster bus to every node; an SPUBLISH goes only to
// the nodes of the channel's shard (the master of its slot and its
// replicas), so invalidations cost the other shards nothing.
//
// One channel, one hiredis connection, on one worker's loop. It connects to
// a seed and sends SUBSCRIBE and SSUBSCRIBE for the channel, pipelined:
//  - SSUBSCRIBE answered -MOVED (the node does not serve the channel's
//    slot): it reconnects to the named node at once;
//  - an `sunsubscribe` push (the slot moved away, or the node was demoted
//    by a failover): it reconnects to the same node, which redirects it;
//  - "unknown command" (before Redis 7): it stays on the plain SUBSCRIBE,
//    which hears PUBLISH from every node (the publishers fall back too:
//    ClusterStore::writeVersions);
//  - a lost or refused connection: the next seed, with backoff.
// The connection's lifecycle (address, connect, AUTH, connect timeout,
// teardown) is a RedisLink (store/redis/redis_link.h) per node: a move
// destroys the link on a later turn and starts one to the next node.
// The plain SUBSCRIBE always rides along, after SSUBSCRIBE: hiredis 0.14
// knows no SSUBSCRIBE (it answers it like any command, from its reply
// queue) and only delivers push messages on a connection in subscribed
// mode, which SUBSCRIBE puts it in; the channel's callback then also
// receives the `smessage` and `sunsubscribe` pushes, which carry the same
// channel name. And publishers that use PUBLISH are still heard.
//
// The owner hears every message and every change of state (true: both
// subscriptions confirmed, or SSUBSCRIBE unsupported; false: lost), on the
// loop, never inside hiredis or the constructor. Messages may have been
// missed between a false and the next true.
#pragma once

#include <hiredis/async.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/defer.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/redis/cluster_slots.h"
#include "store/redis/redis_link.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class ClusterShardSubscriber final : private RedisLink::Owner {
 public:
  using MessageHandler = std::function<void(std::string_view message)>;
  using StateHandler = std::function<void(bool subscribed)>;

  // Redirects followed in a row before the backoff applies (a map that
  // keeps changing must not spin the loop).
  static constexpr int kMaxRedirects = 3;

  // Starts connecting to the first of `seeds` (at least one) at once.
  ClusterShardSubscriber(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> seeds,
                         std::string channel, MessageHandler on_message, StateHandler on_state, int index);
  ~ClusterShardSubscriber();
  ClusterShardSubscriber(const ClusterShardSubscriber&) = delete;
  ClusterShardSubscriber& operator=(const ClusterShardSubscriber&) = delete;

  bool isSubscribed() const { return subscribed_; }
  // Subscribed through the shard (SSUBSCRIBE confirmed), not the fallback.
  bool isSharded() const { return subscribed_ && shard_ == Shard::kConfirmed; }
  const std::string& channel() const { return channel_; }
  std::string nodeForTest() const { return node_.name(); }

 private:
  enum class Shard { kPending, kConfirmed, kUnsupported };

  // RedisLink::Owner
  bool onLinkConnecting(redisAsyncContext* context) override;
  void onLinkDown() override;

  // Starts a link to node_.
  void connect();
  // A reply on the current link's live context (not a condemned one's).
  bool isCurrent(const redisAsyncContext* context) const;
  void onPush(const redisReply* reply);
  void onShardError(const redisReply* reply);
  void maybeConfirmed();
  // Safe inside hiredis: leaves the node on a later turn for `next` at once
  // (a redirect), or with an empty host for the next seed after the backoff.
  void moveLater(ClusterNode next = {});
  void moveOn();
  void markLost();

  static void onPubsub(redisAsyncContext* context, void* reply, void* privdata);
  static void onShard(redisAsyncContext* context, void* reply, void* privdata);

  net::Loop& loop_;
  const RedisOptions options_;
  const std::vector<ClusterNode> seeds_;
  const std::string channel_;
  const MessageHandler on_message_;
  const StateHandler on_state_;
  const int index_;
  net::Deferrer deferred_;
  ClusterNode node_;          // connected or connecting to
  ClusterNode redirect_;      // where moveOn() goes, if a node said so
  size_t next_seed_ = 0;
  int redirects_ = 0;         // in a row
  bool moving_ = false;       // moveOn() is posted: the link is condemned
  bool plain_ = false;        // SUBSCRIBE confirmed on this context
  Shard shard_ = Shard::kPending;
  bool subscribed_ = false;   // as last told to the owner
  bool down_logged_ = false;  // this outage was warned of, on some link
  base::Duration backoff_;
  net::Timer reconnect_timer_;  // the next seed's link, after the backoff
  // A link that finds no address or cannot open a socket retries its node
  // without telling its owner: after connect_timeout, move on instead.
  net::Timer stuck_timer_;
  // Last: destroyed first, while the privdata of its callbacks (this) is whole.
  std::unique_ptr<RedisLink> link_;
};

}  // namespace larder::store
