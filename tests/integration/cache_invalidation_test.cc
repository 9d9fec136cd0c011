// Invalidation against a real redis-server: write routes drop their
// namespaces and nothing else, failed writes drop nothing, unsafe methods
// drop their own URI and their Location (RFC 9111 §4.4), a write read back
// through another larder instance is never stale (DESIGN invariant 3), a fill
// racing a write is never stored, and an evicted version key never brings an
// invalidated entry back (invariant 4).
#include <atomic>
#include <string>
#include <vector>

#include "cache_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// Fills `targets` and checks each second request hits.
void warm(CacheFixture& cache, HttpClient& client, const std::vector<std::string>& targets) {
  for (const auto& target : targets) {
    CAPTURE(target);
    CHECK(xCache(mustGet(client, target)) == "MISS");
  }
  REQUIRE(cache.waitForEntries(targets.size()));
  for (const auto& target : targets) {
    CAPTURE(target);
    CHECK(xCache(mustGet(client, target)) == "HIT");
  }
}

TEST_CASE("PUT /api/products/7 answered 200 drops products and product:7, and leaves categories cached") {
  CacheFixture cache;
  HttpClient client = cache.client();
  warm(cache, client, {"/api/products", "/api/products/7", "/api/products/8", "/api/categories"});
  HttpResponse before = mustGet(client, "/api/products/7");
  REQUIRE(xCache(before) == "HIT");

  HttpResponse put = mustRequest(client, "PUT", "/api/products/7", {{"Content-Type", "application/json"}},
                                 R"({"name":"new"})");
  CHECK(put.status == 200);
  CHECK(put.body.starts_with("PUT /api/products/7 #"));
  CHECK(cache.upstreamCount("PUT", "/api/products/7") == 1);

  HttpResponse product = mustGet(client, "/api/products/7");
  CHECK(xCache(product) == "MISS");
  CHECK(product.body != before.body);
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  // product:8 is not invalidated, but products is: /api/products/8 is in both.
  CHECK(xCache(mustGet(client, "/api/products/8")) == "MISS");
  HttpResponse categories = mustGet(client, "/api/categories");
  CHECK(xCache(categories) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/categories") == 1);
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 2);
  CHECK(cache.upstreamCount("GET", "/api/products") == 2);
}

TEST_CASE("a PUT answered 500 invalidates nothing") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") {
      response.status = 500;
      response.reason = "Internal Server Error";
    }
  });
  HttpClient client = cache.client();
  warm(cache, client, {"/api/products", "/api/products/7"});
  std::vector<std::string> versions_before = cache.redis->keys(std::string(kVersionPattern));

  HttpResponse put = mustRequest(client, "PUT", "/api/products/7", {}, "{}");
  CHECK(put.status == 500);
  CHECK(xCache(mustGet(client, "/api/products")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/products") == 1);
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 1);
  CHECK(cache.redis->keys(std::string(kVersionPattern)).size() == versions_before.size());
}

TEST_CASE("two larder instances on one Redis share entries and read their writes (invariant 3)") {
  CacheFixture cache;
  LarderProcess second(cache.configFragment());
  REQUIRE(cache.waitForLarderConnections(2 * CacheFixture::kConnectionsPerLarder));
  HttpClient a = cache.client();
  HttpClient b(second.port());
  // Both instances must key the request alike: the same Host.
  const Headers host = {{"Host", "shop.example.test"}};

  HttpResponse miss = mustGet(a, "/api/products/7", host);
  CHECK(xCache(miss) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse shared = mustGet(b, "/api/products/7", host);
  CHECK(xCache(shared) == "HIT");
  CHECK(shared.body == miss.body);
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 1);

  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    HttpResponse put = mustRequest(a, "PUT", "/api/products/7", {{"Host", "shop.example.test"}}, "{}");
    REQUIRE(put.status == 200);
    // At once, through the other instance: not the entry from before the write.
    const int64_t fills = cache.fillCount();
    HttpResponse after = mustGet(b, "/api/products/7", host);
    CHECK(xCache(after) == "MISS");
    CHECK(after.body != miss.body);
    CHECK(after.body.starts_with("GET /api/products/7 #"));
    REQUIRE(cache.waitForFillAfter(fills));
    // The fresh entry is shared again.
    HttpResponse refreshed = mustGet(a, "/api/products/7", host);
    CHECK(xCache(refreshed) == "HIT");
    CHECK(refreshed.body == after.body);
    miss = after;
  }
}

// Issue #10 item 11 (DESIGN invariant 13): many frameworks answer these as
// product 7, so by default a write route matches them too.
TEST_CASE("PUT /api/products/7/ and PUT /API/products/7 invalidate the cached GET /api/products/7") {
  CacheFixture cache;
  HttpClient client = cache.client();
  for (std::string_view target : {"/api/products/7/", "/API/products/7", "/Api/Products/7/"}) {
    CAPTURE(target);
    HttpResponse before;
    REQUIRE(waitUntil([&] {
      before = mustGet(client, "/api/products/7");
      return xCache(before) == "HIT";
    }, 5s));
    HttpResponse put = mustRequest(client, "PUT", std::string(target), {{"Content-Type", "application/json"}}, "{}");
    CHECK(put.status == 200);
    HttpResponse after = mustGet(client, "/api/products/7");
    CHECK(xCache(after) == "MISS");
    CHECK(after.body != before.body);
    // Reads match exactly by default: another spelling is passed through
    // uncached, never answered with /api/products/7's entry.
    HttpResponse spelled = mustGet(client, std::string(target));
    CHECK(xCache(spelled) != "HIT");
    CHECK(spelled.body.starts_with("GET " + std::string(target) + " #"));
  }
}

TEST_CASE("a write route with case: sensitive and trailing_slash: strict matches only its own spelling") {
  CacheOptions options;
  options.routes = std::string(kCacheRoutes) +
                   "  - match: PUT /api/categories/{slug}\n"
                   "    invalidates: [categories]\n"
                   "    case: sensitive\n"
                   "    trailing_slash: strict\n";
  options.routes.replace(options.routes.find("  - match: GET /api/categories\n"), 0,
                         "  - match: GET /api/categories/{slug}\n    ttl: 5m\n    namespaces: [categories]\n");
  CacheFixture cache(options);
  HttpClient client = cache.client();
  warm(cache, client, {"/api/categories/shoes"});
  for (std::string_view target : {"/API/categories/shoes", "/api/categories/shoes/"}) {
    CAPTURE(target);
    CHECK(mustRequest(client, "PUT", std::string(target), {}, "{}").status == 200);
    // Only RFC 9111 §4.4's own-URI invalidation, which is another spelling.
    CHECK(xCache(mustGet(client, "/api/categories/shoes")) == "HIT");
  }
  CHECK(mustRequest(client, "PUT", "/api/categories/shoes", {}, "{}").status == 200);
  CHECK(xCache(mustGet(client, "/api/categories/shoes")) == "MISS");
}

TEST_CASE("an unsafe method without a write route invalidates its own URI (RFC 9111 4.4)") {
  CacheFixture cache;
  HttpClient client = cache.client();
  warm(cache, client, {"/api/orders/9", "/api/orders/9?expand=items", "/api/orders/8"});
  HttpResponse post = mustRequest(client, "POST", "/api/orders/9", {{"Content-Type", "application/json"}}, "{}");
  CHECK(post.status == 200);
  // Every query variant of the path, since the URI namespace ignores the query.
  CHECK(xCache(mustGet(client, "/api/orders/9")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/orders/9?expand=items")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/orders/8")) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/orders/9") == 2);
  CHECK(cache.upstreamCount("GET", "/api/orders/8") == 1);
}

TEST_CASE("an unsafe method's Location and Content-Location are invalidated too (RFC 9111 4.4)") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "POST" && request.target == "/api/orders") {
      response.status = 201;
      response.reason = "Created";
      response.headers.emplace_back("Location", "/api/orders/10");
    }
    if (request.method == "PATCH" && request.target == "/api/orders/1") {
      response.headers.emplace_back("Content-Location", "/api/orders/12");
    }
    if (request.method == "POST" && request.target == "/api/orders/elsewhere") {
      // Another host's URI is not this cache's to invalidate.
      response.headers.emplace_back("Location", "http://other.example.test/api/orders/11");
    }
  });
  HttpClient client = cache.client();
  warm(cache, client, {"/api/orders/10", "/api/orders/11", "/api/orders/12"});

  HttpResponse created = mustRequest(client, "POST", "/api/orders", {}, R"({"item":1})");
  CHECK(created.status == 201);
  CHECK(created.header("Location") == "/api/orders/10");
  CHECK(xCache(mustGet(client, "/api/orders/10")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/orders/11")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/orders/12")) == "HIT");

  CHECK(mustRequest(client, "PATCH", "/api/orders/1", {}, "{}").status == 200);
  CHECK(xCache(mustGet(client, "/api/orders/12")) == "MISS");

  CHECK(mustRequest(client, "POST", "/api/orders/elsewhere", {}, "{}").status == 200);
  CHECK(xCache(mustGet(client, "/api/orders/11")) == "HIT");
}

TEST_CASE("a fill that raced a write is never stored: the next GET is a miss with the new body (invariant 3)") {
  // Declared before the fixture: the upstream's handler uses them.
  auto gate = std::make_shared<Gate>();
  // Armed just before the racing GET: the one GET that then arrives is held
  // and answers "old"; every later one answers "new".
  std::atomic<bool> armed{false};
  CacheFixture cache;
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") {
      response.body = "written";
      return;
    }
    if (request.target != "/api/products/1") return;
    if (armed.exchange(false)) {
      response.body = "old";
      response.hold = gate;
    } else {
      response.body = "new";
    }
  });
  HttpClient client = cache.client();
  HttpClient writer = cache.client();

  bool versions_existed = false;
  SUBCASE("namespace versions absent at the lookup") {}
  SUBCASE("namespace versions present at the lookup") {
    // A fill and a write before the race create every version key the GET
    // will see: "*" (any fill), products, product:1 and the URI's (the write).
    REQUIRE(xCache(mustGet(writer, "/api/products")) == "MISS");
    REQUIRE(cache.waitForEntries(1));
    REQUIRE(mustRequest(writer, "PUT", "/api/products/1", {}, "{}").status == 200);
    versions_existed = true;
    CHECK(cache.redis->keys(std::string(kVersionPattern)).size() == 5);
  }
  CAPTURE(versions_existed);
  const size_t requests_before = cache.upstream.requestCount();

  const std::string host = fmt::format("127.0.0.1:{}", cache.larder->port());
  armed = true;
  REQUIRE(client.send(formatRequest("GET", "/api/products/1", {}, {}, host)));
  // Barrier: larder looked up (a miss) and the fetch is held upstream.
  REQUIRE(cache.upstream.waitForRequests(requests_before + 1, 5s));

  HttpResponse put = mustRequest(writer, "PUT", "/api/products/1", {}, "{}");
  CHECK(put.status == 200);
  CHECK(put.body == "written");
  const int64_t fills = cache.fillCount();
  gate->open();

  auto stale = client.readResponse(10s);
  REQUIRE(stale);
  CHECK(stale->status == 200);
  CHECK(stale->body == "old");  // it began before the write: fine to answer
  CHECK(stale->header("X-Cache") == "MISS");
  // The stale fill's insert (refused, or never sent) is given time to land
  // before the check; not finding one is fine.
  cache.waitForFillAfter(fills, 1s);

  const int64_t fills_before_next = cache.fillCount();
  HttpResponse next = mustGet(client, "/api/products/1");
  CHECK(xCache(next) == "MISS");
  CHECK(next.body == "new");
  CHECK(cache.upstreamCount("GET", "/api/products/1") == 2);
  REQUIRE(cache.waitForFillAfter(fills_before_next));
  HttpResponse hit = mustGet(client, "/api/products/1");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == "new");
}

TEST_CASE("no resurrection: deleting version keys after a write does not revive the old entry (invariant 4)") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse original = mustGet(client, "/api/products/7");
  REQUIRE(cache.waitForEntries(1));
  REQUIRE(xCache(mustGet(client, "/api/products/7")) == "HIT");

  REQUIRE(mustRequest(client, "PUT", "/api/products/7", {}, "{}").status == 200);
  // Redis evicts (here: we delete) every version key; the old entry stays.
  std::vector<std::string> versions = cache.redis->keys(std::string(kVersionPattern));
  REQUIRE(versions.size() >= 4);
  for (const auto& key : versions) CHECK(cache.redis->command({"DEL", key}).integer == 1);
  REQUIRE(cache.entryKeys().size() == 1);

  HttpResponse after = mustGet(client, "/api/products/7");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != original.body);
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 2);
}

TEST_CASE("an absent version key never matches: deleting version keys alone turns a hit into a miss") {
  CacheFixture cache;
  HttpClient client = cache.client();
  HttpResponse original = mustGet(client, "/api/products/7");
  REQUIRE(cache.waitForEntries(1));
  REQUIRE(xCache(mustGet(client, "/api/products/7")) == "HIT");

  // Any one of them is enough.
  std::vector<std::string> versions = cache.redis->keys(std::string(kVersionPattern));
  REQUIRE(versions.size() == 4);  // products, product:7, uri:<host><path>, *
  for (const auto& key : versions) {
    CAPTURE(key);
    REQUIRE(cache.redis->command({"DEL", key}).integer == 1);
    const int64_t fills = cache.fillCount();
    HttpResponse after = mustGet(client, "/api/products/7");
    CHECK(xCache(after) == "MISS");
    CHECK(after.body != original.body);
    // The refill recreates the version key with a new token, and hits again.
    REQUIRE(cache.waitForFillAfter(fills));
    CHECK(cache.redis->command({"EXISTS", key}).integer == 1);
    HttpResponse hit = mustGet(client, "/api/products/7");
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.body == after.body);
    original = after;
  }
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 1 + versions.size());
}

}  // namespace
}  // namespace larder::test
