// store.redis.url may name Redis by a host name (issue 11, item 4): larder
// looks it up asynchronously (store/redis/redis_endpoint.h) and caches as
// with an IP; a name that does not resolve leaves Redis unavailable and
// every request is still answered, bypassing the cache (DESIGN invariant 5).
// `localhost` resolves to 127.0.0.1 through /etc/hosts; `.invalid` names
// never resolve (RFC 6761 §6.4).
#include <chrono>
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

std::string namedRedisSections(const std::string& url) {
  return fmt::format(
             "store:\n  redis: {{ url: \"{}\", timeout: 250ms }}\n  on_failure: bypass\n"
             "cache:\n  status_header: X-Cache\n",
             url) +
         std::string(kCacheRoutes);
}

struct NamedRedisLarder {
  explicit NamedRedisLarder(const std::function<std::string(uint16_t redis_port)>& url) {
    upstream.setHandler(numberedAnswers({{"Content-Type", "text/plain"}}));
    larder = std::make_unique<LarderProcess>(
        proxyConfig(upstream.port(), namedRedisSections(url(redis.port()))));
  }
  FakeUpstream upstream;
  RedisServer redis;
  std::unique_ptr<LarderProcess> larder;
};

TEST_CASE("a Redis URL naming localhost is resolved, and larder caches through it") {
  NamedRedisLarder f([](uint16_t port) { return fmt::format("redis://localhost:{}/0", port); });
  REQUIRE(waitForRedisClients(f.redis, CacheFixture::kConnectionsPerLarder));
  HttpClient client(f.larder->port());
  HttpResponse first = mustGet(client, "/api/products");
  CHECK(first.status == 200);
  REQUIRE(waitUntil([&] { return !f.redis.keys(std::string(kEntryPattern)).empty(); }, 3s));
  HttpResponse second = mustGet(client, "/api/products");
  CHECK(xCache(second) == "HIT");
  CHECK(second.body == first.body);
  CHECK(f.upstream.requestCount() == 1);
}

TEST_CASE("a Redis host name that does not resolve: Redis is unavailable, requests are answered") {
  NamedRedisLarder f([](uint16_t port) {
    return fmt::format("redis://larder-no-such-host.invalid:{}/0", port);
  });
  HttpClient client(f.larder->port());
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    const auto start = Clock::now();
    HttpResponse response = mustGet(client, "/api/products");
    CHECK(response.status == 200);
    CHECK(xCache(response) == "BYPASS");
    CHECK(response.body == fmt::format("GET /api/products #{}", i + 1));
    // Bounded: nothing waits for the lookup (far above any healthy answer).
    CHECK(Clock::now() - start < 1000ms);
  }
  CHECK(f.redis.keys(std::string(kEntryPattern)).empty());
  CHECK(f.larder->stderrText().find("cannot resolve larder-no-such-host.invalid") !=
        std::string::npos);
}

}  // namespace
}  // namespace larder::test
