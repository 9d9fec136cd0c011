// RedisConnection: one hiredis async connection on a worker's loop, and the
// only owner of its redisAsyncContext.
//
// Lifecycle: connecting (TCP connect, then AUTH / SELECT / SCRIPT LOAD
// pipelined) -> ready -> on any failure (disconnect, error in the handshake,
// an overdue command) the context is freed and a reconnect is scheduled with
// exponential backoff. Commands are accepted only while ready; otherwise
// send() returns false at once and the caller fails fast.
//
// Ownership of commands: each outstanding command is a Command record in
// outstanding_ (FIFO, like Redis replies); hiredis gets a raw pointer to it
// as privdata and calls back exactly once, with a NULL reply when the
// context is freed. The reply callback runs inside hiredis: it must copy what
// it keeps (STYLE L5) and must not destroy this connection. Destroying the
// connection frees the context and drops every outstanding callback.
//
// Deadlines: one repeating timer per connection, running while commands are
// outstanding, checks the oldest one; if overdue the connection is declared
// failed and all its commands fail together (they are stuck behind it).
#pragma once

#include <hiredis/async.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class RedisConnection {
 public:
  // `reply` is nullptr when the command failed without a reply (timeout,
  // disconnect); otherwise valid only during the call.
  using ReplyCallback = std::function<void(const redisReply* reply)>;

  // Starts connecting at once. `script` is loaded with SCRIPT LOAD during
  // the handshake; scriptSha() names it once ready. `index` labels logs.
  RedisConnection(net::Loop& loop, const RedisOptions& options, std::string script, int index);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  bool isReady() const { return state_ == State::kReady; }
  const std::string& scriptSha() const { return script_sha_; }

  // Sends one command (binary-safe; hiredis copies the arguments). Returns
  // false when not ready, leaving `on_reply` untouched for the caller to
  // fail; otherwise takes it, and it runs exactly once, later, unless this
  // connection is destroyed first.
  bool send(const std::vector<std::string_view>& args, ReplyCallback&& on_reply);

 private:
  enum class State {
    kBackoff,     // no context; a reconnect is scheduled
    kConnecting,  // context exists; handshake in flight
    kReady,       // accepting commands
    kFailing,     // context exists but is condemned; teardown is scheduled
  };
  struct Command {
    ReplyCallback on_reply;
    uint64_t deadline_ms;  // monotonic clock: loop time may be stale mid-turn
    base::MonoTime sent_at;
    bool counted = false;    // a cache command (not the handshake): in the metrics
    bool timed_out = false;  // failed by checkDeadline(): a timeout, not an error
  };

  void startConnect();
  void sendHandshake();
  bool sendInternal(const std::vector<std::string_view>& args, ReplyCallback&& on_reply,
                    uint64_t deadline_ms);
  void onHandshakeReply(const redisReply* reply, std::string_view what, bool last);
  void checkDeadline();
  // From a hiredis callback, where the context may not be freed: mark it
  // failed and tear down on the next loop turn.
  void failLater(std::string_view why);
  // Frees the context (never from inside a hiredis callback) and schedules
  // the reconnect.
  void teardown();
  void scheduleReconnect();
  void logFailure(std::string_view why);
  std::string describe() const;

  static void onConnect(const redisAsyncContext* context, int status);
  static void onDisconnect(const redisAsyncContext* context, int status);
  static void onReply(redisAsyncContext* context, void* reply, void* privdata);

  net::Loop& loop_;
  const RedisOptions options_;
  const std::string script_;
  const int index_;
  redisAsyncContext* context_ = nullptr;  // owned; see teardown()
  State state_ = State::kBackoff;
  std::string script_sha_;
  std::deque<std::unique_ptr<Command>> outstanding_;
  base::Duration backoff_;
  bool down_logged_ = false;  // the first failure logs at warn, retries at debug
  int callback_depth_ = 0;    // > 0 while hiredis is calling us back
  net::Timer deadline_timer_;
  net::Timer reconnect_timer_;
};

}  // namespace larder::store
