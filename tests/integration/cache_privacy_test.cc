// Nothing private is shared (DESIGN invariant 6), against a real
// redis-server: per-user routes key on the principal, credentials on shared
// routes bypass the cache, and answers marked private (Set-Cookie,
// Cache-Control private/no-store) are never stored; the upstream's max-age
// shortens a route's TTL.
#include <chrono>
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

TEST_CASE("per-user route: each principal gets its own entry and never another's body") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/api/me") response.body += " for " + request.header("Authorization");
  });
  HttpClient client = cache.client();
  const Headers alice = {{"Authorization", "Bearer alice"}};
  const Headers bob = {{"Authorization", "Bearer bob"}};

  HttpResponse alice_miss = mustGet(client, "/api/me", alice);
  CHECK(xCache(alice_miss) == "MISS");
  CHECK(alice_miss.body == "GET /api/me #1 for Bearer alice");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse bob_miss = mustGet(client, "/api/me", bob);
  CHECK(xCache(bob_miss) == "MISS");
  CHECK(bob_miss.body == "GET /api/me #2 for Bearer bob");
  REQUIRE(cache.waitForEntries(2));
  CHECK(cache.upstream.requestCount() == 2);

  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    HttpResponse alice_hit = mustGet(client, "/api/me", alice);
    HttpResponse bob_hit = mustGet(client, "/api/me", bob);
    CHECK(xCache(alice_hit) == "HIT");
    CHECK(xCache(bob_hit) == "HIT");
    CHECK(alice_hit.body == alice_miss.body);
    CHECK(bob_hit.body == bob_miss.body);
  }
  CHECK(cache.upstream.requestCount() == 2);

  // Without a principal there is no key of its own: bypass, never a user's entry.
  for (int i = 0; i < 2; ++i) {
    HttpResponse anonymous = mustGet(client, "/api/me");
    CHECK(anonymous.status == 200);
    CHECK(xCache(anonymous) == "BYPASS");
    CHECK(anonymous.body.find("alice") == std::string::npos);
    CHECK(anonymous.body.find("bob") == std::string::npos);
  }
  CHECK(cache.upstream.requestCount() == 4);
  CHECK(cache.entryKeys().size() == 2);
}

// A shared route with a credential: bypassed both ways, and the shared entry
// is neither served to it nor replaced by its answer.
void checkCredentialBypasses(const Headers& credential) {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse shared = mustGet(client, "/api/products");
  CHECK(xCache(shared) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(xCache(mustGet(client, "/api/products")) == "HIT");

  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    HttpResponse personal = mustGet(client, "/api/products", credential);
    CHECK(personal.status == 200);
    CHECK(xCache(personal) == "BYPASS");
    CHECK_FALSE(personal.hasHeader("Age"));
    CHECK(personal.body == fmt::format("GET /api/products #{}", i + 1));
  }
  CHECK(cache.upstreamCount("GET", "/api/products") == 4);
  // The credential reached the upstream, every time.
  size_t with_credential = 0;
  for (const auto& request : cache.upstream.requests())
    if (request.header(credential[0].first) == credential[0].second) ++with_credential;
  CHECK(with_credential == 3);

  HttpResponse after = mustGet(client, "/api/products");
  CHECK(xCache(after) == "HIT");
  CHECK(after.body == shared.body);
  CHECK(cache.entryKeys().size() == 1);

  // Nothing cached yet on another path: the credentialed answer is not stored.
  HttpResponse first = mustGet(client, "/api/categories", credential);
  CHECK(xCache(first) == "BYPASS");
  HttpResponse anonymous = mustGet(client, "/api/categories");
  CHECK(xCache(anonymous) == "MISS");
  CHECK(anonymous.body != first.body);
  CHECK(cache.upstreamCount("GET", "/api/categories") == 2);
}

TEST_CASE("Authorization on a shared route is never cached: BYPASS, the upstream sees every request") {
  checkCredentialBypasses({{"Authorization", "Bearer alice"}});
}

TEST_CASE("Cookie on a shared route is never cached: BYPASS, the upstream sees every request") {
  checkCredentialBypasses({{"Cookie", "session=alice-secret"}});
}

TEST_CASE("answers with Set-Cookie, Cache-Control private or no-store are not stored") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/api/products/101") response.headers.emplace_back("Set-Cookie", "session=s3cr3t; HttpOnly");
    if (request.target == "/api/products/102") response.headers.emplace_back("Cache-Control", "private, max-age=600");
    if (request.target == "/api/products/103") response.headers.emplace_back("Cache-Control", "no-store");
    if (request.target == "/api/products/104") response.headers.emplace_back("Cache-Control", "max-age=600, No-Store");
  });
  HttpClient client = cache.client();
  for (std::string target : {"/api/products/101", "/api/products/102", "/api/products/103", "/api/products/104"}) {
    CAPTURE(target);
    HttpResponse first = mustGet(client, target);
    HttpResponse second = mustGet(client, target);
    CHECK(first.status == 200);
    CHECK(xCache(first) == "MISS");
    CHECK(xCache(second) == "MISS");
    CHECK(second.body != first.body);
    CHECK(cache.upstreamCount("GET", target) == 2);
  }
  // The client that asked still gets its own cookie.
  HttpResponse cookie = mustGet(client, "/api/products/101");
  CHECK(cookie.header("Set-Cookie") == "session=s3cr3t; HttpOnly");
  // A storable answer after them lands; theirs never did.
  CHECK(xCache(mustGet(client, "/api/products/1")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(cache.entryKeys().size() == 1);
}

TEST_CASE("the upstream's max-age=1 caps a 1h route: hit at first, miss after it expires") {
  CacheOptions options;
  options.test_clock = true;
  CacheFixture cache(options);
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.target == "/api/products/55") response.headers.emplace_back("Cache-Control", "max-age=1");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/api/products/55");
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(cache.redis->command({"PTTL", cache.entryKeys().at(0)}).integer > 0);
  HttpResponse hit = mustGet(client, "/api/products/55");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == miss.body);
  CHECK(hit.header("Cache-Control") == "max-age=1");
  cache.clock->advance(1200ms);
  HttpResponse expired = mustGet(client, "/api/products/55");
  CHECK(xCache(expired) == "MISS");
  CHECK(expired.body != miss.body);
  CHECK(cache.upstreamCount("GET", "/api/products/55") == 2);
}

}  // namespace
}  // namespace larder::test
