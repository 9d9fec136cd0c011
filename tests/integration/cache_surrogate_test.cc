// Surrogate keys, namespaces named by the application: an answer's
// Surrogate-Key tags its entry, the same field on a write's non-error answer
// invalidates those names, also when the write lands while the entry's fetch
// (or a fetch other requests wait on) is in flight (DESIGN invariant 3);
// hits stay one Redis round trip once the names are known (invariant 1);
// the field is stripped unless configured otherwise. Redis and memory store.
#include <atomic>
#include <memory>
#include <string>

#include "cache_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// Writes here touch no entry's own URI: only the names in their answers can
// invalidate anything.
constexpr std::string_view kWriteTarget = "/api/jobs/reprice";

CacheOptions optionsFor(StoreKind store, std::string cache_section = {}) {
  CacheOptions options;
  options.store = store;
  options.cache_section = std::move(cache_section);
  return options;
}

// GET /api/products/N is tagged "product-N products"; GET /api/categories
// is untagged; a POST names what its X-Names request field says.
void tagAnswers(const RecordedRequest& request, FakeResponse& response, std::string_view field = "Surrogate-Key") {
  constexpr std::string_view kProduct = "/api/products/";
  if (request.method == "GET" && request.target.starts_with(kProduct)) {
    response.headers.emplace_back(std::string(field),
                                  fmt::format("product-{} products", request.target.substr(kProduct.size())));
  }
  if (request.method == "POST" && request.hasHeader("X-Names")) {
    response.headers.emplace_back(std::string(field), request.header("X-Names"));
    if (request.hasHeader("X-Status")) response.status = std::stoi(request.header("X-Status"));
  }
}

HttpResponse write(HttpClient& client, std::string_view names, int status = 200) {
  return mustRequest(client, "POST", kWriteTarget, {{"X-Names", std::string(names)}, {"X-Status", std::to_string(status)}},
                     "{}");
}

StoreKind storeKind() {
  StoreKind kind = StoreKind::kRedis;
  SUBCASE("redis") { kind = StoreKind::kRedis; }
  SUBCASE("memory") { kind = StoreKind::kMemory; }
  return kind;
}

TEST_CASE("an entry tagged product-7 misses after a write naming product-7; other entries stay cached") {
  CacheFixture cache(optionsFor(storeKind()));
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  HttpClient client = cache.client();
  HttpResponse product = mustGet(client, "/api/products/7");
  CHECK(xCache(product) == "MISS");
  CHECK_FALSE(product.hasHeader("Surrogate-Key"));  // stripped by default
  CHECK(xCache(mustGet(client, "/api/products/8")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/categories")) == "MISS");
  REQUIRE(cache.waitForEntries(3));
  HttpResponse hit = mustGet(client, "/api/products/7");
  CHECK(xCache(hit) == "HIT");
  CHECK(hit.body == product.body);
  CHECK_FALSE(hit.hasHeader("Surrogate-Key"));

  HttpResponse written = write(client, "product-7");
  CHECK(written.status == 200);
  CHECK_FALSE(written.hasHeader("Surrogate-Key"));
  HttpResponse after = mustGet(client, "/api/products/7");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != product.body);
  CHECK(xCache(mustGet(client, "/api/products/8")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");

  // A name shared by several entries drops them all; untagged ones stay.
  REQUIRE(write(client, "products unrelated").status == 200);
  CHECK(xCache(mustGet(client, "/api/products/8")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 2);
  CHECK(cache.upstreamCount("GET", "/api/products/8") == 2);
  CHECK(cache.upstreamCount("GET", "/api/categories") == 1);
}

TEST_CASE("the refill after a write is stored under the written name and hits again") {
  CacheFixture cache(optionsFor(storeKind()));
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  HttpClient client = cache.client();
  // Written before the entry's first lookup: no reason to refuse it.
  REQUIRE(write(client, "product-3").status == 200);
  CHECK(xCache(mustGet(client, "/api/products/3")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/api/products/3");
  CHECK(xCache(hit) == "HIT");
  REQUIRE(write(client, "product-3").status == 200);
  const int64_t fills = cache.fillCount();
  HttpResponse refill = mustGet(client, "/api/products/3");
  CHECK(xCache(refill) == "MISS");
  CHECK(refill.body != hit.body);
  REQUIRE(cache.waitForFillAfter(fills));
  HttpResponse again = mustGet(client, "/api/products/3");
  CHECK(xCache(again) == "HIT");
  CHECK(again.body == refill.body);
  CHECK(cache.upstreamCount("GET", "/api/products/3") == 2);
}

TEST_CASE("a write answered with an error invalidates none of the names it carries") {
  CacheFixture cache(optionsFor(storeKind()));
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  HttpClient client = cache.client();
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  CHECK(write(client, "product-7", 409).status == 409);
  CHECK(write(client, "product-7", 500).status == 500);
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 1);
}

TEST_CASE("a write naming product-1 while the entry's fetch is in flight keeps it from being stored (invariant 3)") {
  // Declared before the fixture: the upstream's handler uses them.
  auto gate = std::make_shared<Gate>();
  std::atomic<bool> armed{false};
  const StoreKind kind = storeKind();
  CacheFixture cache(optionsFor(kind));
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    tagAnswers(request, response);
    if (request.method != "GET" || request.target != "/api/products/1") return;
    if (armed.exchange(false)) {
      response.body = "old";
      response.hold = gate;
    } else {
      response.body = "new";
    }
  });
  HttpClient client = cache.client();
  HttpClient writer = cache.client();

  bool names_known = false;
  SUBCASE("the first fetch: its lookup could not read the name (epoch)") {}
  SUBCASE("a refetch: the lookup read the name it learned from the last answer") {
    REQUIRE(xCache(mustGet(client, "/api/products/1")) == "MISS");
    REQUIRE(cache.waitForEntries(1));
    // A route write drops the entry; the name stays known to the lookup.
    REQUIRE(mustRequest(writer, "PUT", "/api/products/1", {}, "{}").status == 200);
    names_known = true;
  }
  CAPTURE(names_known);
  const size_t requests_before = cache.upstream.requestCount();
  const size_t gets_before = cache.upstreamCount("GET", "/api/products/1");

  armed = true;
  const std::string host = fmt::format("127.0.0.1:{}", cache.larder->port());
  REQUIRE(client.send(formatRequest("GET", "/api/products/1", {}, {}, host)));
  // Barrier: larder looked up (a miss) and the fetch is held upstream.
  REQUIRE(cache.upstream.waitForRequests(requests_before + 1, 5s));
  HttpResponse written = write(writer, "product-1");
  CHECK(written.status == 200);
  const int64_t fills = cache.fillCount();
  gate->open();

  auto held = client.readResponse(10s);
  REQUIRE(held);
  CHECK(held->body == "old");  // it began before the write: fine to answer
  CHECK(xCache(*held) == "MISS");
  // Its insert (refused) is given time to land before the check.
  cache.waitForFillAfter(fills, 1s);

  HttpResponse next = mustGet(client, "/api/products/1");
  CHECK(xCache(next) == "MISS");
  CHECK(next.body == "new");
  CHECK(cache.upstreamCount("GET", "/api/products/1") == gets_before + 2);
}

TEST_CASE("a request waiting on a fetch that began before a write naming its entry fetches for itself") {
  auto gate = std::make_shared<Gate>();
  std::atomic<bool> armed{false};
  const StoreKind kind = storeKind();
  const uint16_t admin_port = freePort();
  CacheOptions options = optionsFor(kind);
  options.routes += adminSection(admin_port);
  CacheFixture cache(options);
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    tagAnswers(request, response);
    if (request.method != "GET" || request.target != "/api/products/1") return;
    if (armed.exchange(false)) {
      response.body = "old";
      response.hold = gate;
    } else {
      response.body = "new";
    }
  });
  HttpClient leader = cache.client();
  HttpClient waiter = cache.client();
  const std::string host = fmt::format("127.0.0.1:{}", cache.larder->port());

  armed = true;
  REQUIRE(leader.send(formatRequest("GET", "/api/products/1", {}, {}, host)));
  REQUIRE(cache.upstream.waitForRequests(1, 5s));
  REQUIRE(write(waiter, "product-1").status == 200);
  // After the write: same namespaces seen, so it joins the held fetch.
  REQUIRE(waiter.send(formatRequest("GET", "/api/products/1", {}, {}, host)));
  auto waiters = [&] {
    double total = 0;
    for (const auto& [series, value] : scrape(admin_port).samples)
      if (series.rfind("larder_coalesced_waiters", 0) == 0) total += value;
    return total;
  };
  REQUIRE(waitUntil([&] { return waiters() == 1; }, 5s));
  gate->open();

  auto old_answer = leader.readResponse(10s);
  REQUIRE(old_answer);
  CHECK(old_answer->body == "old");
  auto own = waiter.readResponse(10s);
  REQUIRE(own);
  CHECK(own->body == "new");  // not the answer from before the write
  CHECK(cache.upstreamCount("GET", "/api/products/1") == 2);
}

TEST_CASE("an entry renewed by a 304 without the field keeps its names") {
  CacheOptions options = optionsFor(storeKind());
  options.test_clock = true;
  CacheFixture cache(options);
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    tagAnswers(request, response);
    if (request.target != "/api/flash") return;
    if (request.hasHeader("If-None-Match")) {
      response.status = 304;
      response.reason = "Not Modified";
      response.body.clear();
      return;
    }
    response.headers.emplace_back("Surrogate-Key", "flash");
  });
  HttpClient client = cache.client();
  HttpResponse first = mustGet(client, "/api/flash");  // route ttl: 1s
  CHECK(xCache(first) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  cache.clock->advance(1300ms);  // expired; kept for revalidation (it has an ETag)
  const int64_t fills = cache.fillCount();
  HttpResponse renewed = mustGet(client, "/api/flash");
  CHECK(xCache(renewed) == "REVALIDATED");
  CHECK(renewed.body == first.body);
  REQUIRE(cache.waitForFillAfter(fills));
  REQUIRE(xCache(mustGet(client, "/api/flash")) == "HIT");

  REQUIRE(write(client, "flash").status == 200);
  HttpResponse after = mustGet(client, "/api/flash");
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != first.body);
}

TEST_CASE("Redis: names become version keys with TTLs, stamped by an epoch key every lookup reads") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  HttpClient client = cache.client();
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  REQUIRE(cache.waitForEntries(1));
  // Created by the insert: a created token, no epoch yet (no write so far),
  // tagged with the Redis server's generation (store/redis/generation.h).
  RedisReply created = cache.redis->command({"GET", "v1:ns:sk:product-7"});
  REQUIRE(created.type == RedisReply::Type::kBulk);
  const std::string generation = cache.redis->command({"GET", "v1:generation"}).str;
  REQUIRE(generation.size() == 16);
  CHECK(created.str.starts_with(generation + "/+"));
  CHECK(cache.redis->command({"EXISTS", "v1:ns:sk:products"}).integer == 1);
  CHECK(cache.redis->command({"EXISTS", "v1:epoch"}).integer == 0);

  REQUIRE(write(client, "product-7").status == 200);
  RedisReply epoch = cache.redis->command({"GET", "v1:epoch"});
  REQUIRE(epoch.type == RedisReply::Type::kBulk);
  CHECK(epoch.str.starts_with(generation + "/"));
  RedisReply token = cache.redis->command({"GET", "v1:ns:sk:product-7"});
  REQUIRE(token.type == RedisReply::Type::kBulk);
  CHECK(token.str.starts_with(epoch.str + "."));
  // Every key larder wrote expires (DESIGN invariant 2).
  for (const auto& key : cache.redis->keys("*")) {
    CAPTURE(key);
    CHECK(cache.redis->command({"PTTL", key}).integer > 0);
  }

  // One round trip per hit once the names are known (DESIGN invariant 1).
  const int64_t fills = cache.fillCount();
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  REQUIRE(cache.waitForFillAfter(fills));
  const int64_t mgets = commandCalls(*cache.redis)["mget"];
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");
  CHECK(commandCalls(*cache.redis)["mget"] == mgets + 1);
}

TEST_CASE("Redis: another instance checks the names of an entry it did not fill before serving it") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  LarderProcess second(cache.configFragment());
  LarderProcess third(cache.configFragment());
  REQUIRE(cache.waitForLarderConnections(3 * CacheFixture::kConnectionsPerLarder));
  const Headers host = {{"Host", "shop.example.test"}};
  HttpClient a = cache.client();
  HttpClient b(second.port());
  HttpClient c(third.port());

  HttpResponse filled = mustGet(a, "/api/products/7", host);
  REQUIRE(cache.waitForEntries(1));
  // b has never seen the entry: a second lookup checks its names, then it hits.
  int64_t mgets = commandCalls(*cache.redis)["mget"];
  HttpResponse shared = mustGet(b, "/api/products/7", host);
  CHECK(xCache(shared) == "HIT");
  CHECK(shared.body == filled.body);
  CHECK(commandCalls(*cache.redis)["mget"] == mgets + 2);
  mgets = commandCalls(*cache.redis)["mget"];
  CHECK(xCache(mustGet(b, "/api/products/7", host)) == "HIT");  // now known: one round trip
  CHECK(commandCalls(*cache.redis)["mget"] == mgets + 1);

  // A write through a; c, which never saw the entry, must not serve it.
  REQUIRE(mustRequest(a, "POST", kWriteTarget, {{"Host", "shop.example.test"}, {"X-Names", "product-7"}}, "{}")
              .status == 200);
  HttpResponse after = mustGet(c, "/api/products/7", host);
  CHECK(xCache(after) == "MISS");
  CHECK(after.body != filled.body);
  // b knows the name: its hit, if any, is c's refill, never the old entry.
  CHECK(mustGet(b, "/api/products/7", host).body != filled.body);
}

TEST_CASE("cache.surrogate_keys: another field name, kept for the client, or off") {
  const StoreKind kind = storeKind();
  SUBCASE("header: X-Cache-Tags, strip: false") {
    CacheFixture cache(optionsFor(kind, "  surrogate_keys: { header: X-Cache-Tags, strip: false }\n"));
    cache.customize([](const RecordedRequest& request, FakeResponse& response) {
      tagAnswers(request, response, "X-Cache-Tags");
    });
    HttpClient client = cache.client();
    HttpResponse miss = mustGet(client, "/api/products/7");
    CHECK(miss.header("X-Cache-Tags") == "product-7 products");
    REQUIRE(cache.waitForEntries(1));
    HttpResponse hit = mustGet(client, "/api/products/7");
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.header("X-Cache-Tags") == "product-7 products");
    CHECK(write(client, "product-7").header("X-Cache-Tags") == "product-7");
    CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  }
  SUBCASE("off: the field passes through and invalidates nothing") {
    CacheFixture cache(optionsFor(kind, "  surrogate_keys: off\n"));
    cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
    HttpClient client = cache.client();
    CHECK(mustGet(client, "/api/products/7").header("Surrogate-Key") == "product-7 products");
    REQUIRE(cache.waitForEntries(1));
    CHECK(write(client, "product-7").header("Surrogate-Key") == "product-7");
    HttpResponse hit = mustGet(client, "/api/products/7");
    CHECK(xCache(hit) == "HIT");
    CHECK(hit.header("Surrogate-Key") == "product-7 products");
  }
}

TEST_CASE("the admin API purges a name as the namespace sk:NAME") {
  const uint16_t admin_port = freePort();
  CacheOptions options = optionsFor(storeKind());
  options.routes += adminSection(admin_port);
  CacheFixture cache(options);
  cache.customize([](const RecordedRequest& request, FakeResponse& response) { tagAnswers(request, response); });
  HttpClient client = cache.client();
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/products/8")) == "MISS");
  REQUIRE(cache.waitForEntries(2));
  auto purged = adminRequest(admin_port, "POST", "/purge/namespace/sk%3Aproduct-7");
  REQUIRE(purged);
  CHECK(purged->status == 200);
  CHECK(purged->body.find("\"key\":\"v1:ns:sk:product-7\"") != std::string::npos);
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/products/8")) == "HIT");
}

}  // namespace
}  // namespace larder::test
