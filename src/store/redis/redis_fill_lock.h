// RedisFillLock: the cache::FillLock of one worker over Redis.
//
//   acquire:  SET <key> <token> NX PX <ttl> and PTTL <key>, pipelined (one
//             round trip; the PTTL tells a loser when to look again)
//   release:  one script: GET, DEL if the token still owns the key, then
//             PUBLISH the notice on the name's channel (see cache/fill_lock.h
//             for who publishes what)
//   notices:  a RedisSubscriber on the channels asked for; watchers of a
//             lock key hear of its notices, and of every time the
//             subscription came back (notices may have been missed)
//
// Ownership: the worker owns it (after its store: the Capture's release
// after an insert runs while both live). It owns its own RedisConnection,
// whose handshake loads the release script (so release is an EVALSHA), and
// its subscriber. No circuit breaker: a lookup has just succeeded before
// every acquire, and a Redis that is down or slow fails the lock's commands
// fast or within store.redis.timeout (the connection's deadline) and the
// request goes on without the lock (DESIGN invariant 5).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/fill_lock.h"
#include "net/loop.h"
#include "net/defer.h"
#include "store/redis/fill_lock_notices.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_subscriber.h"

namespace larder::store {

class RedisFillLock final : public cache::FillLock {
 public:
  // Starts connecting at once; `index` labels logs.
  RedisFillLock(net::Loop& loop, const RedisOptions& options, int index);
  ~RedisFillLock() override;
  RedisFillLock(const RedisFillLock&) = delete;
  RedisFillLock& operator=(const RedisFillLock&) = delete;

  cache::Pending acquire(const cache::LockName& name, const std::string& token,
                         std::chrono::milliseconds ttl, AcquireCallback on_done) override;
  void release(const cache::LockName& name, const std::string& token, cache::FillEnd end) override;
  cache::Pending watch(const cache::LockName& name, WatchCallback on_event) override;
  void listen(const std::string& channel) override;
  bool isReady() const override;

  size_t watcherCountForTest() const { return notices_.watcherCount(); }
  // KEYS: lock; ARGV: token, channel, notice, "1" to publish even if not the owner.
  static const std::string& releaseScript();

 private:
  void sendRelease(std::shared_ptr<const std::vector<std::string>> args, bool by_sha);

  // Declared first: destroyed last, after everything that posts to it.
  net::Deferrer deferred_;
  RedisConnection connection_;
  RedisSubscriber subscriber_;
  FillLockNotices<RedisSubscriber> notices_{subscriber_};
  bool error_logged_ = false;
};

}  // namespace larder::store
