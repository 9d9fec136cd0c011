#include "store/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "base/assert.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/store.h"
#include "store/redis/generation.h"
#include "store/redis/resp.h"

namespace larder::store {

namespace {

// How often deadlines are checked: a command fails at most this long after
// its deadline.
base::Duration tickFor(base::Duration timeout) {
  return std::clamp(timeout / 5, base::Duration(1), base::Duration(50));
}

uint64_t toMs(base::MonoTime time) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

uint64_t monoNowMs() { return toMs(base::MonoClock::now()); }

// Bytes of a reply still being received above which a connection is not
// offered new commands while others are free (isReceivingLargeReply()).
constexpr size_t kLargeReplyBytes = 16 * 1024;

// A queued command waits at most this many timeouts, however well the
// commands ahead of it are answered (DESIGN invariant 5 bounds the wait).
constexpr uint64_t kMaxQueueWaits = 8;

// The bytes of a reply's strings (MGET: the entry and the versions).
size_t replyBytes(const redisReply* reply, int depth = 0) {
  size_t bytes = reply->len;
  if (reply->type == REDIS_REPLY_ARRAY && depth < 2) {
    for (size_t i = 0; i < reply->elements; ++i) bytes += replyBytes(reply->element[i], depth + 1);
  }
  return bytes;
}

}  // namespace

struct RedisConnection::Command {
  RedisConnection* owner = nullptr;  // hiredis's context data is the link
  ReplyCallback on_reply;
  // The command in the protocol, while it waits in queued_ (hiredis copies
  // it into its output buffer when it is dispatched).
  std::string formatted;
  base::MonoTime queued_at{};  // send() took it
  // Given to hiredis, then written to the socket: where its round trip
  // starts, like its deadline.
  base::MonoTime sent_at{};
  // The same two on the deadline clock; once written, the command's
  // deadline is sent_ms + the timeout.
  uint64_t queued_ms = 0;
  uint64_t sent_ms = 0;
  bool counted = false;  // a cache command (not the handshake): in the metrics
  bool written = false;
  bool late = false;       // its caller got kLate; the reply will be discarded
  bool timed_out = false;  // failed with a silent connection: counted as a timeout
};

RedisConnection::RedisConnection(net::Loop& loop, const RedisOptions& options, std::vector<std::string> scripts,
                                 int index)
    : options_(options),
      scripts_(std::move(scripts)),
      script_shas_(scripts_.size()),
      deadline_timer_(loop),
      link_(loop, options_, *this,
            RedisLink::Settings{.label = "redis",
                                .index = index,
                                .observer = this,
                                .replies = ReplyObjects::kArena,
                                .select_database = true,
                                .count_reconnects = true,
                                .watch_master = false}) {
  link_.start();
}

RedisConnection::~RedisConnection() {
  // Freeing the context from inside one of its callbacks would free it under
  // hiredis (RedisStore delivers completions through a net::Deferrer for
  // this; link_.stop() checks it).
  // hiredis calls every outstanding callback once more, with a NULL reply,
  // while freeing; the owner is being destroyed, so none may reach it.
  for (auto& command : outstanding_) command->on_reply = nullptr;
  link_.stop();
  base::metrics::redis_in_flight.dec(static_cast<int64_t>(outstanding_.size()));
  base::metrics::redis_queued.dec(static_cast<int64_t>(queued_.size()));
}

bool RedisConnection::isReceivingLargeReply() const {
  const redisAsyncContext* context = link_.context();
  if (context == nullptr || context->c.reader == nullptr) return false;
  const redisReader* reader = context->c.reader;
  return reader->len - reader->pos > kLargeReplyBytes;
}

bool RedisConnection::send(const std::vector<std::string_view>& args, ReplyCallback&& on_reply,
                           bool* busy) {
  if (!link_.isReady()) return false;
  // Sentinel moved the master: this connection may talk to a demoted one
  // (read-only, or about to be). Reconnect now; this command bypasses.
  if (link_.masterMoved()) {
    link_.fail("the master moved (Sentinel)");
    return false;
  }
  const bool goes_now = queued_.empty() && hasRoom();
  if (!goes_now && queued_.size() >= static_cast<size_t>(std::max(0, options_.max_queued))) {
    if (busy != nullptr) *busy = true;
    return false;
  }
  return queue(args, std::move(on_reply), true);
}

bool RedisConnection::queue(const std::vector<std::string_view>& args, ReplyCallback&& on_reply,
                            bool counted) {
  // Formatted here rather than by redisFormatCommandArgv (an argv copy, a
  // malloc and sprintf per argument): into a buffer kept across commands,
  // which hiredis copies into its output buffer when the command goes out.
  scratch_.clear();
  resp::appendCommand(scratch_, args);
  auto command = std::make_unique<Command>();
  command->owner = this;
  command->queued_at = base::MonoClock::now();
  command->queued_ms = deadlineClockMs();
  command->counted = counted;
  // The handshake goes out at once, ahead of any bound: nothing else is sent
  // before the connection is ready.
  if (!counted || (queued_.empty() && hasRoom())) {
    Command* raw = command.get();
    if (!dispatch(std::move(command), scratch_)) return false;
    raw->on_reply = std::move(on_reply);
    return true;
  }
  command->formatted = scratch_;
  command->on_reply = std::move(on_reply);
  queued_.push_back(std::move(command));
  base::metrics::redis_queued.inc();
  armTimer();
  return true;
}

bool RedisConnection::dispatch(std::unique_ptr<Command> command, std::string_view formatted) {
  Command* raw = command.get();
  // Queued before the call so the privdata pointer exists; replies and the
  // NULL replies of a free come back in this order.
  outstanding_.push_back(std::move(command));
  if (redisAsyncFormattedCommand(link_.context(), &RedisConnection::onReply, raw, formatted.data(),
                                 formatted.size()) != REDIS_OK) {
    outstanding_.pop_back();
    return false;
  }
  raw->sent_at = base::MonoClock::now();
  raw->sent_ms = deadlineClockMs();
  ++unwritten_;
  base::metrics::redis_in_flight.inc();
  armTimer();
  return true;
}

bool RedisConnection::hasRoom() const {
  if (outstanding_.empty()) return true;
  if (outstanding_.size() >= static_cast<size_t>(std::max(1, options_.max_in_flight))) return false;
  // Large values: few at a time, so that Redis does not hold a backlog of
  // them in its output buffer and a reply is read soon after it is written.
  return (outstanding_.size() + 1) * reply_bytes_ <= options_.max_in_flight_bytes;
}

void RedisConnection::pump() {
  while (link_.isReady() && !queued_.empty() && hasRoom()) {
    std::unique_ptr<Command> command = std::move(queued_.front());
    queued_.pop_front();
    base::metrics::redis_queued.dec();
    ReplyCallback on_reply = std::move(command->on_reply);
    Command* raw = command.get();
    const std::string formatted = std::move(command->formatted);
    if (!dispatch(std::move(command), formatted)) {
      if (on_reply) on_reply(nullptr, Failure::kLost);
      continue;
    }
    raw->on_reply = std::move(on_reply);
  }
}

void RedisConnection::armTimer() {
  if (deadline_timer_.isActive()) return;
  last_check_ms_ = monoNowMs();
  deadline_timer_.startRepeating(deadlineTick(), [this] { checkDeadlines(); });
}

bool RedisConnection::onLinkConnecting(redisAsyncContext* /*context*/) {
  last_read_ms_ = 0;
  return sendHandshake();
}

void RedisConnection::onLinkDown() { failQueued(Failure::kLost); }

namespace {

// A Redis Cluster node's generation is its own run (store/redis/
// cluster_store.h): a generation key would live on one node only.
std::vector<std::string_view> generationCommand(const RedisOptions& options, const std::string& ttl) {
  if (options.cluster_node) return {"EVAL", nodeGenerationScript(), "0"};
  return {"EVAL", generationScript(), "1", options.generation_key, ttl};
}

}  // namespace

bool RedisConnection::sendHandshake() {
  // After the link's AUTH and SELECT: hiredis buffers these until the socket
  // connects; they go out pipelined and the last reply makes the connection
  // ready.
  bool sent = true;
  const bool with_generation = !options_.generation_key.empty();
  for (size_t i = 0; i < scripts_.size(); ++i) {
    const bool last = !with_generation && i + 1 == scripts_.size();
    sent = sent && queue(
                       {"SCRIPT", "LOAD", scripts_[i]},
                       [this, last, i](const redisReply* r, Failure) {
                         onReplyHandshake(r, "SCRIPT LOAD", last, &script_shas_[i]);
                       },
                       false);
  }
  // Last: the connection is ready only once it knows its server's
  // generation, so no command of a restarted server's larder can read a
  // version of the run before (store/redis/generation.h).
  if (with_generation) {
    const std::string ttl = std::to_string(cache::kEpochTtl.count());
    sent = sent && queue(
                       generationCommand(options_, ttl),
                       [this](const redisReply* r, Failure) {
                         if (r == nullptr || link_.state() != RedisLink::State::kConnecting) return;
                         if (r->type == REDIS_REPLY_ERROR) {
                           onReplyHandshake(r, "the generation script", true);
                         } else if (!takeGeneration(r)) {
                           link_.fail("the generation script returned an unexpected reply");
                         } else {
                           becomeReady();
                         }
                       },
                       false);
  }
  return sent;
}

bool RedisConnection::takeGeneration(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len == 0 ||
      reply->element[1]->type != REDIS_REPLY_INTEGER) {
    return false;
  }
  std::string generation(reply->element[0]->str, reply->element[0]->len);
  if (reply->element[1]->integer == 1) {
    // This server holds no data of the generation before: a first start, a
    // restart (from a snapshot or empty), a failover, or an evicted key.
    base::metrics::redis_generations.inc();
    LOG_INFO("redis {}: new generation {} (was it restarted?); entries stored before are misses",
             describe(), generation);
  } else if (!generation_->empty() && generation != *generation_) {
    LOG_INFO("redis {}: generation {} (was {})", describe(), generation, *generation_);
  }
  if (generation != *generation_) generation_ = std::make_shared<const std::string>(std::move(generation));
  return true;
}

void RedisConnection::refreshGeneration() {
  if (options_.generation_key.empty() || refreshing_generation_ || !link_.isReady()) return;
  const std::string ttl = std::to_string(cache::kEpochTtl.count());
  refreshing_generation_ = true;
  const bool sent = send(generationCommand(options_, ttl),
                         [this](const redisReply* reply, Failure) {
                           refreshing_generation_ = false;
                           if (reply != nullptr && reply->type != REDIS_REPLY_ERROR)
                             takeGeneration(reply);
                         });
  if (!sent) refreshing_generation_ = false;
}

void RedisConnection::onReplyHandshake(const redisReply* reply, std::string_view what, bool last,
                                       std::string* sha) {
  // NULL: the context is being freed, and whoever freed it (the link)
  // already scheduled the reconnect.
  if (reply == nullptr || link_.state() != RedisLink::State::kConnecting) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    link_.fail(fmt::format("{} failed: {}", what, std::string_view(reply->str, reply->len)));
    return;
  }
  if (sha != nullptr) {
    if (reply->type != REDIS_REPLY_STRING) {
      link_.fail(fmt::format("{} did not return a SHA", what));
      return;
    }
    sha->assign(reply->str, reply->len);
  }
  if (last) becomeReady();
}

void RedisConnection::becomeReady() { link_.markReady(); }

uint64_t RedisConnection::deadlineClockMs() const { return monoNowMs() - stalled_ms_; }

base::Duration RedisConnection::deadlineTick() const {
  return tickFor(std::min(options_.command_timeout, options_.connect_timeout));
}

void RedisConnection::creditLoopStall(uint64_t now_ms) {
  const auto tick = static_cast<uint64_t>(deadlineTick().count());
  const auto timeout = static_cast<uint64_t>(options_.command_timeout.count());
  // A check far later than its tick: the loop was not running. Ordinary
  // lateness (a busy turn of a few milliseconds) is not a stall.
  if (last_check_ms_ != 0 && now_ms > last_check_ms_ + tick + timeout / 2) {
    stalled_ms_ += now_ms - last_check_ms_ - tick;
    base::metrics::redis_loop_stalls.inc();
  }
  last_check_ms_ = now_ms;
}

void RedisConnection::checkDeadlines() {
  creditLoopStall(monoNowMs());
  if (outstanding_.empty() && queued_.empty()) {
    deadline_timer_.stop();
    return;
  }
  const uint64_t now = deadlineClockMs();
  // Connecting: the link's connect timeout covers the handshake. Failing: a
  // teardown is already scheduled.
  if (!link_.isReady()) return;
  // Replies already in the socket: this loop was slow to read them (a busy
  // worker, a CPU taken by another process), not Redis to send them. Timers
  // run before I/O in a loop turn; this turn's poll reads them.
  if (hasUnreadBytes()) return;
  const auto timeout = static_cast<uint64_t>(options_.command_timeout.count());
  // Dead, not slow: it owes replies and nothing at all arrived for the
  // timeout (a stopped, black-holed or wedged Redis). Everything on it
  // fails now, as kLost, which the breaker counts (DESIGN invariant 5).
  // Owed since the oldest command was written (sent_at); one still in
  // hiredis's buffer (the socket would not take it, or this loop has not
  // run since) gets a second timeout to be written in.
  const Command* oldest = outstanding_.empty() ? nullptr : outstanding_.front().get();
  const uint64_t owed_since =
      oldest == nullptr ? 0 : oldest->sent_ms + (oldest->written ? 0 : timeout);
  if (oldest != nullptr && now >= std::max(last_read_ms_, owed_since) + timeout) {
    for (auto& command : outstanding_) {
      if (command->counted && !command->late) base::metrics::redis_timeouts.inc();
      command->timed_out = true;
    }
    link_.drop(fmt::format("nothing received for {}ms", options_.command_timeout.count()));
    return;
  }
  // Slow, not dead: the callers of overdue commands stop waiting (and
  // bypass Redis); the connection and the commands behind them carry on.
  std::vector<ReplyCallback> late;
  for (auto& command : outstanding_) {
    if (command->late || !command->written || now < command->sent_ms + timeout) continue;
    command->late = true;
    if (command->counted) base::metrics::redis_timeouts.inc();
    if (command->on_reply) late.push_back(std::exchange(command->on_reply, nullptr));
  }
  // Queued commands wait as long as the ones ahead are answered in time (a
  // busy Redis that delivers); behind a late one, at most the timeout.
  const bool stalled = !outstanding_.empty() && outstanding_.front()->late;
  while (!queued_.empty() &&
         now >= queued_.front()->queued_ms + (stalled ? timeout : kMaxQueueWaits * timeout)) {
    late.push_back(std::move(queued_.front()->on_reply));
    queued_.pop_front();
    base::metrics::redis_queued.dec();
    base::metrics::redis_dropped.add(1, 1);
  }
  // Called last: a callback may send (and so change both queues).
  for (auto& on_reply : late) {
    if (on_reply) on_reply(nullptr, Failure::kLate);
  }
}

bool RedisConnection::hasUnreadBytes() const {
  const redisAsyncContext* context = link_.context();
  if (context == nullptr || context->c.fd < 0) return false;
  int pending = 0;
  return ::ioctl(context->c.fd, FIONREAD, &pending) == 0 && pending > 0;
}

void RedisConnection::failQueued(Failure failure) {
  std::deque<std::unique_ptr<Command>> queued = std::exchange(queued_, {});
  base::metrics::redis_queued.dec(static_cast<int64_t>(queued.size()));
  for (auto& command : queued) {
    if (command->on_reply) command->on_reply(nullptr, failure);
  }
}

void RedisConnection::onBytesRead(size_t /*bytes*/) { last_read_ms_ = deadlineClockMs(); }

void RedisConnection::onOutputFlushed() {
  if (unwritten_ == 0) return;
  // The deadline and the measured round trip start now, not while the
  // command waited in larder (issue 13): the last `unwritten_` commands just
  // reached the socket. The wait before is larder's, measured on its own.
  const base::MonoTime now = base::MonoClock::now();
  const uint64_t sent_ms = deadlineClockMs();
  for (auto it = outstanding_.rbegin(); it != outstanding_.rend() && unwritten_ > 0; ++it) {
    Command& command = **it;
    if (command.written) continue;
    command.written = true;
    command.sent_at = now;
    command.sent_ms = sent_ms;
    if (command.counted) base::metrics::redis_queue_wait_seconds.observe(now - command.queued_at);
    --unwritten_;
  }
  unwritten_ = 0;
}

void RedisConnection::onReply(redisAsyncContext* /*context*/, void* reply, void* privdata) {
  // privdata is a Command of outstanding_: it lives until this call.
  RedisConnection* self = static_cast<Command*>(privdata)->owner;
  auto& outstanding = self->outstanding_;
  auto it = std::find_if(outstanding.begin(), outstanding.end(),
                         [privdata](const auto& command) { return command.get() == privdata; });
  if (it == outstanding.end()) {
    LARDER_BUG("redis {}: reply for an unknown command", self->describe());
    return;
  }
  std::unique_ptr<Command> command = std::move(*it);
  outstanding.erase(it);
  base::metrics::redis_in_flight.dec();
  if (!command->written && self->unwritten_ > 0) --self->unwritten_;
  const auto* typed = static_cast<const redisReply*>(reply);
  if (typed != nullptr && command->counted) {
    const size_t bytes = replyBytes(typed);
    // Up at once, down slowly: the estimate errs towards fewer large
    // replies in flight.
    self->reply_bytes_ = bytes >= self->reply_bytes_ ? bytes : (self->reply_bytes_ * 7 + bytes) / 8;
  }
  if (command->late) {
    // Its caller already bypassed Redis; the connection did nothing wrong.
    if (typed != nullptr) base::metrics::redis_late_replies.inc();
  } else if (command->on_reply) {
    if (command->counted) {
      if (typed != nullptr) {
        base::metrics::redis_command_seconds.observe(base::MonoClock::now() - command->sent_at);
        if (typed->type == REDIS_REPLY_ERROR) base::metrics::redis_errors.inc();
      } else if (!command->timed_out) {
        base::metrics::redis_errors.inc();
      }
    }
    RedisLink::CallbackScope scope(self->link_);
    command->on_reply(typed, typed != nullptr ? Failure::kNone : Failure::kLost);
  }
  // A reply makes room: the next queued command goes out (in this turn's
  // write, with whatever else the callbacks sent).
  if (typed != nullptr) self->pump();
}

}  // namespace larder::store
