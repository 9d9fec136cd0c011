#include "store/redis/cluster_shard_subscriber.h"

#include <utility>

#include "base/assert.h"
#include "base/log.h"
#include "store/redis/libuv_attach.h"

namespace larder::store {

ClusterShardSubscriber::ClusterShardSubscriber(net::Loop& loop, const RedisOptions& options,
                                               std::vector<ClusterNode> seeds, std::string channel,
                                               MessageHandler on_message, StateHandler on_state, int index)
    : loop_(loop),
      options_(options),
      seeds_(std::move(seeds)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)),
      index_(index),
      deferred_(loop),
      backoff_(options.reconnect_min),
      confirm_timer_(loop),
      reconnect_timer_(loop) {
  LARDER_ASSERT(!seeds_.empty());
  node_ = seeds_[next_seed_++ % seeds_.size()];
  startConnect();
}

ClusterShardSubscriber::~ClusterShardSubscriber() {
  // The free calls the callbacks once more with a NULL reply; they ignore it.
  state_ = State::kBackoff;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
}

void ClusterShardSubscriber::startConnect() {
  state_ = State::kBackoff;
  node_options_ = options_;
  node_options_.host = node_.host;
  node_options_.port = node_.port;
  node_options_.unix_path.clear();
  node_options_.master.reset();
  endpoint_ = std::make_unique<RedisEndpoint>(loop_, node_options_);
  endpoint_->next([this](const std::string& error) {
    if (!error.empty()) {
      logFailure(error);
      scheduleReconnect();
      return;
    }
    connectNow();
  });
}

void ClusterShardSubscriber::connectNow() {
  std::string error;
  redisAsyncContext* context = connectOnLoop(endpoint_->target(), loop_.raw(), this, nullptr, error);
  if (context == nullptr) {
    logFailure(error);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(context, &ClusterShardSubscriber::onConnect);
  redisAsyncSetDisconnectCallback(context, &ClusterShardSubscriber::onDisconnect);
  context_ = context;
  state_ = State::kConnecting;
  plain_ = false;
  shard_ = Shard::kPending;
  // Buffered until the socket connects, then sent pipelined. AUTH and
  // SSUBSCRIBE first, in hiredis's ordinary reply queue, so that their
  // answers (an error included: hiredis drops a connection on an error it
  // has no callback for) reach onAuth and onShard; then SUBSCRIBE, which
  // puts the context in subscribed mode, so the pushes after it reach the
  // channel's callback.
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
    sent = redisAsyncCommandArgv(context_, &ClusterShardSubscriber::onAuth, nullptr, static_cast<int>(argv.size()),
                                 argv.data(), lengths.data()) == REDIS_OK;
  }
  const char* ssubscribe[] = {"SSUBSCRIBE", channel_.c_str()};
  const size_t ssubscribe_lengths[] = {10, channel_.size()};
  sent = sent && redisAsyncCommandArgv(context_, &ClusterShardSubscriber::onShard, nullptr, 2, ssubscribe,
                                       ssubscribe_lengths) == REDIS_OK;
  const char* subscribe[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t subscribe_lengths[] = {9, channel_.size()};
  sent = sent && redisAsyncCommandArgv(context_, &ClusterShardSubscriber::onPubsub, nullptr, 2, subscribe,
                                       subscribe_lengths) == REDIS_OK;
  if (!sent) {
    failLater("cannot queue the subscriptions");
    return;
  }
  // An error to SUBSCRIBE reaches nobody in hiredis: not confirmed in
  // time fails the connection instead.
  confirm_timer_.start(options_.connect_timeout, [this] {
    if (state_ == State::kConnecting && !subscribed_) {
      logFailure(fmt::format("{} not confirmed within {}ms", channel_, options_.connect_timeout.count()));
      teardown();
    }
  });
}

void ClusterShardSubscriber::onPush(const redisReply* reply) {
  if (state_ != State::kConnecting) return;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING)
    return;
  const std::string_view kind(reply->element[0]->str, reply->element[0]->len);
  if (kind == "message" || kind == "smessage") {
    if (reply->element[2]->type != REDIS_REPLY_STRING) return;
    // Copied: the reply dies with this callback (STYLE L5).
    std::string message(reply->element[2]->str, reply->element[2]->len);
    deferred_.post([this, message = std::move(message)] { on_message_(message); });
  } else if (kind == "subscribe") {
    plain_ = true;
    maybeConfirmed();
  } else if (kind == "ssubscribe") {
    shard_ = Shard::kConfirmed;
    maybeConfirmed();
  } else if (kind == "sunsubscribe") {
    // The server dropped the shard subscription: the slot moved, or this
    // node is no longer of its shard. The same node says where it went.
    failLater("the channel's slot moved", node_);
  }
}

void ClusterShardSubscriber::onShardError(const redisReply* reply) {
  if (state_ != State::kConnecting || reply->type != REDIS_REPLY_ERROR) return;
  const std::string_view text(reply->str, reply->len);
  if (auto redirect = parseRedirect(text)) {
    if (++redirects_ <= kMaxRedirects) {
      failLater(fmt::format("{} is served by {}", channel_, redirect->node.name()), redirect->node);
    } else {
      failLater("too many redirects");
    }
  } else if (text.find("unknown command") != std::string_view::npos) {
    // Before Redis 7: the plain SUBSCRIBE hears PUBLISH from every node.
    shard_ = Shard::kUnsupported;
    maybeConfirmed();
  } else {
    failLater(fmt::format("subscribing failed: {}", text));
  }
}

void ClusterShardSubscriber::maybeConfirmed() {
  if (!plain_ || shard_ == Shard::kPending || subscribed_) return;
  subscribed_ = true;
  redirects_ = 0;
  confirm_timer_.stop();
  backoff_ = options_.reconnect_min;
  LOG_INFO("redis cluster: {} subscribed on {}{}", channel_, node_.name(),
           shard_ == Shard::kConfirmed ? " (sharded)" : " (SSUBSCRIBE unsupported: plain pub/sub)");
  down_logged_ = false;
  deferred_.post([this] { on_state_(true); });
}

void ClusterShardSubscriber::failLater(std::string_view why, ClusterNode next) {
  if (state_ != State::kConnecting) return;
  if (next.host.empty()) {
    logFailure(why);
  } else {
    LOG_DEBUG("redis cluster subscriber: {}", why);
  }
  redirect_ = std::move(next);
  state_ = State::kFailing;
  reconnect_timer_.start(base::Duration(0), [this] { teardown(); });
}

void ClusterShardSubscriber::teardown() {
  confirm_timer_.stop();
  markLost();
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
  scheduleReconnect();
}

void ClusterShardSubscriber::scheduleReconnect() {
  state_ = State::kBackoff;
  confirm_timer_.stop();
  if (!redirect_.host.empty()) {
    // Told where to go: at once.
    node_ = std::exchange(redirect_, ClusterNode{});
    reconnect_timer_.start(base::Duration(0), [this] { startConnect(); });
    return;
  }
  // Starting over from a seed: its redirect counts anew.
  redirects_ = 0;
  node_ = seeds_[next_seed_++ % seeds_.size()];
  reconnect_timer_.start(backoff_, [this] { startConnect(); });
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void ClusterShardSubscriber::markLost() {
  if (!subscribed_) return;
  subscribed_ = false;
  deferred_.post([this] { on_state_(false); });
}

void ClusterShardSubscriber::logFailure(std::string_view why) {
  if (!down_logged_) {
    LOG_WARN("redis cluster subscriber {}#{}: {}; reconnecting", node_.name(), index_, why);
    down_logged_ = true;
  } else {
    LOG_DEBUG("redis cluster subscriber {}#{}: {}; reconnecting", node_.name(), index_, why);
  }
}

void ClusterShardSubscriber::onConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<ClusterShardSubscriber*>(context->data);
  if (self == nullptr || context != self->context_ || status == REDIS_OK) return;
  // hiredis frees the context when this returns: forget it, do not free it.
  self->context_ = nullptr;
  self->confirm_timer_.stop();
  self->logFailure(fmt::format("connect failed: {}", context->errstr ? context->errstr : "?"));
  self->scheduleReconnect();
}

void ClusterShardSubscriber::onDisconnect(const redisAsyncContext* context, int /*status*/) {
  auto* self = static_cast<ClusterShardSubscriber*>(context->data);
  if (self == nullptr || context != self->context_) return;  // freed by us
  self->context_ = nullptr;
  self->confirm_timer_.stop();
  self->markLost();
  self->logFailure(fmt::format("disconnected: {}", context->errstr ? context->errstr : "closed"));
  self->scheduleReconnect();
}

void ClusterShardSubscriber::onPubsub(redisAsyncContext* context, void* reply, void* /*privdata*/) {
  auto* self = static_cast<ClusterShardSubscriber*>(context->data);
  if (self == nullptr || reply == nullptr) return;
  self->onPush(static_cast<const redisReply*>(reply));
}

void ClusterShardSubscriber::onShard(redisAsyncContext* context, void* reply, void* /*privdata*/) {
  auto* self = static_cast<ClusterShardSubscriber*>(context->data);
  if (self == nullptr || reply == nullptr) return;
  const auto* r = static_cast<const redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->onShardError(r);
  } else {
    self->onPush(r);  // ["ssubscribe", channel, count]
  }
}

void ClusterShardSubscriber::onAuth(redisAsyncContext* context, void* reply, void* /*privdata*/) {
  auto* self = static_cast<ClusterShardSubscriber*>(context->data);
  if (self == nullptr || reply == nullptr) return;
  const auto* r = static_cast<const redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) self->failLater(fmt::format("AUTH failed: {}", std::string_view(r->str, r->len)));
}

}  // namespace larder::store
