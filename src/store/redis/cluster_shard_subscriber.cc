#include "store/redis/cluster_shard_subscriber.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "base/log.h"

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
      reconnect_timer_(loop),
      stuck_timer_(loop) {
  LARDER_ASSERT(!seeds_.empty());
  node_ = seeds_[next_seed_++ % seeds_.size()];
  connect();
}

// link_ goes first (last member): its free calls the callbacks once more
// with a NULL reply, and they ignore it.
ClusterShardSubscriber::~ClusterShardSubscriber() = default;

void ClusterShardSubscriber::connect() {
  RedisOptions options = options_;
  options.host = node_.host;
  options.port = node_.port;
  options.unix_path.clear();
  options.master.reset();
  link_ = std::make_unique<RedisLink>(loop_, options, static_cast<RedisLink::Owner&>(*this),
                                      RedisLink::Settings{.label = "redis cluster subscriber",
                                                          .index = index_,
                                                          .observer = nullptr,
                                                          .replies = ReplyObjects::kHiredis,
                                                          .select_database = false,  // channels have none
                                                          .count_reconnects = false,
                                                          .watch_master = false,
                                                          .down_logged = down_logged_});
  link_->start();
  stuck_timer_.start(options_.connect_timeout, [this] {
    if (moving_ || link_ == nullptr || link_->state() != RedisLink::State::kBackoff) return;
    // The link logged why; a timer callback, never inside hiredis.
    down_logged_ = true;
    moveOn();
  });
}

bool ClusterShardSubscriber::onLinkConnecting(redisAsyncContext* context) {
  plain_ = false;
  shard_ = Shard::kPending;
  // After the link's AUTH, buffered until the socket connects, then sent
  // pipelined. SSUBSCRIBE first, in hiredis's ordinary reply queue, so that
  // its answer (an error included: hiredis drops a connection on an error it
  // has no callback for) reaches onShard; then SUBSCRIBE, which puts the
  // context in subscribed mode, so the pushes after it reach onPubsub.
  const char* ssubscribe[] = {"SSUBSCRIBE", channel_.c_str()};
  const size_t ssubscribe_lengths[] = {10, channel_.size()};
  const char* subscribe[] = {"SUBSCRIBE", channel_.c_str()};
  const size_t subscribe_lengths[] = {9, channel_.size()};
  // Until both are confirmed (markReady()), the link's connect timeout
  // applies: an error to SUBSCRIBE reaches nobody in hiredis.
  return redisAsyncCommandArgv(context, &ClusterShardSubscriber::onShard, this, 2, ssubscribe,
                               ssubscribe_lengths) == REDIS_OK &&
         redisAsyncCommandArgv(context, &ClusterShardSubscriber::onPubsub, this, 2, subscribe,
                               subscribe_lengths) == REDIS_OK;
}

void ClusterShardSubscriber::onLinkDown() {
  // The link logged why. It would reconnect to the same node; this moves
  // to the next seed instead (or where a redirect already said).
  down_logged_ = true;
  moveLater();
}

bool ClusterShardSubscriber::isCurrent(const redisAsyncContext* context) const {
  return !moving_ && link_ != nullptr && link_->isLive() && link_->context() == context;
}

void ClusterShardSubscriber::onPush(const redisReply* reply) {
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
    LOG_DEBUG("redis cluster subscriber: the slot of {} moved", channel_);
    moveLater(node_);
  }
}

void ClusterShardSubscriber::onShardError(const redisReply* reply) {
  const std::string_view text(reply->str, reply->len);
  if (auto redirect = parseRedirect(text)) {
    if (++redirects_ <= kMaxRedirects) {
      // Not a failure: no warning.
      LOG_DEBUG("redis cluster subscriber: {} is served by {}", channel_, redirect->node.name());
      moveLater(redirect->node);
    } else {
      link_->fail("too many redirects");
    }
  } else if (text.find("unknown command") != std::string_view::npos) {
    // Before Redis 7: the plain SUBSCRIBE hears PUBLISH from every node.
    shard_ = Shard::kUnsupported;
    maybeConfirmed();
  } else {
    link_->fail(fmt::format("subscribing failed: {}", text));
  }
}

void ClusterShardSubscriber::maybeConfirmed() {
  if (!plain_ || shard_ == Shard::kPending || subscribed_) return;
  subscribed_ = true;
  redirects_ = 0;
  backoff_ = options_.reconnect_min;
  link_->markReady();
  LOG_INFO("redis cluster: {} subscribed on {}{}", channel_, node_.name(),
           shard_ == Shard::kConfirmed ? " (sharded)" : " (SSUBSCRIBE unsupported: plain pub/sub)");
  down_logged_ = false;
  deferred_.post([this] { on_state_(true); });
}

void ClusterShardSubscriber::moveLater(ClusterNode next) {
  markLost();
  if (moving_) return;  // the first reason to move wins (a redirect, or the loss)
  moving_ = true;
  redirect_ = std::move(next);
  // The link may be in one of its callbacks: it goes on a later turn.
  deferred_.post([this] { moveOn(); });
}

void ClusterShardSubscriber::moveOn() {
  moving_ = false;
  markLost();
  stuck_timer_.stop();
  link_.reset();
  if (!redirect_.host.empty()) {
    // Told where to go: at once.
    node_ = std::exchange(redirect_, ClusterNode{});
    connect();
    return;
  }
  // Starting over from a seed: its redirect counts anew.
  redirects_ = 0;
  node_ = seeds_[next_seed_++ % seeds_.size()];
  reconnect_timer_.start(backoff_, [this] { connect(); });
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void ClusterShardSubscriber::markLost() {
  if (!subscribed_) return;
  subscribed_ = false;
  deferred_.post([this] { on_state_(false); });
}

void ClusterShardSubscriber::onPubsub(redisAsyncContext* context, void* reply, void* privdata) {
  // NULL reply: the context is being freed (a move, or the destructor).
  auto* self = static_cast<ClusterShardSubscriber*>(privdata);
  if (reply == nullptr || !self->isCurrent(context)) return;
  RedisLink::CallbackScope scope(*self->link_);
  self->onPush(static_cast<const redisReply*>(reply));
}

void ClusterShardSubscriber::onShard(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<ClusterShardSubscriber*>(privdata);
  if (reply == nullptr || !self->isCurrent(context)) return;
  RedisLink::CallbackScope scope(*self->link_);
  const auto* typed = static_cast<const redisReply*>(reply);
  if (typed->type == REDIS_REPLY_ERROR) {
    self->onShardError(typed);
  } else {
    self->onPush(typed);  // ["ssubscribe", channel, count]
  }
}

}  // namespace larder::store
