// FillLockFixture<Backend>: two fill locks on one loop, standing for two
// larder instances that share one Redis (SingleRedis: RedisFillLock on a
// redis-server) or one Redis Cluster (OneNodeCluster: ClusterFillLock on a
// one-master cluster, cluster_fixture.h). Both locks listen on kName's
// channel and are ready when the fixture is built. The behaviour both locks
// share is checked against both in fill_lock_conformance_test.cc.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster_fixture.h"
#include "store/redis/cluster_fill_lock.h"
#include "store/redis/redis_fill_lock.h"
#include "store_fixtures.h"

namespace larder::store::test {

inline const cache::LockName kName = cache::lockName("v1", "v1:e:abc\n-");
inline const cache::LockName kOther = cache::lockName("v1", "v1:e:def\n-");

struct SingleRedis {
  using Lock = RedisFillLock;

  explicit SingleRedis(std::vector<std::string> server_args = {}) : server(std::move(server_args)) {}
  std::unique_ptr<Lock> makeLock(const RedisOptions& options, int index) {
    return std::make_unique<Lock>(loop, options, index);
  }
  // Restarted, it serves at once.
  void waitServing() {}

  RedisServer server;
  net::Loop loop;
};

struct OneNodeCluster : ClusterFixture {
  using Lock = ClusterFillLock;

  std::unique_ptr<Lock> makeLock(const RedisOptions& options, int index) {
    return std::make_unique<Lock>(loop, options, std::vector<ClusterNode>{{"127.0.0.1", server.port()}}, index);
  }
  // Restarted, the node serves its slots once it says cluster_state:ok.
  void waitServing() {
    REQUIRE(runUntil(
        loop, [&] { return server.command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos; },
        5s));
  }
};

// Its members go before the backend's loop and server.
template <typename Backend>
struct FillLockFixture : Backend {
  using Lock = typename Backend::Lock;

  FillLockFixture() : options(testRedisOptions(this->server.port())) {
    for (int i = 0; i < 2; ++i) {
      locks.push_back(this->makeLock(options, i));
      locks.back()->listen(kName.channel);
    }
    REQUIRE_MESSAGE(runUntil(this->loop, [&] { return locks[0]->isReady() && locks[1]->isReady(); }, 3s),
                    "the fill locks did not connect and subscribe");
  }

  // An attempt, run to its answer (which never comes inside the call).
  cache::LockAttempt acquireNow(Lock& lock, const cache::LockName& name, const std::string& token,
                                std::chrono::milliseconds ttl = 10s) {
    std::optional<cache::LockAttempt> result;
    cache::Pending pending = lock.acquire(name, token, ttl, [&](cache::LockAttempt attempt) { result = attempt; });
    CHECK_FALSE(result.has_value());
    REQUIRE(runUntil(this->loop, [&] { return result.has_value(); }));
    return *result;
  }

  RedisOptions options;
  std::vector<std::unique_ptr<Lock>> locks;
};

using RedisLockFixture = FillLockFixture<SingleRedis>;
using ClusterLockFixture = FillLockFixture<OneNodeCluster>;

}  // namespace larder::store::test
