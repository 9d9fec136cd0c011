// ClusterFillLock: the cache::FillLock of one worker over a Redis Cluster
// (issue 16), the cluster form of RedisFillLock.
//
//   acquire:  one script on the node of the lock key's slot: SET NX PX, and
//             the PTTL when held (one round trip, as on one server; the
//             single-server lock pipelines two commands on one connection,
//             which routing cannot promise)
//   release:  RedisFillLock's script, on the same node: GET, DEL if the
//             token still owns the key, then PUBLISH the notice
//   routing:  a ClusterRouter: MOVED and ASK are followed, the slot map is
//             refreshed on topology change (store/redis/cluster_router.h);
//             every lock key is one key, so no command crosses slots
//   notices:  a PUBLISH reaches every node's subscribers over the cluster
//             bus, so the ClusterSubscriber listens on one node and moves
//             to another when that one is lost; watchers hear kMissed
//             whenever the subscription comes back
//
// Ownership: the worker owns it (after its store, as RedisFillLock). It owns
// its router (one connection per node: a lock's commands are few) and its
// subscriber. No circuit breaker, as RedisFillLock: a lock that cannot be
// reached answers kUnavailable within store.redis.timeout and the request
// goes on without it (DESIGN invariant 5).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/fill_lock.h"
#include "net/loop.h"
#include "net/defer.h"
#include "store/redis/cluster_router.h"
#include "store/redis/cluster_subscriber.h"
#include "store/redis/fill_lock_notices.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class ClusterFillLock final : public cache::FillLock {
 public:
  // Starts reading the slot map from `seeds` at once; `index` labels logs.
  ClusterFillLock(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> seeds, int index);
  ~ClusterFillLock() override;
  ClusterFillLock(const ClusterFillLock&) = delete;
  ClusterFillLock& operator=(const ClusterFillLock&) = delete;

  cache::Pending acquire(const cache::LockName& name, const std::string& token,
                         std::chrono::milliseconds ttl, AcquireCallback on_done) override;
  void release(const cache::LockName& name, const std::string& token, cache::FillEnd end) override;
  cache::Pending watch(const cache::LockName& name, WatchCallback on_event) override;
  void listen(const std::string& channel) override;
  bool isReady() const override;

  ClusterRouter& routerForTest() { return router_; }
  ClusterSubscriber& subscriberForTest() { return subscriber_; }
  // KEYS: lock; ARGV: token, ttl. Returns {1, ttl} when taken, {0, PTTL} when held.
  static const std::string& acquireScript();

 private:
  // Declared first: destroyed last, after everything that posts to it.
  net::Deferrer deferred_;
  ClusterRouter router_;
  ClusterSubscriber subscriber_;
  FillLockNotices<ClusterSubscriber> notices_{subscriber_};
  bool error_logged_ = false;
};

}  // namespace larder::store
