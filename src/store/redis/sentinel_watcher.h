// Redis Sentinel (issue 16, item 1): where the master is, for every
// connection of the process.
//
// MasterAddress is the process's one answer, shared by every worker's
// connections (RedisOptions::master): connectOnLoop() connects to it, and a
// RedisConnection whose master has changed since it connected is torn down
// on its next command and reconnects to the new one (the command bypasses
// the cache, DESIGN invariant 5). Thread-safe.
//
// SentinelWatcher finds the master with `SENTINEL get-master-addr-by-name`
// (trying each sentinel in turn), then keeps one sentinel connection
// subscribed to `+switch-master` and asks again every second as a backstop
// for a missed message. It runs on its own thread with blocking hiredis
// calls, each bounded by `timeout`: it is control traffic, a few commands a
// second, and keeping it off the workers' loops means a slow sentinel never
// delays a request.
//
// A failover starts a new Redis generation (store/redis/generation.h): the
// new master's run_id differs, so entries stored before it are misses, and
// a replica that missed the last invalidations cannot bring a pre-write
// entry back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/time.h"

namespace larder::store {

class MasterAddress {
 public:
  struct Value {
    std::string host;
    uint16_t port = 0;
    uint64_t version = 0;  // 0: not known yet
  };
  Value get() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  // True when it changed (the version then rises).
  bool set(const std::string& host, uint16_t port);

 private:
  mutable std::mutex mutex_;
  Value value_;
  std::atomic<uint64_t> version_{0};
};

struct SentinelEndpoint {
  std::string host;
  uint16_t port = 0;
};

struct SentinelOptions {
  std::string master_name;
  std::vector<SentinelEndpoint> sentinels;
  std::string password;  // AUTH to the sentinels; empty: none
  base::Duration timeout{500};  // connect and each reply
};

class SentinelWatcher {
 public:
  SentinelWatcher(SentinelOptions options, std::shared_ptr<MasterAddress> master);
  ~SentinelWatcher();  // stops and joins the thread
  SentinelWatcher(const SentinelWatcher&) = delete;
  SentinelWatcher& operator=(const SentinelWatcher&) = delete;

  // Asks the sentinels once, now, on the caller's thread; true when one
  // named the master (it is then in the MasterAddress).
  bool discover();
  // Starts following failovers on the watcher's thread.
  void start();

 private:
  void run();
  // Follows +switch-master on sentinel `index` until it fails or stop.
  void follow(size_t index);
  bool query(size_t index);
  bool waitFor(base::Duration duration);  // false once stopping

  const SentinelOptions options_;
  const std::shared_ptr<MasterAddress> master_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace larder::store
