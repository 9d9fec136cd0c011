// Shared arrangement of the cache integration tests (cache_*_test.cc): a
// FakeUpstream that numbers its answers, an optional real redis-server, and a
// larder in front of them with the routes of the cache issue.
//
// The upstream's default answer is a numberedAnswer() (upstream_script.h):
// the body "METHOD TARGET #n", n counting every request it answered.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"
#include "harness/redis_server.h"
#include "harness/test_clock.h"
#include "harness/upstream_script.h"

namespace larder::test {

inline constexpr std::string_view kCacheRoutes = R"(routes:
  - match: GET /api/products
    ttl: 5m
    namespaces: [products]
  - match: GET /api/products/{id}
    ttl: 1h
    namespaces: [products, "product:{id}"]
  - match: GET /api/categories
    ttl: 5m
    namespaces: [categories]
  - match: GET /api/me
    ttl: 1m
    per_user: { header: Authorization }
  - match: GET /api/search
    ttl: 5m
    query: { ignore: ["utm_*"] }
    vary: [Accept-Language]
  - match: GET /api/flash
    ttl: 1s
  - match: GET /api/orders/{id}
    ttl: 1h
  - match: PUT|PATCH|DELETE /api/products/{id}
    invalidates: [products, "product:{id}"]
)";

// The key prefix larder uses by default (cache.key_prefix).
inline constexpr std::string_view kEntryPattern = "v1:e:*";
inline constexpr std::string_view kVersionPattern = "*:ns:*";

enum class StoreKind { kRedis, kMemory };

struct CacheOptions {
  StoreKind store = StoreKind::kRedis;
  std::string on_failure = "bypass";
  // Generous enough that a loaded CI host (several redis-servers and larders
  // on two cores) does not time out a healthy Redis and turn a hit into a
  // bypass; still far below the 1s latency bound of the failure tests.
  std::string redis_timeout = "250ms";
  std::string cache_section;  // extra lines under `cache:` (indented two spaces)
  std::string routes{kCacheRoutes};
  std::string response_timeout = "30s";  // upstream.response_timeout
  // larder's wall clock is a TestClock (clock->advance()) instead of real
  // time: for tests of freshness lifetimes.
  bool test_clock = false;
};

// The YAML store/cache/routes sections for a larder in front of `redis`
// (nullptr: the memory store).
inline std::string cacheSections(const RedisServer* redis, const CacheOptions& options) {
  std::string text = "store:\n";
  if (redis != nullptr) {
    text += fmt::format("  redis: {{ url: \"{}\", timeout: {} }}\n", redis->url(), options.redis_timeout);
  }
  text += fmt::format("  on_failure: {}\n", options.on_failure);
  text += "cache:\n  status_header: X-Cache\n";
  text += options.cache_section;
  text += options.routes;
  return text;
}

// Declaration order is construction order: upstream, Redis, clock, then
// larder; larder stops first.
class CacheFixture {
  // Declared first: the upstream's handler uses them until it stops.
  CacheOptions options_;
  std::atomic<uint64_t> answered_{0};
  std::mutex mutex_;
  std::function<void(const RecordedRequest&, FakeResponse&)> customizer_;

 public:
  explicit CacheFixture(CacheOptions options = {}) : options_(std::move(options)) {
    upstream.setHandler([this](const RecordedRequest& request) { return respond(request); });
    if (options_.store == StoreKind::kRedis) redis = std::make_unique<RedisServer>();
    LarderOptions larder_options;
    if (options_.test_clock) {
      clock = std::make_unique<TestClock>();
      larder_options.env = clock->env();
    }
    larder = std::make_unique<LarderProcess>(configFragment(), std::move(larder_options));
    REQUIRE_MESSAGE(waitForLarderConnections(kConnectionsPerLarder), "larder did not connect to Redis");
  }

  // Redis connections each larder opens at least (store.redis.connections).
  static constexpr size_t kConnectionsPerLarder = 2;

  // larder listens before its Redis connections are ready and bypasses the
  // cache until then; tests that count misses and hits start after this:
  // n client connections have finished their handshake (the generation EVAL last).
  bool waitForLarderConnections(size_t n, Millis timeout = 10s) {
    return !redis || waitForRedisClients(*redis, n, timeout);
  }

  // The fragment of this fixture's larder: another LarderProcess started on
  // it shares the upstream and the Redis.
  std::string configFragment() const {
    return proxyConfig(upstream.port(), cacheSections(redis.get(), options_), options_.response_timeout);
  }

  HttpClient client() { return HttpClient(larder->port()); }

  // Per-target answers; the default answer is numbered (see the top).
  using Customizer = std::function<void(const RecordedRequest&, FakeResponse&)>;
  void customize(Customizer customizer) {
    std::lock_guard lock(mutex_);
    customizer_ = std::move(customizer);
  }

  size_t upstreamCount(std::string_view method, std::string_view target) const {
    size_t count = 0;
    for (const auto& request : upstream.requests())
      if (request.method == method && request.target == target) ++count;
    return count;
  }

  // Entries larder wrote to Redis.
  std::vector<std::string> entryKeys() { return redis->keys(std::string(kEntryPattern)); }

  // A fill is written to Redis after its answer reached the client (one
  // EVALSHA, possibly on another connection than the next lookup); a test
  // that wants the next request to hit waits for the entry first.
  bool waitForEntries(size_t n, Millis timeout = 3s) {
    if (!redis) return true;  // the memory store writes before answering
    return waitUntil([&] { return entryKeys().size() >= n; }, timeout);
  }

  // Scripts Redis has run, from INFO commandstats: inserts (stored or
  // refused) and invalidations, so take it after the writes it should not
  // count.
  int64_t fillCount();
  // Waits until a fill after `before` (a fillCount()) has landed: for a
  // refill, whose entry key already exists.
  bool waitForFillAfter(int64_t before, Millis timeout = 3s) {
    if (!redis) return true;
    return waitUntil([&] { return fillCount() > before; }, timeout);
  }

  FakeUpstream upstream;
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<TestClock> clock;  // with options.test_clock only
  std::unique_ptr<LarderProcess> larder;

 private:
  FakeResponse respond(const RecordedRequest& request) {
    FakeResponse response = numberedAnswer(request, ++answered_);
    response.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                        {"ETag", "\"e1\""},
                        {"X-Upstream", "Value With  Spaces"},
                        {"X-Multi", "one"},
                        {"X-Multi", "two"}};
    Customizer customizer;
    {
      std::lock_guard lock(mutex_);
      customizer = customizer_;
    }
    if (customizer) customizer(request, response);
    return response;
  }
};

// A GET that must succeed; its response.
inline HttpResponse mustGet(HttpClient& client, std::string_view target, const Headers& headers = {}) {
  auto response = client.get(target, headers);
  REQUIRE_MESSAGE(response.has_value(), "no response to GET ", target);
  return *response;
}

inline HttpResponse mustRequest(HttpClient& client, std::string_view method, std::string_view target,
                                const Headers& headers = {}, std::string_view body = {}) {
  auto response = client.request(method, target, headers, body);
  REQUIRE_MESSAGE(response.has_value(), "no response to ", method, " ", target);
  return *response;
}

inline int64_t CacheFixture::fillCount() {
  if (!redis) return 0;
  std::map<std::string, int64_t> calls = commandCalls(*redis);
  return calls["evalsha"] + calls["eval"];
}

}  // namespace larder::test
