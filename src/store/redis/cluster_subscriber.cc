#include "store/redis/cluster_subscriber.h"

#include <utility>

#include "base/assert.h"
#include "base/log.h"

namespace larder::store {

ClusterSubscriber::ClusterSubscriber(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> nodes,
                                     int index)
    : loop_(loop), options_(options), nodes_(std::move(nodes)), index_(index), deferred_(loop), check_timer_(loop) {
  LARDER_ASSERT(!nodes_.empty());
  check_timer_.unref();  // housekeeping: never what keeps a loop running
}

ClusterSubscriber::~ClusterSubscriber() = default;

ClusterSubscriber::Subscription ClusterSubscriber::subscribe(const std::string& channel, MessageHandler on_message,
                                                             StateHandler on_state) {
  const uint64_t id = next_id_++;
  handlers_[id] = Handler{channel, std::move(on_message), std::move(on_state)};
  auto [it, inserted] = channels_.try_emplace(channel);
  if (inserted) {
    attach(channel, it->second);
  } else if (it->second.subscribed) {
    // As RedisSubscriber: told at once (later, on the loop).
    deferred_.post([this, id] {
      auto handler = handlers_.find(id);
      if (handler == handlers_.end() || !handler->second.on_state) return;
      StateHandler on_state_copy = handler->second.on_state;
      on_state_copy(true);
    });
  }
  if (!check_timer_.isActive()) check_timer_.startRepeating(kCheckInterval, [this] { check(); });
  return Subscription(this, id);
}

bool ClusterSubscriber::isSubscribed(const std::string& channel) const {
  auto it = channels_.find(channel);
  return it != channels_.end() && it->second.subscribed;
}

void ClusterSubscriber::unsubscribe(uint64_t id) { handlers_.erase(id); }

void ClusterSubscriber::attach(const std::string& channel, Channel& state) {
  if (!subscriber_) {
    RedisOptions options = options_;
    options.host = nodes_[node_].host;
    options.port = nodes_[node_].port;
    options.unix_path.clear();
    options.master.reset();
    // After a move, the outage was warned of (by the lost node's link and
    // moveOn()): the next node's first failure is not news.
    subscriber_ = std::make_unique<RedisSubscriber>(loop_, options, index_, move_logged_);
  }
  state.subscription = subscriber_->subscribe(
      channel, [this, channel](std::string_view message) { onMessage(channel, message); },
      [this, channel](bool subscribed) { onState(channel, subscribed); });
}

void ClusterSubscriber::check() {
  bool lost = false;
  for (const auto& [name, channel] : channels_) lost = lost || !channel.subscribed;
  strikes_ = lost ? strikes_ + 1 : 0;
  // From a timer, never inside the subscriber's callbacks: it may go now.
  if (strikes_ >= 2 && nodes_.size() > 1) moveOn();
}

void ClusterSubscriber::moveOn() {
  strikes_ = 0;
  const std::string from = nodes_[node_].name();
  node_ = (node_ + 1) % nodes_.size();
  // Warned once per outage: with every node down it moves on every second.
  if (!move_logged_) {
    LOG_WARN("redis cluster: no subscription on {}; subscribing on {}", from, nodes_[node_].name());
  } else {
    LOG_DEBUG("redis cluster: no subscription on {}; subscribing on {}", from, nodes_[node_].name());
  }
  move_logged_ = true;
  // The subscriptions before their subscriber; the old one says nothing
  // more, so the channels it still held are lost now.
  std::vector<std::string> was_subscribed;
  for (auto& [name, channel] : channels_) {
    channel.subscription.reset();
    if (channel.subscribed) was_subscribed.push_back(name);
    channel.subscribed = false;
  }
  subscriber_.reset();
  for (auto& [name, channel] : channels_) attach(name, channel);
  for (const std::string& name : was_subscribed) {
    for (uint64_t id : handlersOf(name)) {
      auto it = handlers_.find(id);
      if (it == handlers_.end() || !it->second.on_state) continue;
      StateHandler on_state = it->second.on_state;  // the call may unsubscribe it
      on_state(false);
    }
  }
}

void ClusterSubscriber::onState(const std::string& channel, bool subscribed) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  it->second.subscribed = subscribed;
  if (subscribed) {
    strikes_ = 0;
    move_logged_ = false;
  }
  for (uint64_t id : handlersOf(channel)) {
    auto handler = handlers_.find(id);
    if (handler == handlers_.end() || !handler->second.on_state) continue;
    StateHandler on_state = handler->second.on_state;
    on_state(subscribed);
  }
}

void ClusterSubscriber::onMessage(const std::string& channel, std::string_view message) {
  for (uint64_t id : handlersOf(channel)) {
    auto handler = handlers_.find(id);
    if (handler == handlers_.end()) continue;  // unsubscribed by an earlier one
    MessageHandler on_message = handler->second.on_message;
    on_message(message);
  }
}

std::vector<uint64_t> ClusterSubscriber::handlersOf(const std::string& channel) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, handler] : handlers_)
    if (handler.channel == channel) ids.push_back(id);
  return ids;
}

}  // namespace larder::store
