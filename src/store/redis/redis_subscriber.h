// RedisSubscriber: one hiredis async connection in pub/sub mode on a
// worker's loop, and the only owner of its redisAsyncContext. Generic: any
// feature that listens to Redis pub/sub registers a handler for a channel
// (the fill lock's notices, cache/fill_lock.h, are the first).
//
// Lifecycle: idle until a channel is asked for; then connecting (AUTH if
// configured, then SUBSCRIBE to every channel) -> subscribed once Redis
// confirms a channel -> on any failure (disconnect, an error reply, no
// confirmation within connect_timeout) the context is freed and a reconnect
// is scheduled with exponential backoff, as RedisConnection does. A channel
// stays subscribed once asked for (there are few); handlers come and go.
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

#include "net/loop.h"
#include "net/timer.h"
#include "net/defer.h"
#include "store/redis/redis_endpoint.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class RedisSubscriber {
 public:
  using MessageHandler = std::function<void(std::string_view message)>;
  // true: the channel is subscribed (again); false: it was lost.
  using StateHandler = std::function<void(bool subscribed)>;

  // RAII registration of one handler. Destroy it before the subscriber.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(RedisSubscriber* owner, uint64_t id) : owner_(owner), id_(id) {}
    ~Subscription() { reset(); }
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    void reset();

   private:
    RedisSubscriber* owner_ = nullptr;
    uint64_t id_ = 0;
  };

  // `index` labels logs. Nothing connects until the first subscribe().
  RedisSubscriber(net::Loop& loop, const RedisOptions& options, int index);
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
  enum class State {
    kIdle,        // no channel asked for yet
    kBackoff,     // no context; a reconnect is scheduled
    kConnecting,  // context exists; AUTH / SUBSCRIBE in flight or confirmed
    kFailing,     // context condemned; teardown on the next loop turn
  };
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

  void unsubscribe(uint64_t id);
  // Finds the address (a lookup, for a name), then connects.
  void startConnect();
  void connectNow();
  bool sendSubscribe(Channel& channel);
  void onSubscribeReply(Channel& channel, const redisReply* reply);
  void onAuthReply(const redisReply* reply);
  void checkConfirmed();
  void failLater(std::string_view why);
  void teardown();
  void scheduleReconnect();
  // Every subscribed channel is lost: tell its handlers.
  void markAllLost();
  void postState(const std::string& channel, bool subscribed);
  void dispatch(const std::string& channel, const std::string& message);
  void logFailure(std::string_view why);
  std::string describe() const;

  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  static void onAuth(redisAsyncContext* context, void* reply, void* privdata);
  static void onPubsub(redisAsyncContext* context, void* reply, void* privdata);

  net::Loop& loop_;
  const RedisOptions options_;
  RedisEndpoint endpoint_;  // after options_, which it reads
  const int index_;
  // Declared first: destroyed last, dropping what has not run.
  net::Deferrer deferred_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<uint64_t, Handler> handlers_;
  uint64_t next_id_ = 1;
  redisAsyncContext* context_ = nullptr;  // owned; see teardown()
  State state_ = State::kIdle;
  base::Duration backoff_;
  bool down_logged_ = false;
  int callback_depth_ = 0;  // > 0 while hiredis is calling us back
  net::Timer confirm_timer_;
  net::Timer reconnect_timer_;
  // With Sentinel: how often the master is checked, and which one this
  // connection reached.
  static constexpr base::Duration kMasterCheckInterval{200};
  net::Timer master_timer_;
  uint64_t master_version_ = 0;
};

}  // namespace larder::store
