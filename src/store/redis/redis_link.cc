#include "store/redis/redis_link.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "store/redis/sentinel_watcher.h"

namespace larder::store {

namespace {

// With Sentinel and watch_master: how often the master is checked.
constexpr base::Duration kMasterCheckInterval{200};

// onHandshakeReply()'s privdata: what the reply answers, for the log.
char kAuth[] = "AUTH";
char kSelect[] = "SELECT";

}  // namespace

RedisLink::RedisLink(net::Loop& loop, const RedisOptions& options, Owner& owner, Settings settings)
    : loop_(loop),
      options_(options),
      endpoint_(loop, options_),
      owner_(owner),
      settings_(settings),
      backoff_(options.reconnect_min),
      down_logged_(settings.down_logged),
      connect_timer_(loop),
      reconnect_timer_(loop),
      master_timer_(loop) {
  // A connection on a demoted master hears nothing published on the new
  // one, and may write to a read-only replica (store/redis/sentinel_watcher.h).
  if (options_.master && settings_.watch_master) {
    master_timer_.startRepeating(kMasterCheckInterval, [this] {
      if (isLive() && masterMoved()) fail("the master moved (Sentinel)");
    });
  }
}

RedisLink::~RedisLink() { stop(); }

void RedisLink::start() {
  if (state_ == State::kIdle) startConnect();
}

void RedisLink::stop() {
  // Freeing the context from inside one of its callbacks would free it under
  // hiredis: the owner defers its own destruction instead (net/defer.h).
  LARDER_ASSERT(callback_depth_ == 0);
  state_ = State::kIdle;
  connect_timer_.stop();
  reconnect_timer_.stop();
  master_timer_.stop();
  endpoint_.cancel();
  liveness_.revoke();  // a posted reconnect or teardown is dropped
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
}

bool RedisLink::masterMoved() const {
  return options_.master && options_.master->version() != master_version_;
}

void RedisLink::startConnect() {
  // No context until the address is known (a lookup does not block the
  // loop); meanwhile the owner fails fast and the cache bypasses Redis.
  state_ = State::kBackoff;
  if (options_.master) master_version_ = options_.master->version();
  endpoint_.next([this](const std::string& error) {
    if (!error.empty()) {
      logFailure(error);
      scheduleReconnect();
      return;
    }
    connectNow();
  });
}

void RedisLink::connectNow() {
  std::string error;
  redisAsyncContext* context = connectOnLoop(endpoint_.target(), loop_.raw(), this,
                                             settings_.observer, error, settings_.replies);
  if (context == nullptr) {
    endpoint_.connectFailed();
    logFailure(error);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(context, &RedisLink::onConnect);
  redisAsyncSetDisconnectCallback(context, &RedisLink::onDisconnect);
  context_ = context;
  state_ = State::kConnecting;
  // Connecting plus the whole handshake, whatever the owner's is.
  connect_timer_.start(options_.connect_timeout, [this] {
    if (state_ != State::kConnecting) return;
    endpoint_.connectFailed();
    logFailure(fmt::format("no connection within {}ms", options_.connect_timeout.count()));
    teardown();
  });
  // hiredis buffers these until the socket connects; they go out pipelined,
  // the owner's handshake after AUTH and SELECT.
  if (!sendAuthAndSelect() || !owner_.onLinkConnecting(context_))
    fail("cannot queue the handshake");
}

bool RedisLink::sendAuthAndSelect() {
  if (!options_.password.empty()) {
    std::vector<const char*> argv{"AUTH"};
    std::vector<size_t> lengths{4};
    if (!options_.username.empty()) {
      argv.push_back(options_.username.data());
      lengths.push_back(options_.username.size());
    }
    argv.push_back(options_.password.data());
    lengths.push_back(options_.password.size());
    if (redisAsyncCommandArgv(context_, &RedisLink::onHandshakeReply, kAuth,
                              static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK)
      return false;
  }
  if (settings_.select_database && options_.database != 0) {
    const std::string database = std::to_string(options_.database);
    const char* argv[] = {"SELECT", database.c_str()};
    const size_t lengths[] = {6, database.size()};
    if (redisAsyncCommandArgv(context_, &RedisLink::onHandshakeReply, kSelect, 2, argv, lengths) !=
        REDIS_OK)
      return false;
  }
  return true;
}

void RedisLink::markReady() {
  if (state_ != State::kConnecting) return;
  state_ = State::kReady;
  connect_timer_.stop();
  backoff_ = options_.reconnect_min;
  if (down_logged_) {
    LOG_INFO("{} {}: connected", settings_.label, describe());
  } else {
    LOG_DEBUG("{} {}: connected", settings_.label, describe());
  }
  down_logged_ = false;
}

void RedisLink::fail(std::string_view why) {
  if (!isLive()) return;  // already failing, or nothing to fail
  logFailure(why);
  state_ = State::kFailing;
  loop_.post(liveness_.ref(), [this] {
    if (state_ == State::kFailing) teardown();  // not if dropped or stopped meanwhile
  });
}

void RedisLink::drop(std::string_view why) {
  LARDER_ASSERT(callback_depth_ == 0);
  if (!isLive()) return;  // failing: the teardown is already on its way
  logFailure(why);
  teardown();
}

void RedisLink::teardown() {
  if (state_ == State::kIdle) return;  // stopped meanwhile
  // Not live before the free: the NULL replies it delivers must not see a
  // usable connection.
  state_ = State::kBackoff;
  connect_timer_.stop();
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
  owner_.onLinkDown();
  scheduleReconnect();
}

void RedisLink::scheduleReconnect() {
  state_ = State::kBackoff;
  connect_timer_.stop();
  // A connect failed and the name has another address: try it now.
  if (endpoint_.hasNextAddress()) {
    loop_.post(liveness_.ref(), [this] {
      if (state_ == State::kBackoff) startConnect();
    });
    return;
  }
  if (settings_.count_reconnects) base::metrics::redis_reconnects.inc();
  reconnect_timer_.start(backoff_, [this] { startConnect(); });
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void RedisLink::logFailure(std::string_view why) {
  // The first failure after being up is news; the retries that follow are not.
  if (!down_logged_) {
    LOG_WARN("{} {}: {}; reconnecting", settings_.label, describe(), why);
    down_logged_ = true;
  } else {
    LOG_DEBUG("{} {}: {}; reconnecting", settings_.label, describe(), why);
  }
}

std::string RedisLink::describe() const {
  return fmt::format("{}#{}", endpoint_.describe(), settings_.index);
}

void RedisLink::onConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisLink*>(context->data);
  if (self == nullptr || context != self->context_ || status == REDIS_OK) return;
  // hiredis frees the context when this returns (after failing the queued
  // handshake with NULL replies): forget it, do not free it.
  self->context_ = nullptr;
  self->state_ = State::kBackoff;
  self->endpoint_.connectFailed();
  self->logFailure(fmt::format("connect failed: {}", context->errstr ? context->errstr : "?"));
  {
    CallbackScope scope(*self);
    self->owner_.onLinkDown();
  }
  self->scheduleReconnect();
}

void RedisLink::onDisconnect(const redisAsyncContext* context, int /*status*/) {
  auto* self = static_cast<RedisLink*>(context->data);
  // A context we freed ourselves (teardown, stop) is no longer ours.
  if (self == nullptr || context != self->context_) return;
  // The peer closed or the socket failed. hiredis has already failed every
  // outstanding command with a NULL reply, and frees the context on return.
  self->context_ = nullptr;
  self->state_ = State::kBackoff;
  self->logFailure(fmt::format("disconnected: {}", context->errstr ? context->errstr : "closed"));
  {
    CallbackScope scope(*self);
    self->owner_.onLinkDown();
  }
  self->scheduleReconnect();
}

void RedisLink::onHandshakeReply(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<RedisLink*>(context->data);
  // NULL: the context is being freed, and whoever freed it already
  // scheduled the reconnect.
  const auto* typed = static_cast<const redisReply*>(reply);
  if (self == nullptr || typed == nullptr || self->state_ != State::kConnecting) return;
  if (typed->type == REDIS_REPLY_ERROR) {
    self->fail(fmt::format("{} failed: {}", static_cast<const char*>(privdata),
                           std::string_view(typed->str, typed->len)));
  }
}

}  // namespace larder::store
