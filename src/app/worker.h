// Worker: one thread running one libuv loop. It owns (STYLE L7) the loop,
// its upstream pool and the proxy Server (listener + client connections);
// worker 0 also the BacklogRetry of the shared invalidation backlog.
//
// Stopping: shutdown() drains the connections, bounded by the drain
// timeout. Worker 0 ends last (Supervisor::joinWorkers): until the others
// have stopped and the backlog is flushed, or the deadline has passed.
//
// Threading. What a worker owns is touched by its own thread only: it is
// created there, and destroyed there once its loop has stopped (~Loop
// drains the close callbacks of its handles). Workers do share mutable
// state: the SharedState below, each member guarded by its own lock (see
// each header), and the immutable Config snapshot. Other threads reach a
// worker only through its queue's Sender (net/loop.h): the supervisor's
// shutdown, reload and heartbeats, and other workers waking the requests
// of this worker that wait on their fills (cache/coalescer.h). A post to a
// worker that has stopped is dropped, never a use after free.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "cache/coalescer.h"
#include "cache/fill_lock.h"
#include "cache/invalidation_backlog.h"
#include "cache/memory_tier.h"
#include "cache/surrogate_keys.h"
#include "cache/vary.h"
#include "cache/store.h"
#include "config/config.h"
#include "net/loop.h"
#include "store/memory/memory_backend.h"
#include "store/redis/sentinel_watcher.h"

namespace larder::app {

// What every worker of the process shares: mutable, and safe from any
// thread, each member behind its own mutex (the coalescer's Fills each have
// one more; the order is Coalescer, then Fill). Outlives every worker (the
// Supervisor owns it and joins the workers first). Worker 0 alone retries
// the backlog (and flushes it when stopping) and sweeps the coalescer; the admin thread also reaches the
// backlog and the tier (admin::PurgeReach).
struct SharedState {
  // The embedded store when no Redis is configured (its own mutex).
  std::shared_ptr<store::MemoryBackend> memory;
  cache::InvalidationBacklog backlog;
  cache::Coalescer coalescer;
  cache::VaryMemo vary_memo;
  cache::MemoryTier tier;
  cache::SurrogateMemo surrogate_memo;
  // With store.redis.sentinel: where the master is (the Supervisor's
  // SentinelWatcher keeps it current); null otherwise.
  std::shared_ptr<store::MasterAddress> redis_master;
};

// The cache backend for a loop: a ClusterStore with store.redis.cluster, a
// RedisStore when store.redis is otherwise set, else a
// MemoryStore over the shared memory backend. The caller owns it; use it on
// `loop`'s thread only.
std::unique_ptr<cache::Store> makeStore(net::Loop& loop, const config::Config& config,
                                        SharedState& shared);

// The distributed fill lock for a loop: a RedisFillLock (a ClusterFillLock
// with store.redis.cluster) when store.redis is set and
// cache.distributed_lock is on; otherwise null.
std::unique_ptr<cache::FillLock> makeFillLock(net::Loop& loop, const config::Config& config,
                                              const SharedState& shared, unsigned index);

class Worker {
 public:
  Worker(unsigned index, config::ConfigPtr config, SharedState& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; returns an error message once listening failed, or
  // empty once the worker is serving. The methods below are for the thread
  // that called start() (the supervisor); each posts to the worker's queue,
  // and does nothing once the worker has stopped.
  std::string start();
  // Graceful stop: drain connections up to the drain timeout, then exit.
  // Worker 0 also flushes the invalidation backlog within that bound, and
  // ends only after othersStopped() (DESIGN invariant 13).
  void shutdown();
  // Worker 0, after shutdown(): every other worker has stopped, so only the
  // backlog's flush may still hold it (Supervisor::joinWorkers).
  void othersStopped();
  // After shutdown(): blocks until the worker has no client connection left
  // (drained, or closed at the drain deadline) or has stopped.
  void waitForConnectionsDrained();
  // New exchanges use `config` from now on.
  void reconfigure(config::ConfigPtr config);
  // Waits until the thread has ended, its state destroyed on it.
  void join();
  // Watchdog: true if the worker's loop ran the previous heartbeat, and
  // then posts the next one. A worker that has stopped counts as alive.
  bool heartbeat();

 private:
  struct State;
  void run(std::promise<std::string> started);
  void startHousekeeping();
  void listenForInvalidations(State& state, const config::Config& config);
  void awaitStore(State& state);
  void finishDrain();
  // On the worker's thread; once.
  void markConnectionsDrained();

  unsigned index_;
  config::ConfigPtr initial_config_;
  SharedState& shared_;
  std::thread thread_;
  std::promise<void> connections_drained_;
  std::shared_future<void> connections_drained_future_ = connections_drained_.get_future().share();
  bool connections_drained_marked_ = false;  // the worker's thread only
  // The worker thread's own: created and destroyed there, never read by
  // another thread (they post, and the posted functions read it).
  std::unique_ptr<State> state_;
  // Set before start() returns (its promise publishes it); how other
  // threads post to this worker, safe after the worker has stopped.
  net::CrossThreadQueue::Sender sender_;
  uint64_t heartbeats_posted_ = 0;  // supervisor thread only
  std::atomic<uint64_t> heartbeats_seen_{0};
};

}  // namespace larder::app
