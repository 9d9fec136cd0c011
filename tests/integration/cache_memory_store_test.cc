// The in-memory store (no store.redis section): the core cache behaviour
// again, with no Redis at all: miss then hit, HEAD from a GET entry, writes
// invalidating, TTL expiry and per-user isolation.
#include <chrono>
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

CacheOptions memoryStore() {
  CacheOptions options;
  options.store = StoreKind::kMemory;
  return options;
}

TEST_CASE("memory store: miss, insert, then hit with the same body, headers and Age") {
  CacheFixture cache(memoryStore());
  REQUIRE(cache.redis == nullptr);
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/products");
  CHECK(miss.status == 200);
  CHECK(xCache(miss) == "MISS");
  HttpResponse hit = mustGet(client, "/api/products");
  CHECK(hit.status == 200);
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);
  for (std::string_view name : {"Content-Type", "ETag", "X-Upstream", "X-Multi", "Content-Length"}) {
    CAPTURE(name);
    CHECK(hit.headerValues(name) == miss.headerValues(name));
  }
  CHECK(hit.hasHeader("Age"));
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("memory store: HEAD after GET is a hit without a body but with Content-Length") {
  CacheFixture cache(memoryStore());
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/products/7");
  CHECK(xCache(miss) == "MISS");
  HttpResponse head = mustRequest(client, "HEAD", "/api/products/7");
  CHECK(head.status == 200);
  CHECK(xCache(head) == "HIT");
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == std::to_string(miss.body.size()));
  HttpResponse get = mustGet(client, "/api/products/7");
  CHECK(xCache(get) == "HIT");
  CHECK(get.body == miss.body);
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("memory store: a HEAD miss fills the entry that a later GET hits") {
  CacheFixture cache(memoryStore());
  HttpClient client = cache.client();
  HttpResponse head = mustRequest(client, "HEAD", "/api/products/8");
  CHECK(head.status == 200);
  CHECK(xCache(head) == "MISS");
  CHECK(head.body.empty());
  HttpResponse get = mustGet(client, "/api/products/8");
  CHECK(xCache(get) == "HIT");
  CHECK(head.header("Content-Length") == std::to_string(get.body.size()));
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("memory store: PUT drops products and product:7 and leaves categories cached") {
  CacheFixture cache(memoryStore());
  HttpClient client = cache.client();
  for (std::string target : {"/api/products", "/api/products/7", "/api/categories"}) {
    CAPTURE(target);
    CHECK(xCache(mustGet(client, target)) == "MISS");
    CHECK(xCache(mustGet(client, target)) == "HIT");
  }
  HttpResponse before = mustGet(client, "/api/products/7");
  REQUIRE(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 200);
  HttpResponse after = mustGet(client, "/api/products/7");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != before.body);
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");

  // A failed write drops nothing.
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") response.status = 500;
  });
  REQUIRE(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 500);
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 2);
}

TEST_CASE("memory store: a route with ttl 1s expires") {
  CacheOptions options = memoryStore();
  options.test_clock = true;
  CacheFixture cache(options);
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/flash");
  CHECK(xCache(miss) == "MISS");
  HttpResponse hit = mustGet(client, "/api/flash");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);
  cache.clock->advance(1200ms);
  HttpResponse expired = mustGet(client, "/api/flash");
  CHECK(xCache(expired) == "MISS");
  CHECK(expired.body != miss.body);
  CHECK(cache.upstream.requestCount() == 2);
}

TEST_CASE("memory store: per-user entries are isolated, and credentials on shared routes bypass") {
  CacheFixture cache(memoryStore());
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/api/me") response.body += " for " + request.header("Authorization");
  });
  HttpClient client = cache.client();
  const Headers alice = {{"Authorization", "Bearer alice"}};
  const Headers bob = {{"Authorization", "Bearer bob"}};
  HttpResponse alice_miss = mustGet(client, "/api/me", alice);
  HttpResponse bob_miss = mustGet(client, "/api/me", bob);
  CHECK(xCache(alice_miss) == "MISS");
  CHECK(xCache(bob_miss) == "MISS");
  CHECK(alice_miss.body.ends_with("for Bearer alice"));
  CHECK(bob_miss.body.ends_with("for Bearer bob"));
  HttpResponse alice_hit = mustGet(client, "/api/me", alice);
  HttpResponse bob_hit = mustGet(client, "/api/me", bob);
  CHECK(xCache(alice_hit) == "HIT");
  CHECK(xCache(bob_hit) == "HIT");
  CHECK(alice_hit.body == alice_miss.body);
  CHECK(bob_hit.body == bob_miss.body);
  CHECK(cache.upstreamCount("GET", "/api/me") == 2);

  CHECK(xCache(mustGet(client, "/api/products", alice)) == "BYPASS");
  CHECK(xCache(mustGet(client, "/api/products", {{"Cookie", "session=x"}})) == "BYPASS");
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  CHECK(cache.upstreamCount("GET", "/api/products") == 3);
}

}  // namespace
}  // namespace larder::test
