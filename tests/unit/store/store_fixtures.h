// Fixtures for the Store conformance suite (STYLE T3): each one owns a real
// loop and a store, and knows how to prove that every key it wrote expires
// (DESIGN invariant 2), which only it can observe.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/store.h"
#include "common/redis_server.h"
#include "net/loop.h"
#include "store/memory/memory_store.h"
#include "store/redis/redis_store.h"
#include "unit/loop_runner.h"

namespace larder::store::test {

using namespace std::chrono_literals;
using larder::test::RedisServer;
using larder::test::runFor;
using larder::test::runUntil;

// Room for a loaded machine (several builds share two cores), still far
// below anything that would count as hanging.
constexpr auto kSlack = 300ms;

inline std::chrono::milliseconds elapsedSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// The invalidation channel of key prefix v1 (store/redis/invalidation_channel.h).
inline const std::string kChannel = "v1:invalidations";

struct MemoryFixture {
  static constexpr const char* kName = "memory";

  // An injected clock: time moves only when the test says so.
  base::MonoTime now = base::MonoTime{} + std::chrono::hours(1);
  net::Loop loop;
  std::shared_ptr<MemoryBackend> backend =
      std::make_shared<MemoryBackend>(1 << 20, [this] { return now; });
  std::unique_ptr<cache::Store> store = std::make_unique<MemoryStore>(loop, backend);

  // Past every TTL, every key is gone, and the backend holds nothing.
  void expectEveryKeyExpires(const std::vector<std::string>& keys) {
    CHECK(backend->stats().items == keys.size());
    now += cache::kEpochTtl + std::chrono::hours(1);
    auto result = backend->lookup(keys, "no-such-entry");
    for (const auto& version : result.versions) CHECK_FALSE(version.has_value());
    CHECK(backend->stats().items == 0);
  }
};

inline RedisOptions testRedisOptions(uint16_t port) {
  RedisOptions options;
  options.port = port;
  options.command_timeout = 100ms;
  options.connections = 2;
  options.connect_timeout = 300ms;
  options.reconnect_min = 20ms;
  options.reconnect_max = 200ms;
  options.breaker_failures = 3;
  options.breaker_cooldown = 300ms;
  return options;
}

struct RedisFixture {
  static constexpr const char* kName = "redis";

  explicit RedisFixture(std::vector<std::string> server_args = {},
                        std::function<void(RedisOptions&)> adjust = {})
      : server(std::move(server_args)) {
    RedisOptions options = testRedisOptions(server.port());
    if (adjust) adjust(options);
    auto redis = std::make_unique<RedisStore>(loop, options);
    redis_store = redis.get();
    store = std::move(redis);
    const size_t wanted = static_cast<size_t>(options.connections);
    REQUIRE_MESSAGE(runUntil(
                        loop, [&] { return redis_store->readyConnectionsForTest() == wanted; }, 3s),
                    "the RedisStore did not connect to redis-server");
  }

  // Every key in Redis has a TTL (PTTL > 0; -1 would mean none), the
  // store's generation key too (besides `keys`).
  void expectEveryKeyExpires(const std::vector<std::string>& keys) {
    std::vector<std::string> present = server.keys();
    CHECK(present.size() == keys.size() + 1);
    CHECK(std::find(present.begin(), present.end(), RedisOptions().generation_key) != present.end());
    for (const auto& key : present) {
      INFO("key " << key);
      CHECK(server.pttl(key) > 0);
    }
  }

  // Destroyed in reverse: the store, then the loop, then the server.
  RedisServer server;
  net::Loop loop;
  RedisStore* redis_store = nullptr;
  std::unique_ptr<cache::Store> store;
};

// Synchronous wrappers: start an operation, check that it did not complete
// inside the call (store.h), and run the loop until it does.
template <typename Fixture>
cache::LookupResult lookupNow(Fixture& f, std::vector<std::string> versions, std::string entry) {
  std::optional<cache::LookupResult> result;
  cache::Pending pending = f.store->lookup(std::move(versions), std::move(entry),
                                           [&](cache::LookupResult&& r) { result = std::move(r); });
  CHECK_FALSE(result.has_value());
  REQUIRE(runUntil(f.loop, [&] { return result.has_value(); }));
  return std::move(*result);
}

template <typename Fixture>
cache::InsertOutcome insertNow(Fixture& f, cache::InsertRequest request) {
  std::optional<cache::InsertOutcome> outcome;
  f.store->insert(std::move(request), [&](cache::InsertOutcome o) { outcome = o; });
  CHECK_FALSE(outcome.has_value());
  REQUIRE(runUntil(f.loop, [&] { return outcome.has_value(); }));
  return *outcome;
}

template <typename Fixture>
cache::StoreStatus invalidateNow(Fixture& f, cache::Invalidation invalidation) {
  std::optional<cache::StoreStatus> status;
  cache::Pending pending =
      f.store->invalidate(std::move(invalidation), [&](cache::StoreStatus s) { status = s; });
  CHECK_FALSE(status.has_value());
  REQUIRE(runUntil(f.loop, [&] { return status.has_value(); }));
  return *status;
}

template <typename Fixture>
cache::StoreStatus removeNow(Fixture& f, std::vector<std::string> keys) {
  std::optional<cache::StoreStatus> status;
  cache::Pending pending =
      f.store->remove(std::move(keys), [&](cache::StoreStatus s) { status = s; });
  CHECK_FALSE(status.has_value());
  REQUIRE(runUntil(f.loop, [&] { return status.has_value(); }));
  return *status;
}

inline cache::InsertRequest makeInsert(std::string key, std::string value,
                                       std::vector<cache::VersionExpectation> versions) {
  cache::InsertRequest request;
  request.key = std::move(key);
  request.value = std::move(value);
  request.ttl = 60s;
  request.versions = std::move(versions);
  request.version_ttl = 600s;
  return request;
}

inline cache::Invalidation makeInvalidation(std::vector<std::string> keys,
                                            std::vector<std::string> tokens) {
  return cache::Invalidation{std::move(keys), std::move(tokens), 600s, "epoch"};
}

// The caller's token in what invalidate() wrote ("<epoch>.<token>"); empty
// when the value is absent or carries no epoch.
inline std::string writtenToken(const std::optional<std::string>& value) {
  if (!value) return {};
  size_t separator = value->find(cache::kEpochSeparator);
  if (separator == std::string::npos || separator == 0) return {};
  return value->substr(separator + 1);
}

}  // namespace larder::store::test
