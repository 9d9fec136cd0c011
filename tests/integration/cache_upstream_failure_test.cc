// Writes and reads whose upstream answer never came or broke, against a real
// redis-server. A write that reached the upstream and got no answer head
// back may have been applied: it invalidates before larder answers 502 or
// 504 (DESIGN invariant 13); one that could not even connect, or that the
// upstream answered with an error status, invalidates nothing. A broken
// answer is never stored, and one that breaks before any of it has left
// becomes a clean 502.
#include <memory>
#include <string>
#include <vector>

#include "cache_support.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kBrokenChunked =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n";

// Fills /api/products, /api/products/7 and /api/categories; each hits.
void warm(CacheFixture& cache, HttpClient& client) {
  for (std::string_view target : {"/api/products", "/api/products/7", "/api/categories"}) {
    CAPTURE(target);
    CHECK(xCache(mustGet(client, target)) == "MISS");
  }
  REQUIRE(cache.waitForEntries(3));
  for (std::string_view target : {"/api/products", "/api/products/7", "/api/categories"}) {
    CAPTURE(target);
    REQUIRE(xCache(mustGet(client, target)) == "HIT");
  }
}

// The write's namespaces (products, product:7) miss; categories still hits.
void checkInvalidated(HttpClient& client) {
  CHECK(xCache(mustGet(client, "/api/products/7")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/products")) == "MISS");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
}

void checkNotInvalidated(HttpClient& client) {
  CHECK(xCache(mustGet(client, "/api/products/7")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/products")) == "HIT");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
}

TEST_CASE("a PUT the upstream answers after response_timeout gets 504, and its namespaces are invalidated") {
  CacheOptions options;
  options.response_timeout = "500ms";
  CacheFixture cache(options);
  auto never = std::make_shared<Gate>();  // released when the upstream stops
  cache.customize([never](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") response.hold = never;
  });
  HttpClient client = cache.client();
  warm(cache, client);

  HttpResponse put = mustRequest(client, "PUT", "/api/products/7", {}, R"({"name":"new"})");
  CHECK(put.status == 504);
  CHECK(cache.upstreamCount("PUT", "/api/products/7") == 1);
  checkInvalidated(client);
}

TEST_CASE("a PUT or DELETE whose upstream connection closes without an answer gets 502, and is invalidated") {
  for (std::string_view method : {"PUT", "DELETE"}) {
    CAPTURE(method);
    CacheFixture cache;
    auto never = std::make_shared<Gate>();
    cache.customize([never](const RecordedRequest& request, FakeResponse& response) {
      if (request.method != "GET") {
        response.hold = never;
        response.hold_timeout = 100ms;  // then the upstream closes, no answer
      }
    });
    HttpClient client = cache.client();
    warm(cache, client);

    HttpResponse write = mustRequest(client, method, "/api/products/7", {}, method == "PUT" ? "{}" : "");
    CHECK(write.status == 502);
    CHECK(cache.upstreamCount(method, "/api/products/7") >= 1);
    checkInvalidated(client);
  }
}

TEST_CASE("a PUT resent after its connection closed, whose resend cannot connect, still invalidates") {
  CacheFixture cache;
  auto never = std::make_shared<Gate>();
  cache.customize([never](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") response.hold = never;
  });
  HttpClient client = cache.client();
  warm(cache, client);
  HttpClient writer = cache.client();
  REQUIRE(writer.send(formatRequest("PUT", "/api/products/7", {}, "{}", "x")));
  REQUIRE(cache.upstream.waitForRequests(3 + 1, 5s));  // warm()'s 3 misses, then the PUT
  // The server goes away with the PUT unanswered: larder resends it (PUT is
  // idempotent), and the resend finds nothing listening. The first attempt
  // reached the server and may have been applied (DESIGN invariant 13).
  cache.upstream.stop();
  auto put = writer.readResponse(5s);
  REQUIRE(put);
  CHECK(put->status == 502);
  CHECK(xCache(mustGet(client, "/api/products/7")) != "HIT");
  CHECK(xCache(mustGet(client, "/api/products")) != "HIT");
  CHECK(xCache(mustGet(client, "/api/categories")) == "HIT");
}

TEST_CASE("a PUT answered 200 whose chunked body breaks before any of it left: 502, and invalidated") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") response.raw = std::string(kBrokenChunked);
  });
  HttpClient client = cache.client();
  warm(cache, client);

  HttpResponse put = mustRequest(client, "PUT", "/api/products/7", {}, "{}");
  CHECK(put.status == 502);
  // The upstream's head said the write was applied.
  checkInvalidated(client);
}

TEST_CASE("a PUT that cannot reach the upstream (connect refused) invalidates nothing") {
  CacheFixture cache;
  HttpClient client = cache.client();
  warm(cache, client);
  std::vector<std::string> versions_before = cache.redis->keys(std::string(kVersionPattern));
  // A second larder on the same Redis whose upstream port has no listener.
  LarderProcess cut_off(proxyConfig(freePort(), cacheSections(cache.redis.get(), CacheOptions{})));
  REQUIRE(cache.waitForLarderConnections(2 * CacheFixture::kConnectionsPerLarder));

  HttpClient writer(cut_off.port());
  HttpResponse put = mustRequest(writer, "PUT", "/api/products/7", {}, "{}");
  CHECK(put.status == 502);
  checkNotInvalidated(client);
  CHECK(cache.redis->keys(std::string(kVersionPattern)) == versions_before);
}

TEST_CASE("a PUT answered 500 whose body is then cut invalidates nothing") {
  CacheFixture cache;
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT")
      response.raw = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\nnot applied";
  });
  HttpClient client = cache.client();
  warm(cache, client);

  REQUIRE(client.send(formatRequest("PUT", "/api/products/7", {}, "{}", "x")));
  // The head has left with the first bytes of the body: a cut tells the rest.
  auto received = client.readUntilClosed(5s);
  REQUIRE(received);
  CHECK(received->rfind("HTTP/1.1 500 ", 0) == 0);
  HttpClient next = cache.client();
  checkNotInvalidated(next);
}

TEST_CASE("a cacheable GET whose chunked answer breaks before any byte left: 502, and nothing is stored") {
  CacheFixture cache;
  auto broken = std::make_shared<std::atomic<bool>>(true);
  cache.customize([broken](const RecordedRequest&, FakeResponse& response) {
    if (*broken) response.raw = std::string(kBrokenChunked);
  });
  HttpClient client = cache.client();
  HttpResponse first = mustGet(client, "/api/products/7");
  CHECK(first.status == 502);
  CHECK(first.header("Content-Type").rfind("text/plain", 0) == 0);
  *broken = false;

  HttpClient again = cache.client();
  HttpResponse second = mustGet(again, "/api/products/7");
  CHECK(second.status == 200);
  CHECK(xCache(second) == "MISS");
  CHECK(second.body.find("hello") == std::string::npos);
  CHECK(cache.upstreamCount("GET", "/api/products/7") == 2);
}

TEST_CASE("a cacheable GET whose upstream closes before its Content-Length is complete is cut and not stored") {
  CacheFixture cache;
  auto broken = std::make_shared<std::atomic<bool>>(true);
  cache.customize([broken](const RecordedRequest&, FakeResponse& response) {
    if (*broken) response.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npartial";
  });
  HttpClient client = cache.client();
  REQUIRE(client.send(formatRequest("GET", "/api/products/7", {}, {}, "x")));
  auto received = client.readUntilClosed(5s);
  REQUIRE(received);  // cut: the head and "partial" had left
  *broken = false;

  HttpClient again = cache.client();
  HttpResponse second = mustGet(again, "/api/products/7", {{"Host", "x"}});
  CHECK(second.status == 200);
  CHECK(xCache(second) == "MISS");
  CHECK(second.body.find("partial") == std::string::npos);
}

}  // namespace
}  // namespace larder::test
