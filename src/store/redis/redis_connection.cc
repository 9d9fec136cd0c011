#include "store/redis/redis_connection.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "store/redis/libuv_attach.h"

namespace larder::store {

namespace {

// How often the oldest command's deadline is checked: a command fails at
// most this long after its deadline.
base::Duration tickFor(base::Duration timeout) {
  return std::clamp(timeout / 5, base::Duration(1), base::Duration(50));
}

uint64_t monoNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   base::MonoClock::now().time_since_epoch())
                                   .count());
}

}  // namespace

RedisConnection::RedisConnection(net::Loop& loop, const RedisOptions& options, std::string script,
                                 int index)
    : loop_(loop),
      options_(options),
      script_(std::move(script)),
      index_(index),
      backoff_(options.reconnect_min),
      deadline_timer_(loop),
      reconnect_timer_(loop) {
  startConnect();
}

RedisConnection::~RedisConnection() {
  // Freeing the context from inside one of its callbacks would free it under
  // hiredis (RedisStore delivers completions from a DeferredQueue for this).
  LARDER_ASSERT(callback_depth_ == 0);
  // hiredis calls every outstanding callback once more, with a NULL reply,
  // while freeing; the owner is being destroyed, so none may reach it.
  for (auto& command : outstanding_) command->on_reply = nullptr;
  state_ = State::kBackoff;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
}

bool RedisConnection::send(const std::vector<std::string_view>& args, ReplyCallback&& on_reply) {
  if (state_ != State::kReady) return false;
  if (!sendInternal(args, std::move(on_reply),
                    monoNowMs() + static_cast<uint64_t>(options_.command_timeout.count())))
    return false;
  outstanding_.back()->counted = true;
  return true;
}

void RedisConnection::startConnect() {
  std::string error;
  redisAsyncContext* context = connectOnLoop(options_, loop_.raw(), this, error);
  if (context == nullptr) {
    logFailure(error);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(context, &RedisConnection::onConnect);
  redisAsyncSetDisconnectCallback(context, &RedisConnection::onDisconnect);
  context_ = context;
  state_ = State::kConnecting;
  sendHandshake();
}

void RedisConnection::sendHandshake() {
  // hiredis buffers these until the socket connects; they go out pipelined
  // and SCRIPT LOAD's reply, the last, makes the connection ready.
  const uint64_t deadline = monoNowMs() + static_cast<uint64_t>(options_.connect_timeout.count());
  bool sent = true;
  if (!options_.password.empty()) {
    std::vector<std::string_view> args{"AUTH"};
    if (!options_.username.empty()) args.emplace_back(options_.username);
    args.emplace_back(options_.password);
    sent = sent &&
           sendInternal(
               args, [this](const redisReply* r) { onHandshakeReply(r, "AUTH", false); }, deadline);
  }
  if (options_.database != 0) {
    const std::string database = std::to_string(options_.database);
    sent = sent &&
           sendInternal(
               {"SELECT", database},
               [this](const redisReply* r) { onHandshakeReply(r, "SELECT", false); }, deadline);
  }
  sent = sent &&
         sendInternal(
             {"SCRIPT", "LOAD", script_},
             [this](const redisReply* r) { onHandshakeReply(r, "SCRIPT LOAD", true); }, deadline);
  if (!sent) failLater("cannot queue the handshake");
}

bool RedisConnection::sendInternal(const std::vector<std::string_view>& args,
                                   ReplyCallback&& on_reply, uint64_t deadline_ms) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view arg : args) {
    // An empty string_view may carry a null pointer; hiredis copies `len`
    // bytes from it, so give it a real one.
    argv.push_back(arg.data() != nullptr ? arg.data() : "");
    lengths.push_back(arg.size());
  }
  // Queued before the call so the privdata pointer exists; replies and the
  // NULL replies of a free come back in this order.
  outstanding_.push_back(
      std::make_unique<Command>(Command{nullptr, deadline_ms, base::MonoClock::now()}));
  if (redisAsyncCommandArgv(context_, &RedisConnection::onReply, outstanding_.back().get(),
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    outstanding_.pop_back();
    return false;
  }
  outstanding_.back()->on_reply = std::move(on_reply);
  if (!deadline_timer_.isActive()) {
    deadline_timer_.startRepeating(
        tickFor(std::min(options_.command_timeout, options_.connect_timeout)),
        [this] { checkDeadline(); });
  }
  return true;
}

void RedisConnection::onHandshakeReply(const redisReply* reply, std::string_view what, bool last) {
  // NULL: the context is being freed, and whoever freed it (onConnect,
  // onDisconnect, teardown) already scheduled the reconnect.
  if (reply == nullptr || state_ != State::kConnecting) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    failLater(fmt::format("{} failed: {}", what, std::string_view(reply->str, reply->len)));
    return;
  }
  if (!last) return;
  if (reply->type != REDIS_REPLY_STRING) {
    failLater("SCRIPT LOAD did not return a SHA");
    return;
  }
  script_sha_.assign(reply->str, reply->len);
  state_ = State::kReady;
  backoff_ = options_.reconnect_min;
  if (down_logged_) {
    LOG_INFO("redis {}: connected", describe());
  } else {
    LOG_DEBUG("redis {}: connected", describe());
  }
  down_logged_ = false;
}

void RedisConnection::checkDeadline() {
  if (outstanding_.empty()) {
    deadline_timer_.stop();
    return;
  }
  // Replies are FIFO: if the oldest command is overdue, everything behind it
  // is stuck too, and the only way to fail them promptly is to drop the
  // connection (DESIGN invariant 5: Redis slowness is bounded by the timeout).
  if (monoNowMs() < outstanding_.front()->deadline_ms) return;
  for (auto& command : outstanding_) {
    command->timed_out = true;
    if (command->counted) base::metrics::redis_timeouts.inc();
  }
  logFailure(state_ == State::kReady
                 ? fmt::format("no reply within {}ms", options_.command_timeout.count())
                 : fmt::format("no connection within {}ms", options_.connect_timeout.count()));
  teardown();
}

void RedisConnection::failLater(std::string_view why) {
  if (state_ == State::kFailing || state_ == State::kBackoff) return;
  logFailure(why);
  state_ = State::kFailing;
  reconnect_timer_.start(base::Duration(0), [this] { teardown(); });
}

void RedisConnection::teardown() {
  // Not ready before the free: the NULL replies it delivers must not see a
  // usable connection.
  state_ = State::kBackoff;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
  scheduleReconnect();
}

void RedisConnection::scheduleReconnect() {
  state_ = State::kBackoff;
  reconnect_timer_.start(backoff_, [this] { startConnect(); });
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void RedisConnection::logFailure(std::string_view why) {
  // The first failure after being up is news; the retries that follow are not.
  if (!down_logged_) {
    LOG_WARN("redis {}: {}; reconnecting", describe(), why);
    down_logged_ = true;
  } else {
    LOG_DEBUG("redis {}: {}; reconnecting", describe(), why);
  }
}

std::string RedisConnection::describe() const { return describeRedis(options_, index_); }

void RedisConnection::onConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisConnection*>(context->data);
  if (self == nullptr || context != self->context_ || status == REDIS_OK) return;
  // hiredis frees the context when this returns (after failing the queued
  // handshake with NULL replies): forget it, do not free it.
  self->context_ = nullptr;
  self->logFailure(fmt::format("connect failed: {}", context->errstr ? context->errstr : "?"));
  self->scheduleReconnect();
}

void RedisConnection::onDisconnect(const redisAsyncContext* context, int /*status*/) {
  auto* self = static_cast<RedisConnection*>(context->data);
  // A context we freed ourselves (teardown, destructor) is no longer ours.
  if (self == nullptr || context != self->context_) return;
  // The peer closed or the socket failed. hiredis has already failed every
  // outstanding command with a NULL reply, and frees the context on return.
  self->context_ = nullptr;
  self->logFailure(fmt::format("disconnected: {}", context->errstr ? context->errstr : "closed"));
  self->scheduleReconnect();
}

void RedisConnection::onReply(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<RedisConnection*>(context->data);
  auto& outstanding = self->outstanding_;
  auto it = std::find_if(outstanding.begin(), outstanding.end(),
                         [privdata](const auto& command) { return command.get() == privdata; });
  if (it == outstanding.end()) {
    LARDER_BUG("redis {}: reply for an unknown command", self->describe());
    return;
  }
  std::unique_ptr<Command> command = std::move(*it);
  outstanding.erase(it);
  if (outstanding.empty()) self->deadline_timer_.stop();
  if (!command->on_reply) return;
  if (command->counted) {
    const auto* typed = static_cast<const redisReply*>(reply);
    if (typed != nullptr) {
      base::metrics::redis_command_seconds.observe(base::MonoClock::now() - command->sent_at);
      if (typed->type == REDIS_REPLY_ERROR) base::metrics::redis_errors.inc();
    } else if (!command->timed_out) {
      base::metrics::redis_errors.inc();
    }
  }
  ++self->callback_depth_;
  command->on_reply(static_cast<const redisReply*>(reply));
  --self->callback_depth_;
}

}  // namespace larder::store
