// RedisSubscriber: one hiredis async connection in pub/sub mode on a
// worker's loop, and the only owner of its redisAsyncContext. Generic: any
// feature that listens to Redis pub/sub registers a handler for a channel
// (the fill lock's notices, cache/fill_lock.h, are the first).
//
// Lifecycle: store/redis/redis_link.h, shared with RedisConnection: idle
// until a channel is asked for; then connecting (AUTH if configured, then
// SUBSCRIBE to every channel) -> ready once Redis confirms every channel ->
// on any failure (disconnect, an error reply, no confirmation within
// connect_timeout, a Sentinel failover) the context is freed and a reconnect
// is scheduled with exponential backoff. A channel stays subscribed once
// asked for (there are few); handlers come and go.
//
// Pub/sub delivers a message only to connections subscribed when it is
// published, so a handler hears through its state callback whenever its
// channel is lost and whenever it is back: messages may have been missed in
// between, and the handler catches up by other means.
//
// Callbacks run on the loop through a net::Deferrer, never inside hiredis and
// never inside subscribe(). They may subscribe and unsubscribe, but must not
// destroy the subscriber.
#pragma once

#include <hiredis/async.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/defer.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/redis/redis_link.h"
#include "store/redis/redis_options.h"

namespace larder::store {

// RAII registration of one handler with a subscriber `S` (RedisSubscriber,
// ClusterSubscriber, which has a private unsubscribe(id)): destroying or
// resetting it unregisters the handler. Destroy it before the subscriber.
template <typename S>
class SubscriptionHandle {
 public:
  SubscriptionHandle() = default;
  ~SubscriptionHandle() { reset(); }
  SubscriptionHandle(SubscriptionHandle&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)), id_(std::exchange(other.id_, 0)) {}
  SubscriptionHandle& operator=(SubscriptionHandle&& other) noexcept {
    if (this != &other) {
      reset();
      owner_ = std::exchange(other.owner_, nullptr);
      id_ = std::exchange(other.id_, 0);
    }
    return *this;
  }
  SubscriptionHandle(const SubscriptionHandle&) = delete;
  SubscriptionHandle& operator=(const SubscriptionHandle&) = delete;

  void reset() {
    S* owner = std::exchange(owner_, nullptr);
    const uint64_t id = std::exchange(id_, 0);
    if (owner != nullptr) owner->unsubscribe(id);
  }

 private:
  friend S;
  SubscriptionHandle(S* owner, uint64_t id) : owner_(owner), id_(id) {}

  S* owner_ = nullptr;
  uint64_t id_ = 0;
};

class RedisSubscriber final : private RedisLink::Owner {
 public:
  using MessageHandler = std::function<void(std::string_view message)>;
  // true: the channel is subscribed (again); false: it was lost.
  using StateHandler = std::function<void(bool subscribed)>;

  // RAII registration of one handler. Destroy it before the subscriber.
  using Subscription = SubscriptionHandle<RedisSubscriber>;

  // `index` labels logs. Nothing connects until the first subscribe().
  // `down_logged`: the owner already warned of this outage on an earlier
  // subscriber (ClusterSubscriber, moving between nodes), so a first failure
  // logs at debug (RedisLink::Settings::down_logged).
  RedisSubscriber(net::Loop& loop, const RedisOptions& options, int index, bool down_logged = false);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // `on_message` gets every message on `channel` from when Redis confirms
  // the subscription; `on_state` (optional) gets every change of it, and
  // true at once (later, on the loop) if it is already subscribed.
  [[nodiscard]] Subscription subscribe(const std::string& channel, MessageHandler on_message,
                                       StateHandler on_state = {});
  bool isSubscribed(const std::string& channel) const;

 private:
  // hiredis's privdata for a channel's SUBSCRIBE: it stays valid while the
  // context lives (the context is freed before the channels).
  struct Channel {
    RedisSubscriber* owner;
    std::string name;
    bool subscribed = false;
  };
  struct Handler {
    std::string channel;
    MessageHandler on_message;
    StateHandler on_state;
  };

  friend Subscription;
  void unsubscribe(uint64_t id);
  // RedisLink::Owner
  bool onLinkConnecting(redisAsyncContext* context) override;
  void onLinkDown() override;

  bool sendSubscribe(Channel& channel);
  void onSubscribeReply(Channel& channel, const redisReply* reply);
  void checkConfirmed();
  // Every subscribed channel is lost: tell its handlers.
  void markAllLost();
  void postState(const std::string& channel, bool subscribed);
  void dispatch(const std::string& channel, const std::string& message);
  std::string describe() const { return link_.describe(); }

  static void onPubsub(redisAsyncContext* context, void* reply, void* privdata);

  const RedisOptions options_;
  // Drops what has not run when the subscriber goes.
  net::Deferrer deferred_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<uint64_t, Handler> handlers_;
  uint64_t next_id_ = 1;
  // A channel subscribed after the link was ready must still be confirmed.
  net::Timer confirm_timer_;
  // Last: the destructor stops it before the channels (hiredis's privdata)
  // go.
  RedisLink link_;
};

}  // namespace larder::store
