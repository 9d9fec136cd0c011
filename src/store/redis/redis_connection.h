// RedisConnection: one hiredis async connection on a worker's loop, and the
// only owner of its redisAsyncContext.
//
// Lifecycle: store/redis/redis_link.h (connect, AUTH / SELECT, backoff,
// teardown, shared with RedisSubscriber); this class adds its handshake
// (SCRIPT LOAD and, with a generation key, the generation script) and tears
// down a connection that delivers nothing for the timeout. Commands are
// accepted only while ready; otherwise send() returns false at once and the
// caller fails fast.
//
// Ownership of commands: each command is a Command record, first in queued_
// (waiting inside larder) and then in outstanding_ (given to hiredis; FIFO,
// like Redis replies). hiredis gets a raw pointer to it as privdata and calls
// back exactly once, with a NULL reply when the context is freed. The reply
// callback runs inside hiredis: it must copy what it keeps (STYLE L5), and
// an owner that wants this connection gone from there hands it to
// net::destroyLater(). Destroying the connection frees the context and
// drops every callback.
//
// Bounded work (issue 13): at most options.max_in_flight commands, and
// about options.max_in_flight_bytes of replies (estimated from the replies
// seen so far), are given to Redis at once; the rest wait in queued_, inside
// larder, where they cost a few bytes instead of a client output buffer in
// Redis, and where one big reply delays only the commands behind it on this
// connection.
//
// Deadlines tell slow from dead (DESIGN invariant 5):
//  - a command's deadline starts when hiredis has written it to the socket;
//    past it the caller gets Failure::kLate (it bypasses), and the reply,
//    when it comes, is discarded and counted; the connection stays up;
//    the Redis latency histogram starts there too, and the wait before
//    (in queued_, then in hiredis's buffer until the loop writes) is
//    larder_redis_queue_wait_seconds;
//  - a command waits in queued_ while the commands ahead of it are answered
//    in time; once the oldest one is late it waits at most the timeout, and
//    never more than kMaxQueueWaits timeouts (kLate);
//  - a connection that owes replies and has received no byte for the
//    timeout is dead: it is torn down and everything on it fails with
//    kLost, which is what counts toward the circuit breaker;
//  - bytes waiting unread in the socket are the loop's delay, not Redis's:
//    no deadline is enforced until they are read.
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
#include "store/redis/libuv_attach.h"
#include "store/redis/redis_link.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class RedisConnection final : private RedisIoObserver, private RedisLink::Owner {
 public:
  // Why a command has no reply (kNone: it has one).
  enum class Failure {
    kNone,
    kLate,  // no reply within the timeout, but the connection is alive
    kBusy,  // not sent: the queue inside larder is full
    kLost,  // the connection failed, or is not ready
  };
  // `reply` is nullptr when the command failed without a reply (`failure`
  // says why); otherwise valid only during the call.
  using ReplyCallback = std::function<void(const redisReply* reply, Failure failure)>;

  // Starts connecting at once. `scripts` are loaded with SCRIPT LOAD during
  // the handshake; scriptSha(i) names the i-th once ready. `index` labels logs.
  RedisConnection(net::Loop& loop, const RedisOptions& options, std::vector<std::string> scripts,
                  int index);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  bool isReady() const { return link_.isReady(); }
  const std::string& scriptSha(size_t i = 0) const { return script_shas_[i]; }
  // The generation of the server this connection talks to, as its handshake
  // (or the last refreshGeneration()) found it (store/redis/generation.h);
  // empty without a generation key.
  const std::string& generation() const { return *generation_; }
  // The same, shared: a command's reply handler keeps the generation it was
  // sent under without a copy of it (16 bytes, one past the short-string
  // buffer: an allocation per lookup before, issue 13).
  const std::shared_ptr<const std::string>& sharedGeneration() const { return generation_; }
  // A command saw another generation than generation(): runs the
  // generation script again (once at a time); commands go on meanwhile.
  void refreshGeneration();
  // Commands given to Redis and not answered yet (late ones included: Redis
  // still sends their replies), and commands waiting inside larder.
  size_t inFlight() const { return outstanding_.size(); }
  size_t queued() const { return queued_.size(); }
  // A reply of more than a few KiB is arriving: commands behind it wait.
  bool isReceivingLargeReply() const;
  // A command sent now would go to Redis at once, not wait in the queue.
  bool canSendNow() const { return link_.isReady() && queued_.empty() && hasRoom(); }

  // Sends one command (binary-safe; the arguments are copied). Returns
  // false when not ready or when the queue is full (`busy` set), leaving
  // `on_reply` untouched for the caller to fail; otherwise takes it, and it
  // runs exactly once, later, unless this connection is destroyed first.
  bool send(const std::vector<std::string_view>& args, ReplyCallback&& on_reply,
            bool* busy = nullptr);

 private:
  struct Command;

  // RedisLink::Owner
  bool onLinkConnecting(redisAsyncContext* context) override;
  void onLinkDown() override;

  bool sendHandshake();
  bool queue(const std::vector<std::string_view>& args, ReplyCallback&& on_reply, bool counted);
  // Whether one more command may be given to Redis now.
  bool hasRoom() const;
  // Gives queued commands to hiredis while the in-flight bound allows.
  void pump();
  bool dispatch(std::unique_ptr<Command> command, std::string_view formatted);
  void armTimer();
  // `sha`: where a SCRIPT LOAD's reply goes.
  void onReplyHandshake(const redisReply* reply, std::string_view what, bool last,
                        std::string* sha = nullptr);
  // The generation script's reply; false when it is malformed.
  bool takeGeneration(const redisReply* reply);
  void becomeReady();
  void checkDeadlines();
  // Deadlines run on a clock that stops while this loop is stalled: a loop
  // that did not run (a long turn, a process or a CPU that was not
  // scheduled, a paused VM) says nothing about Redis, which may not have
  // run either (issue 13: a CPU taken by another process opened the breaker).
  uint64_t deadlineClockMs() const;
  // How often deadlines are checked.
  base::Duration deadlineTick() const;
  // At each deadline check: a check far later than its tick stops the
  // deadline clock for the stall.
  void creditLoopStall(uint64_t now_ms);
  void failQueued(Failure failure);
  // Bytes that arrived and this loop has not read yet (FIONREAD).
  bool hasUnreadBytes() const;
  std::string describe() const { return link_.describe(); }

  void onBytesRead(size_t bytes) override;
  void onOutputFlushed() override;

  static void onReply(redisAsyncContext* context, void* reply, void* privdata);

  const RedisOptions options_;
  const std::vector<std::string> scripts_;
  std::vector<std::string> script_shas_;  // one per script
  std::shared_ptr<const std::string> generation_ = std::make_shared<const std::string>();
  bool refreshing_generation_ = false;
  std::deque<std::unique_ptr<Command>> queued_;
  std::deque<std::unique_ptr<Command>> outstanding_;
  std::string scratch_;  // the command being formatted (queue())
  size_t unwritten_ = 0;  // the last `unwritten_` of outstanding_ are still in hiredis's buffer
  uint64_t stalled_ms_ = 0;     // stalls not counted against Redis, in total
  uint64_t last_check_ms_ = 0;  // the previous deadline check (monotonic ms; 0: none since armed)
  uint64_t last_read_ms_ = 0;  // when bytes last arrived (deadline clock)
  size_t reply_bytes_ = 0;     // expected reply size: the largest, decaying; 0: none seen
  net::Timer deadline_timer_;
  // Last: its destructor must not outlive what hiredis's callbacks point at
  // (the destructor stops it first anyway).
  RedisLink link_;
};

}  // namespace larder::store
