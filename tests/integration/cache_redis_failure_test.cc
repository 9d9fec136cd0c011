// Redis is optional at run time (DESIGN invariant 5): with Redis killed or
// stopped, every request is still answered from the upstream within a bounded
// time; larder reconnects by itself; an invalidation that could not reach
// Redis is retried, and the namespace it covers is not served stale
// meanwhile. With store.on_failure: reject, a cacheable request fails fast
// with 503 instead.
#include <chrono>
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// Far above the 50ms Redis timeout, far below anything a client would call
// an outage.
constexpr Millis kBoundedLatency = 1000ms;

struct Timed {
  HttpResponse response;
  Millis elapsed;
};

Timed timedRequest(HttpClient& client, std::string_view method, std::string_view target, std::string_view body = {}) {
  auto start = Clock::now();
  HttpResponse response = mustRequest(client, method, target, {}, body);
  return {response, std::chrono::duration_cast<Millis>(Clock::now() - start)};
}

bool isUncached(const HttpResponse& response) {
  return xCache(response) == "BYPASS" || xCache(response) == "MISS";
}

TEST_CASE("Redis killed: every request is answered from the upstream in bounded time; hits resume after restart") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse cached = mustGet(client, "/api/products");
  REQUIRE(cache.waitForEntries(1));
  REQUIRE(xCache(mustGet(client, "/api/products")) == "HIT");

  cache.redis->kill();
  size_t upstream_before = cache.upstream.requestCount();
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    const std::string target = i % 2 == 0 ? "/api/products" : "/api/products/" + std::to_string(i);
    Timed timed = timedRequest(client, "GET", target);
    CHECK(timed.response.status == 200);
    CHECK(isUncached(timed.response));
    CHECK(timed.elapsed < kBoundedLatency);
    CHECK(timed.response.body.starts_with("GET " + target + " #"));
    CHECK(timed.response.body != cached.body);
  }
  CHECK(cache.upstream.requestCount() == upstream_before + 20);
  // A write while Redis is down still gets the upstream's answer.
  Timed put = timedRequest(client, "PUT", "/api/products/7", "{}");
  CHECK(put.response.status == 200);
  CHECK(put.elapsed < kBoundedLatency);

  cache.redis->restart();
  // larder reconnects on its own (backoff and breaker cooldown: seconds).
  int hits = 0;
  std::string last_status;
  REQUIRE(waitUntil(
      [&] {
        Timed timed = timedRequest(client, "GET", "/api/categories");
        CHECK(timed.response.status == 200);
        CHECK(timed.elapsed < kBoundedLatency);
        last_status = xCache(timed.response);
        if (last_status == "HIT") ++hits;
        return hits > 0;
      },
      10s, 100ms));
  CHECK(cache.larder->isRunning());
  // The write made while Redis was down is retried until it lands: the
  // restarted (empty) Redis gets the version keys it covers.
  REQUIRE(waitUntil([&] { return cache.redis->command({"EXISTS", "v1:ns:product:7"}).integer == 1; }, 5s, 20ms));
  CHECK(cache.redis->command({"EXISTS", "v1:ns:products"}).integer == 1);
  // And the cache works as before: fill, hit, write, miss.
  const int64_t fills = cache.fillCount();
  HttpResponse refill = mustGet(client, "/api/products/9");
  CHECK(refill.status == 200);
  CHECK(xCache(refill) == "MISS");
  REQUIRE(cache.waitForFillAfter(fills));
  CHECK(xCache(mustGet(client, "/api/products/9")) == "HIT");
  CHECK(mustRequest(client, "PUT", "/api/products/9", {}, "{}").status == 200);
  HttpResponse after_write = mustGet(client, "/api/products/9");
  CHECK(xCache(after_write) == "MISS");
  CHECK(after_write.body != refill.body);
}

TEST_CASE("Redis stopped during a write: the write is answered, retried later, and the old entry is never served") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse product = mustGet(client, "/api/products/7");
  HttpResponse categories = mustGet(client, "/api/categories");
  REQUIRE(cache.waitForEntries(2));
  REQUIRE(xCache(mustGet(client, "/api/products/7")) == "HIT");
  const std::string version_key = "v1:ns:product:7";
  RedisReply token_before = cache.redis->command({"GET", version_key});
  REQUIRE(token_before.type == RedisReply::Type::kBulk);

  cache.redis->pause();  // SIGSTOP: connections stay open, nothing answers, data survives
  Timed during = timedRequest(client, "GET", "/api/products/7");
  CHECK(during.response.status == 200);
  CHECK(isUncached(during.response));
  CHECK(during.elapsed < kBoundedLatency);

  Timed put = timedRequest(client, "PUT", "/api/products/7", "{}");
  CHECK(put.response.status == 200);
  CHECK(put.response.body.starts_with("PUT /api/products/7 #"));
  CHECK(put.elapsed < kBoundedLatency);
  CHECK(cache.upstreamCount("PUT", "/api/products/7") == 1);

  Timed still_down = timedRequest(client, "GET", "/api/products/7");
  CHECK(still_down.response.status == 200);
  CHECK(isUncached(still_down.response));
  CHECK(still_down.elapsed < kBoundedLatency);
  cache.redis->resume();

  // At once after Redis is back: never the entry from before the write.
  HttpResponse after = mustGet(client, "/api/products/7");
  CHECK(after.status == 200);
  CHECK(xCache(after) != "HIT");
  CHECK(after.body != product.body);

  // The invalidation lands (a new token), then the namespace is cached again,
  // with content from after the write.
  REQUIRE(waitUntil(
      [&] {
        RedisReply token = cache.redis->command({"GET", version_key});
        return token.type == RedisReply::Type::kBulk && token.str != token_before.str;
      },
      10s, 50ms));
  HttpResponse refreshed;
  REQUIRE(waitUntil(
      [&] {
        refreshed = mustGet(client, "/api/products/7");
        CHECK(refreshed.body != product.body);
        return xCache(refreshed) == "HIT";
      },
      10s, 100ms));
  CHECK(refreshed.body != product.body);
  // A namespace the write did not cover is served from its old entry again.
  HttpResponse categories_hit;
  REQUIRE(waitUntil(
      [&] {
        categories_hit = mustGet(client, "/api/categories");
        return xCache(categories_hit) == "HIT";
      },
      10s, 100ms));
  CHECK(categories_hit.body == categories.body);
}

TEST_CASE("on_failure: reject answers a cacheable request 503 with Retry-After while Redis is down") {
  CacheOptions options;
  options.on_failure = "reject";
  // The write at the end leaves its invalidation in the backlog with Redis
  // gone for good: a stop (the sanitizer builds' SIGTERM) waits for it up
  // to the drain timeout (app/backlog_retry.h), not the default 30s.
  options.routes = std::string(kCacheRoutes) + "timeouts: { drain: 500ms }\n";
  CacheFixture cache(options);
  HttpClient client = cache.client();
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(xCache(mustGet(client, "/api/products")) == "HIT");
  CHECK(cache.upstream.requestCount() == 1);

  cache.redis->kill();
  for (std::string target : {"/api/products", "/api/products/7", "/api/products"}) {
    CAPTURE(target);
    Timed timed = timedRequest(client, "GET", target);
    CHECK(timed.response.status == 503);
    CHECK(timed.response.hasHeader("Retry-After"));
    CHECK(timed.elapsed < kBoundedLatency);
  }
  CHECK(cache.upstream.requestCount() == 1);
  // Requests that do not use the cache are not the store's to fail.
  HttpResponse other = mustGet(client, "/other/thing");
  CHECK(other.status == 200);
  CHECK(cache.upstream.requestCount() == 2);
  // A write already applied upstream gets the upstream's answer.
  CHECK(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 200);
}

}  // namespace
}  // namespace larder::test
