#include "app/worker.h"

#include "app/backlog_retry.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "net/loop.h"
#include "net/timer.h"
#include "proxy/fill_fetch.h"
#include "proxy/server.h"
#include "store/memory/memory_store.h"
#include "store/redis/cluster_fill_lock.h"
#include "store/redis/cluster_store.h"
#include "store/redis/cluster_shard_subscriber.h"
#include "store/redis/invalidation_channel.h"
#include "store/redis/redis_fill_lock.h"
#include "store/redis/redis_subscriber.h"
#include "store/redis/redis_store.h"
#include "upstream/pool.h"

namespace larder::app {

namespace {

store::RedisOptions redisOptions(const config::Config& config, const SharedState& shared) {
  const config::RedisConfig& redis = *config.store.redis;
  store::RedisOptions options;
  // With Sentinel, every connection follows the process's one answer.
  // (A reload that turns Sentinel on needs a restart: the Supervisor says so.)
  if (redis.sentinel && shared.redis_master) options.master = shared.redis_master;
  options.invalidation_channel = store::invalidationChannel(config.cache.key_prefix);
  options.generation_key = config.cache.key_prefix + ":generation";
  if (redis.cluster) {
    // The store, the lock and the subscribers take the seeds themselves
    // (clusterSeeds); this is only a default address.
    options.host = redis.cluster->nodes.front().host;
    options.port = redis.cluster->nodes.front().port;
  } else if (redis.address.kind == config::Address::Kind::kUnix) {
    options.unix_path = redis.address.path;
  } else {
    options.host = redis.address.host;
    options.port = redis.address.port;
  }
  options.username = redis.username;
  options.password = redis.password;
  options.database = static_cast<int>(redis.database);
  options.command_timeout = redis.timeout;
  options.connections = static_cast<int>(redis.connections);
  options.max_in_flight = static_cast<int>(redis.max_in_flight);
  options.max_in_flight_bytes = redis.max_in_flight_bytes;
  // The worker's queue is shared out between its connections.
  options.max_queued =
      static_cast<int>((redis.max_queued + redis.connections - 1) / redis.connections);
  options.breaker_failures = static_cast<int>(redis.breaker_failures);
  options.breaker_cooldown = redis.breaker_cooldown;
  options.local_copies_size = redis.local_copies_size;
  options.local_copies_min_size = redis.local_copies_min_size;
  return options;
}

std::vector<store::ClusterNode> clusterSeeds(const config::Config& config) {
  std::vector<store::ClusterNode> seeds;
  for (const auto& node : config.store.redis->cluster->nodes) seeds.push_back({node.host, node.port});
  return seeds;
}

}  // namespace

std::unique_ptr<cache::Store> makeStore(net::Loop& loop, const config::Config& config,
                                        SharedState& shared) {
  if (config.store.redis && config.store.redis->cluster) {
    return std::make_unique<store::ClusterStore>(loop, redisOptions(config, shared), clusterSeeds(config));
  }
  if (config.store.redis) return std::make_unique<store::RedisStore>(loop, redisOptions(config, shared));
  return std::make_unique<store::MemoryStore>(loop, shared.memory);
}

std::unique_ptr<cache::FillLock> makeFillLock(net::Loop& loop, const config::Config& config,
                                              const SharedState& shared, unsigned index) {
  if (!config.store.redis || !config.cache.distributed_lock.enabled) return nullptr;
  std::unique_ptr<cache::FillLock> lock;
  if (config.store.redis->cluster) {
    lock = std::make_unique<store::ClusterFillLock>(loop, redisOptions(config, shared), clusterSeeds(config),
                                                    static_cast<int>(index));
  } else {
    lock = std::make_unique<store::RedisFillLock>(loop, redisOptions(config, shared), static_cast<int>(index));
  }
  lock->listen(cache::fillNoticeChannel(config.cache.key_prefix));
  return lock;
}

namespace {

// How often the retrying worker tries the invalidation backlog again: while
// running, and once draining (app/backlog_retry.h).
constexpr base::Duration kBacklogRetryInterval{200};
constexpr base::Duration kBacklogDrainRetryInterval{20};
// How often worker 0 sweeps the coalescer's retired fills.
constexpr base::Duration kSweepInterval{200};
// How long a completed fill keeps answering misses whose lookups raced its
// insert (cache::Coalescer::retire).
constexpr uint64_t kFillGraceMs = 1000;
// How long a worker waits at start-up for its store's first connection.
constexpr base::Duration kStoreStartupWait{1000};

}  // namespace

// Member order is destruction order in reverse: the loop goes last, after
// every handle owner has let go of its handles.
struct Worker::State {
  State(config::ConfigPtr config, SharedState& shared, unsigned index)
      : queue(loop),
        store(makeStore(loop, *config, shared)),
        fill_lock(makeFillLock(loop, *config, shared, index)),
        pool(loop, config->upstream),
        fetches({loop, queue, pool, *store, shared.coalescer, shared.vary_memo, shared.surrogate_memo,
                 fill_lock.get()}),
        context{loop, pool, config, *store, shared.backlog, shared.coalescer, shared.vary_memo,
                shared.tier, shared.surrogate_memo, queue, fetches, fill_lock.get()},
        server(context),
        drain_timer(loop),
        sweep_timer(loop) {}

  net::Loop loop;
  net::CrossThreadQueue queue;
  std::unique_ptr<cache::Store> store;
  // After the store: captures release locks from the store's insert callbacks.
  std::unique_ptr<cache::FillLock> fill_lock;
  upstream::Pool pool;
  proxy::FillFetches fetches;
  proxy::ProxyContext context;
  proxy::Server server;
  net::Timer drain_timer;
  net::Timer sweep_timer;
  // Worker 0 only: retries the shared invalidation backlog.
  std::unique_ptr<BacklogRetry> backlog_retry;
  // The drain (shutdown()): it ends once every condition holds, or at the
  // drain deadline, whichever comes first (finishDrain).
  bool draining = false;
  bool connections_drained = false;
  // Worker 0: every other worker has stopped (othersStopped()).
  bool others_stopped = false;
  // Worker 0 with Redis: other instances' invalidations, for the tier.
  std::unique_ptr<store::RedisSubscriber> tier_subscriber;
  std::string tier_channel;
  store::RedisSubscriber::Subscription tier_subscription;  // before the subscriber goes
  // With store.redis.cluster instead: on the channel's shard (SSUBSCRIBE).
  std::unique_ptr<store::ClusterShardSubscriber> tier_shard_subscriber;
};

// Requests that arrive before the store has a connection bypass the cache
// (and are not coalesced), so a worker gives its store a moment before it
// accepts connections. Bounded: Redis is optional (DESIGN invariant 5).
void Worker::awaitStore(State& state) {
  // The fill lock too: until it is ready, this worker's fills would not
  // coalesce with other instances'.
  auto ready = [&state] {
    return state.store->isReady() && (!state.fill_lock || state.fill_lock->isReady());
  };
  if (ready()) return;
  bool waited_enough = false;
  net::Timer limit(state.loop);
  limit.start(kStoreStartupWait, [&waited_enough] { waited_enough = true; });
  while (!waited_enough && !ready()) uv_run(state.loop.raw(), UV_RUN_ONCE);
  if (!ready())
    LOG_WARN("worker {}: store {}{} not ready after {} ms; serving without it until it is",
             index_, state.store->name(), state.fill_lock ? " (or its fill lock)" : "",
             kStoreStartupWait.count());
}

Worker::Worker(unsigned index, config::ConfigPtr config, SharedState& shared)
    : index_(index), initial_config_(std::move(config)), shared_(shared) {}

Worker::~Worker() { join(); }

std::string Worker::start() {
  std::promise<std::string> started;
  auto result = started.get_future();
  thread_ = std::thread([this, started = std::move(started)]() mutable { run(std::move(started)); });
  return result.get();
}

void Worker::run(std::promise<std::string> started) {
  auto state = std::make_unique<State>(initial_config_, shared_, index_);
  awaitStore(*state);
  const config::Address& listen = initial_config_->server.listen;
  net::SocketAddress address;
  std::string error;
  if (listen.kind != config::Address::Kind::kTcp) {
    error = "listening on a unix socket is not supported yet";
  } else if (!net::makeSocketAddress(listen.host, listen.port, address)) {
    error = fmt::format("listen address {} is not a literal IP address", listen.toString());
  } else {
    error = state->server.listen(address, /*reuse_port=*/true);
  }
  if (!error.empty()) {
    state.reset();
    markConnectionsDrained();
    started.set_value(error);
    return;
  }
  state_ = std::move(state);
  sender_ = state_->queue.sender();
  if (index_ == 0) startHousekeeping();
  started.set_value("");
  state_->loop.run();
  // Destroyed here, on its own thread (members in reverse order: the queue
  // closes, so later posts are dropped; ~Loop then closes and drains the
  // stragglers), while other workers may still be running and posting.
  state_.reset();
  markConnectionsDrained();
  LOG_DEBUG("worker {} stopped", index_);
}

void Worker::markConnectionsDrained() {
  if (connections_drained_marked_) return;
  connections_drained_marked_ = true;
  connections_drained_.set_value();
}

void Worker::waitForConnectionsDrained() {
  if (thread_.joinable()) connections_drained_future_.wait();
}

void Worker::shutdown() {
  sender_.post([this] {
    // On the worker thread, whose loop is running: its state is alive.
    State* state = state_.get();
    state->draining = true;
    // The deadline bounds the whole drain, the backlog's flush included:
    // invalidations still pending then are lost, and the Supervisor says so.
    state->drain_timer.start(state->context.config->server.drain_timeout, [this, state] {
      if (state->server.connectionCount() > 0)
        LOG_WARN("drain timeout: closing {} connections", state->server.connectionCount());
      state->server.closeAll();
      markConnectionsDrained();
      state->loop.stop();
    });
    // Before the server's shutdown, which may call back at once.
    if (state->backlog_retry) state->backlog_retry->drain([this] { finishDrain(); });
    state->server.shutdown([this] {
      state_->connections_drained = true;
      markConnectionsDrained();
      finishDrain();
    });
  });
}

void Worker::othersStopped() {
  sender_.post([this] {
    state_->others_stopped = true;
    finishDrain();
  });
}

// Drained: stop the loop. The store's connections (and any background
// refresh) would keep it alive; their owners' destructors close them, and
// ~Loop runs the close callbacks. Worker 0 holds on while the backlog still
// has invalidations (DESIGN invariant 13) and until the other workers have
// stopped: their last writes may still fail into the backlog.
void Worker::finishDrain() {
  State* state = state_.get();
  if (!state->draining || !state->connections_drained) return;
  if (state->backlog_retry && (!state->others_stopped || !state->backlog_retry->isIdle())) return;
  state->drain_timer.stop();
  state->sweep_timer.stop();
  if (state->backlog_retry) state->backlog_retry->stop();
  state->pool.closeIdle();
  state->loop.stop();
}

void Worker::reconfigure(config::ConfigPtr config) {
  sender_.post([this, config = std::move(config)] {
    State* state = state_.get();
    state->context.config = config;
    // A new key_prefix means new channels: listen before they are needed.
    if (state->fill_lock && config->cache.distributed_lock.enabled)
      state->fill_lock->listen(cache::fillNoticeChannel(config->cache.key_prefix));
    if (index_ == 0) listenForInvalidations(*state, *config);
    state->pool.reconfigure(config->upstream);
  });
}

// The tier stays coherent with other instances only while this process
// hears every invalidation they announce (cache/memory_tier.h). Whenever the
// channel is lost or back, messages may have been missed: the tier starts
// over, and is off while the channel is down.
void Worker::listenForInvalidations(State& state, const config::Config& config) {
  if (!config.store.redis) return;
  std::string channel = store::invalidationChannel(config.cache.key_prefix);
  if ((state.tier_subscriber || state.tier_shard_subscriber) && channel == state.tier_channel) return;
  state.tier_channel = channel;
  cache::MemoryTier& tier = shared_.tier;
  tier.setCoherent(false);  // until the channel is confirmed
  auto on_message = [&tier](std::string_view message) {
    auto keys = store::decodeInvalidationMessage(message);
    if (keys) {
      tier.invalidate(*keys);
      return;
    }
    LOG_WARN("unreadable message on the invalidation channel; emptying the in-process tier");
    tier.flush();
    base::metrics::memory_tier_flushes.inc();
  };
  auto on_state = [&tier](bool subscribed) {
    tier.setCoherent(subscribed);
    tier.flush();
    base::metrics::memory_tier_flushes.inc();
  };
  if (config.store.redis->cluster) {
    // One channel per subscriber: a new prefix replaces it (the old one's
    // late callbacks are dropped with it).
    state.tier_shard_subscriber = std::make_unique<store::ClusterShardSubscriber>(
        state.loop, redisOptions(config, shared_), clusterSeeds(config), channel, on_message, on_state, 0);
    return;
  }
  if (!state.tier_subscriber)
    state.tier_subscriber = std::make_unique<store::RedisSubscriber>(state.loop, redisOptions(config, shared_), 0);
  state.tier_subscription = state.tier_subscriber->subscribe(channel, on_message, on_state);
}

// Process-wide chores, done by one worker: listening for other instances'
// invalidations (for the tier), retrying failed invalidations until they
// land (DESIGN invariant 5) and dropping retired fills.
void Worker::startHousekeeping() {
  State* state = state_.get();
  listenForInvalidations(*state, *state->context.config);
  state->sweep_timer.unref();
  state->sweep_timer.startRepeating(kSweepInterval,
                                    [this] { shared_.coalescer.sweep(base::monoMillis(), kFillGraceMs); });
  state->backlog_retry = std::make_unique<BacklogRetry>(
      state->loop, *state->store, shared_.backlog,
      BacklogRetry::Intervals{kBacklogRetryInterval, kBacklogDrainRetryInterval});
  state->backlog_retry->start();
}

bool Worker::heartbeat() {
  if (heartbeats_seen_.load() != heartbeats_posted_) return false;
  // Dropped once the worker has stopped: gone, not wedged.
  if (sender_.post([this] { heartbeats_seen_.fetch_add(1); })) ++heartbeats_posted_;
  return true;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace larder::app
