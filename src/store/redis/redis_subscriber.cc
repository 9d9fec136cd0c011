#include "store/redis/redis_subscriber.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/log.h"
#include "store/redis/libuv_attach.h"
#include "store/redis/sentinel_watcher.h"

namespace larder::store {

RedisSubscriber::Subscription::Subscription(Subscription&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(std::exchange(other.id_, 0)) {}

RedisSubscriber::Subscription& RedisSubscriber::Subscription::operator=(
    Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void RedisSubscriber::Subscription::reset() {
  if (owner_ != nullptr) owner_->unsubscribe(id_);
  owner_ = nullptr;
  id_ = 0;
}

RedisSubscriber::RedisSubscriber(net::Loop& loop, const RedisOptions& options, int index)
    : loop_(loop),
      options_(options),
      endpoint_(loop, options_),
      index_(index),
      deferred_(loop),
      backoff_(options.reconnect_min),
      confirm_timer_(loop),
      reconnect_timer_(loop),
      master_timer_(loop) {
  // Sentinel: a subscription on a demoted master hears nothing published
  // on the new one; moved, it reconnects (store/redis/sentinel_watcher.h).
  if (options_.master) {
    master_timer_.startRepeating(kMasterCheckInterval, [this] {
      if (state_ == State::kConnecting && options_.master->version() != master_version_)
        failLater("the master moved (Sentinel)");
    });
  }
}

RedisSubscriber::~RedisSubscriber() {
  LARDER_ASSERT(callback_depth_ == 0);
  // The free calls every channel's callback once more with a NULL reply;
  // the channels are still alive, and the callbacks ignore it.
  state_ = State::kBackoff;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
}

RedisSubscriber::Subscription RedisSubscriber::subscribe(const std::string& channel,
                                                         MessageHandler on_message,
                                                         StateHandler on_state) {
  const uint64_t id = next_id_++;
  handlers_[id] = Handler{channel, std::move(on_message), std::move(on_state)};
  auto [it, inserted] = channels_.try_emplace(channel);
  if (!inserted) {
    if (it->second->subscribed) {
      deferred_.post([this, id] {
        auto handler = handlers_.find(id);
        if (handler == handlers_.end() || !handler->second.on_state) return;
        StateHandler on_state_copy = handler->second.on_state;
        on_state_copy(true);
      });
    }
    return Subscription(this, id);
  }
  it->second = std::make_unique<Channel>(Channel{this, channel});
  if (state_ == State::kIdle) {
    startConnect();
  } else if (state_ == State::kConnecting && !sendSubscribe(*it->second)) {
    failLater("cannot queue SUBSCRIBE");
  }
  // kBackoff, kFailing: the next connection subscribes to it.
  return Subscription(this, id);
}

bool RedisSubscriber::isSubscribed(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second->subscribed;
}

void RedisSubscriber::unsubscribe(uint64_t id) { handlers_.erase(id); }

void RedisSubscriber::startConnect() {
  // No context until the address is known (a lookup does not block the
  // loop); channels asked for meanwhile are subscribed once connected.
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

void RedisSubscriber::connectNow() {
  std::string error;
  redisAsyncContext* context = connectOnLoop(endpoint_.target(), loop_.raw(), this, nullptr, error);
  if (context == nullptr) {
    endpoint_.connectFailed();
    logFailure(error);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(context, &RedisSubscriber::onConnect);
  redisAsyncSetDisconnectCallback(context, &RedisSubscriber::onDisconnect);
  context_ = context;
  state_ = State::kConnecting;
  // Buffered until the socket connects, then sent pipelined. SELECT is not
  // needed: pub/sub channels do not belong to a database.
  bool sent = true;
  if (!options_.password.empty()) {
    std::vector<const char*> argv{"AUTH"};
    std::vector<size_t> lengths{4};
    if (!options_.username.empty()) {
      argv.push_back(options_.username.data());
      lengths.push_back(options_.username.size());
    }
    argv.push_back(options_.password.data());
    lengths.push_back(options_.password.size());
    sent = redisAsyncCommandArgv(context_, &RedisSubscriber::onAuth, nullptr,
                                 static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) == REDIS_OK;
  }
  for (auto& [name, channel] : channels_) sent = sent && sendSubscribe(*channel);
  if (!sent) failLater("cannot queue the handshake");
}

bool RedisSubscriber::sendSubscribe(Channel& channel) {
  const char* argv[] = {"SUBSCRIBE", channel.name.c_str()};
  const size_t lengths[] = {9, channel.name.size()};
  if (redisAsyncCommandArgv(context_, &RedisSubscriber::onPubsub, &channel, 2, argv, lengths) !=
      REDIS_OK)
    return false;
  // hiredis hands an error reply to a SUBSCRIBE to nobody: a channel that
  // is not confirmed in time fails the connection instead.
  if (!confirm_timer_.isActive())
    confirm_timer_.start(options_.connect_timeout, [this] { checkConfirmed(); });
  return true;
}

void RedisSubscriber::onSubscribeReply(Channel& channel, const redisReply* reply) {
  if (state_ != State::kConnecting) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    failLater(fmt::format("SUBSCRIBE failed: {}", std::string_view(reply->str, reply->len)));
    return;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
      reply->element[0]->type != REDIS_REPLY_STRING)
    return;
  const std::string_view kind(reply->element[0]->str, reply->element[0]->len);
  if (kind == "message" && reply->element[2]->type == REDIS_REPLY_STRING) {
    // Copied: the reply dies with this callback (STYLE L5).
    std::string message(reply->element[2]->str, reply->element[2]->len);
    deferred_.post([this, name = channel.name, message = std::move(message)] {
      dispatch(name, message);
    });
  } else if (kind == "subscribe" && !channel.subscribed) {
    channel.subscribed = true;
    const bool all = std::all_of(channels_.begin(), channels_.end(),
                                 [](const auto& entry) { return entry.second->subscribed; });
    if (all) {
      confirm_timer_.stop();
      backoff_ = options_.reconnect_min;
      if (down_logged_) LOG_INFO("redis subscriber {}: subscribed", describe());
      down_logged_ = false;
    }
    postState(channel.name, true);
  }
}

void RedisSubscriber::onAuthReply(const redisReply* reply) {
  if (state_ == State::kConnecting && reply->type == REDIS_REPLY_ERROR)
    failLater(fmt::format("AUTH failed: {}", std::string_view(reply->str, reply->len)));
}

void RedisSubscriber::checkConfirmed() {
  if (state_ != State::kConnecting) return;
  for (const auto& [name, channel] : channels_) {
    if (!channel->subscribed) {
      logFailure(fmt::format("SUBSCRIBE {} not confirmed within {}ms", name,
                             options_.connect_timeout.count()));
      teardown();
      return;
    }
  }
}

void RedisSubscriber::failLater(std::string_view why) {
  if (state_ != State::kConnecting) return;
  logFailure(why);
  state_ = State::kFailing;
  reconnect_timer_.start(base::Duration(0), [this] { teardown(); });
}

void RedisSubscriber::teardown() {
  state_ = State::kBackoff;
  confirm_timer_.stop();
  markAllLost();
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
  scheduleReconnect();
}

void RedisSubscriber::scheduleReconnect() {
  state_ = State::kBackoff;
  confirm_timer_.stop();
  // A connect failed and the name has another address: try it now.
  if (endpoint_.hasNextAddress()) {
    reconnect_timer_.start(base::Duration(0), [this] { startConnect(); });
    return;
  }
  reconnect_timer_.start(backoff_, [this] { startConnect(); });
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void RedisSubscriber::markAllLost() {
  for (auto& [name, channel] : channels_) {
    if (!channel->subscribed) continue;
    channel->subscribed = false;
    postState(name, false);
  }
}

void RedisSubscriber::postState(const std::string& channel, bool subscribed) {
  // The handlers registered now: one that registers before this runs is
  // told by subscribe() itself, and must not hear it twice.
  std::vector<uint64_t> ids;
  for (const auto& [id, handler] : handlers_)
    if (handler.channel == channel && handler.on_state) ids.push_back(id);
  if (ids.empty()) return;
  deferred_.post([this, ids = std::move(ids), subscribed] {
    for (uint64_t id : ids) {
      auto it = handlers_.find(id);
      if (it == handlers_.end()) continue;  // unsubscribed meanwhile
      StateHandler on_state = it->second.on_state;  // the call may unsubscribe it
      on_state(subscribed);
    }
  });
}

void RedisSubscriber::dispatch(const std::string& channel, const std::string& message) {
  std::vector<uint64_t> ids;
  for (const auto& [id, handler] : handlers_)
    if (handler.channel == channel) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = handlers_.find(id);
    if (it == handlers_.end()) continue;
    MessageHandler on_message = it->second.on_message;
    on_message(message);
  }
}

void RedisSubscriber::logFailure(std::string_view why) {
  if (!down_logged_) {
    LOG_WARN("redis subscriber {}: {}; reconnecting", describe(), why);
    down_logged_ = true;
  } else {
    LOG_DEBUG("redis subscriber {}: {}; reconnecting", describe(), why);
  }
}

std::string RedisSubscriber::describe() const {
  return fmt::format("{}#{}", endpoint_.describe(), index_);
}

void RedisSubscriber::onConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<RedisSubscriber*>(context->data);
  if (self == nullptr || context != self->context_ || status == REDIS_OK) return;
  // hiredis frees the context when this returns: forget it, do not free it.
  self->context_ = nullptr;
  self->endpoint_.connectFailed();
  self->logFailure(fmt::format("connect failed: {}", context->errstr ? context->errstr : "?"));
  self->scheduleReconnect();
}

void RedisSubscriber::onDisconnect(const redisAsyncContext* context, int /*status*/) {
  auto* self = static_cast<RedisSubscriber*>(context->data);
  if (self == nullptr || context != self->context_) return;  // freed by us
  self->context_ = nullptr;
  self->markAllLost();
  self->logFailure(fmt::format("disconnected: {}", context->errstr ? context->errstr : "closed"));
  self->scheduleReconnect();
}

void RedisSubscriber::onAuth(redisAsyncContext* context, void* reply, void* /*privdata*/) {
  auto* self = static_cast<RedisSubscriber*>(context->data);
  // NULL: the context is being freed by whoever scheduled the reconnect.
  if (self == nullptr || reply == nullptr) return;
  ++self->callback_depth_;
  self->onAuthReply(static_cast<const redisReply*>(reply));
  --self->callback_depth_;
}

void RedisSubscriber::onPubsub(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<RedisSubscriber*>(context->data);
  if (self == nullptr || reply == nullptr || privdata == nullptr) return;
  ++self->callback_depth_;
  self->onSubscribeReply(*static_cast<Channel*>(privdata), static_cast<const redisReply*>(reply));
  --self->callback_depth_;
}

}  // namespace larder::store
