// Worker: one thread running one libuv loop. It owns (STYLE L7) the loop,
// its upstream pool and the proxy Server (listener + client connections).
// Workers share nothing mutable but the immutable Config snapshot.
// Other threads talk to a worker only through post().
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

// What every worker of the process shares (all thread-safe).
struct SharedState {
  // The embedded store when no Redis is configured.
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

// The cache backend for a loop: a RedisStore when store.redis is set, else a
// MemoryStore over the shared memory backend. The caller owns it; use it on
// `loop`'s thread only.
std::unique_ptr<cache::Store> makeStore(net::Loop& loop, const config::Config& config,
                                        SharedState& shared);

// The distributed fill lock for a loop: a RedisFillLock when store.redis is
// set and cache.distributed_lock is on; otherwise null.
std::unique_ptr<cache::FillLock> makeFillLock(net::Loop& loop, const config::Config& config,
                                              const SharedState& shared, unsigned index);

class Worker {
 public:
  Worker(unsigned index, config::ConfigPtr config, SharedState& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; returns an error message once listening failed, or
  // empty once the worker is serving.
  std::string start();
  // Graceful stop: drain connections up to the drain timeout, then exit.
  void shutdown();
  // New exchanges use `config` from now on.
  void reconfigure(config::ConfigPtr config);
  void join();
  // Watchdog (from the supervisor thread): true if the worker's loop ran the
  // previous heartbeat, and then posts the next one.
  bool heartbeat();

 private:
  struct State;
  void run(std::promise<std::string> started);
  void startHousekeeping();
  void listenForInvalidations(State& state, const config::Config& config);
  void awaitStore(State& state);

  unsigned index_;
  config::ConfigPtr initial_config_;
  SharedState& shared_;
  std::thread thread_;
  // Created on the worker thread and published to other threads by
  // start()'s promise; destroyed by join(), after the thread has ended.
  std::unique_ptr<State> state_;
  uint64_t heartbeats_posted_ = 0;  // supervisor thread only
  std::atomic<uint64_t> heartbeats_seen_{0};
};

}  // namespace larder::app
