#include "store/redis/redis_subscriber.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/log.h"

namespace larder::store {

RedisSubscriber::RedisSubscriber(net::Loop& loop, const RedisOptions& options, int index, bool down_logged)
    : options_(options),
      deferred_(loop),
      confirm_timer_(loop),
      // Sentinel: a subscription on a demoted master hears nothing published
      // on the new one; moved, it reconnects (store/redis/sentinel_watcher.h).
      link_(loop, options_, *this,
            RedisLink::Settings{.label = "redis subscriber",
                                .index = index,
                                .observer = nullptr,
                                .replies = ReplyObjects::kHiredis,
                                .select_database = false,  // channels belong to no database
                                .count_reconnects = false,
                                .watch_master = true,
                                .down_logged = down_logged}) {}

RedisSubscriber::~RedisSubscriber() {
  // The free calls every channel's callback once more with a NULL reply;
  // the channels are still alive, and the callbacks ignore it.
  link_.stop();
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
  if (link_.state() == RedisLink::State::kIdle) {
    link_.start();
  } else if (link_.isLive() && !sendSubscribe(*it->second)) {
    link_.fail("cannot queue SUBSCRIBE");
  }
  // Backoff, failing: the next connection subscribes to it.
  return Subscription(this, id);
}

bool RedisSubscriber::isSubscribed(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second->subscribed;
}

void RedisSubscriber::unsubscribe(uint64_t id) { handlers_.erase(id); }

bool RedisSubscriber::onLinkConnecting(redisAsyncContext* /*context*/) {
  // After the link's AUTH; buffered until the socket connects, then sent
  // pipelined.
  bool sent = true;
  for (auto& [name, channel] : channels_) sent = sent && sendSubscribe(*channel);
  return sent;
}

void RedisSubscriber::onLinkDown() {
  confirm_timer_.stop();
  markAllLost();
}

bool RedisSubscriber::sendSubscribe(Channel& channel) {
  const char* argv[] = {"SUBSCRIBE", channel.name.c_str()};
  const size_t lengths[] = {9, channel.name.size()};
  if (redisAsyncCommandArgv(link_.context(), &RedisSubscriber::onPubsub, &channel, 2, argv, lengths) !=
      REDIS_OK)
    return false;
  // hiredis hands an error reply to a SUBSCRIBE to nobody: a channel that
  // is not confirmed in time fails the connection instead.
  if (!confirm_timer_.isActive())
    confirm_timer_.start(options_.connect_timeout, [this] { checkConfirmed(); });
  return true;
}

void RedisSubscriber::onSubscribeReply(Channel& channel, const redisReply* reply) {
  if (!link_.isLive()) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    link_.fail(fmt::format("SUBSCRIBE failed: {}", std::string_view(reply->str, reply->len)));
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
      link_.markReady();
    }
    postState(channel.name, true);
  }
}

void RedisSubscriber::checkConfirmed() {
  if (!link_.isLive()) return;
  for (const auto& [name, channel] : channels_) {
    if (!channel->subscribed) {
      link_.drop(fmt::format("SUBSCRIBE {} not confirmed within {}ms", name,
                             options_.connect_timeout.count()));
      return;
    }
  }
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

void RedisSubscriber::onPubsub(redisAsyncContext* /*context*/, void* reply, void* privdata) {
  // NULL reply: the context is being freed by whoever scheduled the reconnect.
  if (reply == nullptr || privdata == nullptr) return;
  auto& channel = *static_cast<Channel*>(privdata);
  RedisLink::CallbackScope scope(channel.owner->link_);
  channel.owner->onSubscribeReply(channel, static_cast<const redisReply*>(reply));
}

}  // namespace larder::store
