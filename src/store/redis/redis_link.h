// RedisLink: the connection lifecycle that RedisConnection (commands) and
// RedisSubscriber (pub/sub) share, and the only owner of their
// redisAsyncContext.
//
// Lifecycle: idle until start(); then backoff -> connecting (the address is
// found, store/redis/redis_endpoint.h; the context is opened; AUTH and
// SELECT are queued, then the owner's own handshake, all pipelined) ->
// ready once the owner says its handshake is complete (markReady()) -> on a
// failure (disconnect, a connect error, an error in the handshake, no
// markReady() within connect_timeout, a Sentinel failover, or the owner's
// fail()/drop()) the context is freed, the owner hears onLinkDown(), and a
// reconnect follows at once when the name has another address, otherwise
// after an exponential backoff (reconnect_min doubling to reconnect_max).
//
// Ownership: the owner holds the link as a member and calls stop() from its
// destructor before it frees what hiredis's callbacks point at (their
// privdata): the free calls every outstanding callback once with a NULL
// reply. The owner's callbacks run inside hiredis, where the context may not
// be freed: they use fail(), which tears down on a later loop turn. The
// link's own deferred work is guarded by its liveness (net/weak_ref.h).
// Threading: the loop's thread.
#pragma once

#include <hiredis/async.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/time.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/weak_ref.h"
#include "store/redis/libuv_attach.h"
#include "store/redis/redis_endpoint.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class RedisLink {
 public:
  class Owner {
   public:
    // A new context is connecting, AUTH and SELECT already queued: queue the
    // owner's handshake on it. False when that failed (the link fails).
    virtual bool onLinkConnecting(redisAsyncContext* context) = 0;
    // The context is gone (torn down, disconnected, or never connected):
    // fail what waits for it. May run inside a hiredis callback.
    virtual void onLinkDown() = 0;

   protected:
    ~Owner() = default;
  };

  struct Settings {
    std::string_view label = "redis";  // log prefix: "redis", "redis subscriber"
    int index = 0;                     // labels logs
    RedisIoObserver* observer = nullptr;
    ReplyObjects replies = ReplyObjects::kHiredis;
    bool select_database = true;    // pub/sub channels belong to no database
    bool count_reconnects = false;  // larder_redis_reconnects_total
    // With Sentinel: check the master periodically and reconnect when it
    // moved (an owner that sends commands checks masterMoved() per command).
    bool watch_master = false;
    // The owner already warned of this outage on an earlier link (one that
    // moves between nodes): failures log at debug, the connection at info.
    bool down_logged = false;
  };

  enum class State {
    kIdle,        // not started
    kBackoff,     // no context; a reconnect is scheduled or the address is being found
    kConnecting,  // context exists; handshake in flight
    kReady,       // the owner's handshake is complete
    kFailing,     // context exists but is condemned; teardown on the next turn
  };

  RedisLink(net::Loop& loop, const RedisOptions& options, Owner& owner, Settings settings);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Starts connecting (once; later calls do nothing).
  void start();
  // The owner's handshake is complete: resets the backoff.
  void markReady();
  // Safe anywhere, hiredis callbacks included: logs `why` and tears down on
  // a later turn. Only while connecting or ready.
  void fail(std::string_view why);
  // Not from inside a hiredis callback: logs `why` and tears down now.
  void drop(std::string_view why);
  // Frees the context without telling the owner and stops reconnecting:
  // the owner's destructor. Idempotent.
  void stop();

  State state() const { return state_; }
  bool isReady() const { return state_ == State::kReady; }
  // A context that takes commands (connecting or ready, not condemned).
  bool isLive() const { return state_ == State::kConnecting || state_ == State::kReady; }
  redisAsyncContext* context() const { return context_; }
  // Sentinel moved the master since this connection was started.
  bool masterMoved() const;
  std::string describe() const;
  // The first failure after being up logs at warn, the retries at debug.
  void logFailure(std::string_view why);

  // Counts the owner's calls out of a hiredis callback: stop() inside one
  // would free the context under hiredis (checked in debug builds).
  class CallbackScope {
   public:
    explicit CallbackScope(RedisLink& link) : link_(link) { ++link_.callback_depth_; }
    ~CallbackScope() { --link_.callback_depth_; }
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;

   private:
    RedisLink& link_;
  };

 private:
  void startConnect();
  void connectNow();
  bool sendAuthAndSelect();
  void teardown();
  void scheduleReconnect();

  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  static void onHandshakeReply(redisAsyncContext* context, void* reply, void* privdata);

  net::Loop& loop_;
  const RedisOptions options_;
  RedisEndpoint endpoint_;  // after options_, which it reads
  Owner& owner_;
  const Settings settings_;
  redisAsyncContext* context_ = nullptr;  // owned; see teardown()
  State state_ = State::kIdle;
  base::Duration backoff_;
  uint64_t master_version_ = 0;  // the Sentinel master connected to
  bool down_logged_ = false;
  int callback_depth_ = 0;
  net::Timer connect_timer_;
  net::Timer reconnect_timer_;
  net::Timer master_timer_;
  net::LivenessToken liveness_;  // last member: dies first
};

}  // namespace larder::store
