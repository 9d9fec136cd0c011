// The cache's basic contract against a real redis-server: miss then hit with
// the same answer, HEAD from a GET entry, keys that ignore query order and
// ignored parameters but split on vary headers, TTL expiry, TTLs on every
// Redis key (DESIGN invariant 2), one round trip per hit (invariant 1), and
// oversized answers streaming through unstored (invariant 8).
#include <chrono>
#include <string>
#include <vector>

#include "cache_support.h"
#include "harness/pattern.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

TEST_CASE("miss, insert, then hit: same status, body and end-to-end headers, with Age; upstream asked once") {
  CacheFixture cache;
  HttpClient client = cache.client();

  HttpResponse miss = mustGet(client, "/api/products");
  CHECK(miss.status == 200);
  CHECK(xCache(miss) == "MISS");
  CHECK_FALSE(miss.hasHeader("Age"));
  CHECK(miss.body == "GET /api/products #1");
  REQUIRE(cache.waitForEntries(1));

  HttpResponse hit = mustGet(client, "/api/products");
  CHECK(hit.status == 200);
  CHECK(hit.reason == miss.reason);
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);
  for (std::string_view name : {"Content-Type", "ETag", "X-Upstream", "X-Multi", "Content-Length"}) {
    CAPTURE(name);
    CHECK(hit.headerValues(name) == miss.headerValues(name));
  }
  CHECK(hit.headerValues("X-Cache").size() == 1);
  REQUIRE(hit.hasHeader("Age"));
  CHECK(hit.header("Age").find_first_not_of("0123456789") == std::string::npos);
  CHECK(std::stoi(hit.header("Age")) <= 1);

  // A fresh connection hits the same entry.
  HttpClient other = cache.client();
  HttpResponse again = mustGet(other, "/api/products");
  CHECK(xCache(again) == "HIT");
  CHECK(again.body == miss.body);
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("HEAD after GET is a hit without a body but with the entry's Content-Length") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/products/7");
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));

  HttpResponse head = mustRequest(client, "HEAD", "/api/products/7");
  CHECK(head.status == 200);
  CHECK(xCache(head) == "HIT");
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == std::to_string(miss.body.size()));
  CHECK(head.header("ETag") == miss.header("ETag"));
  CHECK(cache.upstream.requestCount() == 1);
  // The connection is still in step: nothing followed the HEAD answer.
  HttpResponse get = mustGet(client, "/api/products/7");
  CHECK(xCache(get) == "HIT");
  CHECK(get.body == miss.body);
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("query parameter order does not split the key") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse first = mustGet(client, "/api/products?a=1&b=2");
  CHECK(xCache(first) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse second = mustGet(client, "/api/products?b=2&a=1");
  CHECK(xCache(second) == "HIT");
  CHECK(second.body == first.body);
  // A different value is a different key.
  HttpResponse other = mustGet(client, "/api/products?a=1&b=3");
  CHECK(xCache(other) == "MISS");
  CHECK(other.body != first.body);
  CHECK(cache.upstream.requestCount() == 2);
}

TEST_CASE("the Host is part of the key: another host misses, its own entry hits") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse shop = mustGet(client, "/api/products", {{"Host", "shop.example.test"}});
  CHECK(xCache(shop) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse other = mustGet(client, "/api/products", {{"Host", "other.example.test"}});
  CHECK(xCache(other) == "MISS");
  CHECK(other.body != shop.body);
  REQUIRE(cache.waitForEntries(2));
  // Host names are case-insensitive.
  HttpResponse again = mustGet(client, "/api/products", {{"Host", "SHOP.example.test"}});
  CHECK(xCache(again) == "HIT");
  CHECK(again.body == shop.body);
  CHECK(cache.upstream.requestCount() == 2);
}

TEST_CASE("ignored query parameters (utm_*) do not split the key") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse first = mustGet(client, "/api/search?q=shoes&utm_source=mail");
  CHECK(xCache(first) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  for (std::string target : {"/api/search?q=shoes&utm_source=ads", "/api/search?utm_medium=x&q=shoes",
                             "/api/search?q=shoes"}) {
    CAPTURE(target);
    HttpResponse hit = mustGet(client, target);
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.body == first.body);
  }
  HttpResponse other = mustGet(client, "/api/search?q=boots&utm_source=mail");
  CHECK(xCache(other) == "MISS");
  CHECK(cache.upstream.requestCount() == 2);
}

TEST_CASE("vary headers split the key: each Accept-Language is fetched once, then hits for each") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    response.headers.emplace_back("Vary", "Accept-Language");
    response.body += " lang=" + request.header("Accept-Language");
  });
  HttpClient client = cache.client();
  const Headers en = {{"Accept-Language", "en"}};
  const Headers fr = {{"Accept-Language", "fr"}};
  HttpResponse en_miss = mustGet(client, "/api/search?q=x", en);
  HttpResponse fr_miss = mustGet(client, "/api/search?q=x", fr);
  CHECK(xCache(en_miss) == "MISS");
  CHECK(xCache(fr_miss) == "MISS");
  CHECK(en_miss.body == "GET /api/search?q=x #1 lang=en");
  CHECK(fr_miss.body == "GET /api/search?q=x #2 lang=fr");
  CHECK(cache.upstream.requestCount() == 2);
  REQUIRE(cache.waitForEntries(2));
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    HttpResponse en_hit = mustGet(client, "/api/search?q=x", en);
    HttpResponse fr_hit = mustGet(client, "/api/search?q=x", fr);
    CHECK(xCache(en_hit) == "HIT");
    CHECK(xCache(fr_hit) == "HIT");
    CHECK(en_hit.body == en_miss.body);
    CHECK(fr_hit.body == fr_miss.body);
  }
  // Absent is a value of its own, not a wildcard.
  HttpResponse none = mustGet(client, "/api/search?q=x");
  CHECK(xCache(none) == "MISS");
  CHECK(none.body == "GET /api/search?q=x #3 lang=");
  CHECK(cache.upstream.requestCount() == 3);
}

TEST_CASE("a request matching no route is forwarded every time and has no X-Cache") {
  CacheFixture cache;
  HttpClient client = cache.client();
  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    HttpResponse response = mustGet(client, "/other/thing");
    CHECK(response.status == 200);
    CHECK_FALSE(response.hasHeader("X-Cache"));
    CHECK_FALSE(response.hasHeader("Age"));
    CHECK(response.body == fmt::format("GET /other/thing #{}", i));
  }
  CHECK(cache.upstream.requestCount() == 3);
  CHECK(cache.entryKeys().empty());
}

TEST_CASE("a route with ttl 1s serves hits until it expires, then misses") {
  CacheOptions options;
  options.test_clock = true;
  CacheFixture cache(options);
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/flash");
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  // The entry key expires (it may outlive freshness, for revalidation).
  std::vector<std::string> entries = cache.entryKeys();
  REQUIRE(entries.size() == 1);
  CHECK(cache.redis->command({"PTTL", entries[0]}).integer > 0);

  HttpResponse hit = mustGet(client, "/api/flash");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);
  cache.clock->advance(1200ms);
  HttpResponse expired = mustGet(client, "/api/flash");
  CHECK(xCache(expired) == "MISS");
  CHECK(expired.body == "GET /api/flash #2");
  CHECK(cache.upstream.requestCount() == 2);
}

TEST_CASE("every key larder writes to Redis has a TTL (invariant 2)") {
  CacheFixture cache;
  HttpClient client = cache.client();
  for (std::string target : {"/api/products", "/api/products/7", "/api/categories", "/api/search?q=a",
                             "/api/flash", "/api/orders/3"}) {
    CAPTURE(target);
    CHECK(xCache(mustGet(client, target)) == "MISS");
  }
  CHECK(xCache(mustGet(client, "/api/me", {{"Authorization", "Bearer alice"}})) == "MISS");
  REQUIRE(cache.waitForEntries(7));
  CHECK(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 200);
  CHECK(mustRequest(client, "POST", "/api/orders/3", {}, "{}").status == 200);
  CHECK(mustRequest(client, "DELETE", "/api/categories").status == 200);
  // A refill after the invalidation rewrites the entry under the new tokens.
  const int64_t fills = cache.fillCount();
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  REQUIRE(cache.waitForFillAfter(fills));

  std::vector<std::string> keys = cache.redis->keys("*");
  CHECK(cache.entryKeys().size() == 7);
  CHECK(keys.size() >= 7 + 4);  // entries plus at least products, product:7, uri:..., *
  for (const auto& key : keys) {
    CAPTURE(key);
    RedisReply pttl = cache.redis->command({"PTTL", key});
    CHECK(pttl.type == RedisReply::Type::kInteger);
    CHECK(pttl.integer > 0);
  }
}

TEST_CASE("a hit costs one Redis round trip: exactly one MGET and no other command (invariant 1)") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/products/7");
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  REQUIRE(cache.redis->command({"CONFIG", "RESETSTAT"}).isStatus("OK"));

  HttpResponse hit = mustGet(client, "/api/products/7");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);

  std::map<std::string, int64_t> calls = commandCalls(*cache.redis);
  CHECK(calls["mget"] == 1);
  for (const auto& [name, count] : calls) {
    if (name == "mget" || name.rfind("config", 0) == 0 || name.rfind("info", 0) == 0) continue;
    CAPTURE(name);
    CAPTURE(count);
    FAIL_CHECK("a hit sent a command other than MGET");
  }
}

TEST_CASE("an oversized response streams whole to the client and is not stored") {
  CacheOptions options;
  options.cache_section = "  max_object_size: 64KiB\n";
  CacheFixture cache(options);
  constexpr uint64_t kSize = 1024 * 1024;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/api/products/big") response = streamingResponse(kSize, false);
    if (request.target == "/api/products/chunked") response = streamingResponse(kSize, true);
  });
  HttpClient client = cache.client();
  const std::string host = fmt::format("127.0.0.1:{}", cache.larder->port());
  for (std::string target : {"/api/products/big", "/api/products/chunked"}) {
    CAPTURE(target);
    for (int round = 1; round <= 2; ++round) {
      CAPTURE(round);
      REQUIRE(client.send(formatRequest("GET", target, {}, {}, host)));
      auto response = client.readResponseDiscardingBody(30s);
      REQUIRE(response);
      CHECK(response->status == 200);
      CHECK(response->complete);
      CHECK(response->header("X-Cache") == "MISS");
      CHECK(response->body_bytes == kSize);
      CHECK(response->body_checksum == patternChecksum(kSize));
    }
    CHECK(cache.upstreamCount("GET", target) == 2);
  }
  // A small answer after them is stored; the big ones never were.
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(cache.entryKeys().size() == 1);
}

TEST_CASE("a stored 204 is served without Content-Length, as the miss was (RFC 9110 8.6)") {
  CacheOptions options;
  options.routes = "routes:\n  - match: GET /api/empty\n    ttl: 5m\n    statuses: [204]\n";
  CacheFixture cache(options);
  cache.customize([](const RecordedRequest&, FakeResponse& response) {
    response.status = 204;
    response.reason = "No Content";
    response.body.clear();
    response.headers.emplace_back("Content-Length", "44");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/empty");
  CHECK(miss.status == 204);
  CHECK(xCache(miss) == "MISS");
  CHECK_FALSE(miss.hasHeader("Content-Length"));
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/api/empty");
  CHECK(hit.status == 204);
  CHECK(xCache(hit) == "HIT");
  CHECK_FALSE(hit.hasHeader("Content-Length"));
  CHECK(hit.body.empty());
}

}  // namespace
}  // namespace larder::test
