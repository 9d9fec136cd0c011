// Range requests (RFC 9110 §14, RFC 9111 §3.3-3.4): a hit answers a Range
// from the complete stored entry (206, multipart/byteranges, 416, If-Range);
// a miss fetches and stores the whole answer and answers it whole.
#include <string>
#include <vector>

#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kBody = "0123456789abcdefghijklmnopqrstuvwxyz";

CacheOptions rangeOptions(StoreKind store) {
  CacheOptions options;
  options.store = store;
  options.routes = R"(routes:
  - match: GET /files/*
    ttl: 1h
)";
  return options;
}

void serveAlphabet(CacheFixture& cache) {
  cache.customize([](const RecordedRequest&, FakeResponse& response) {
    response.body = std::string(kBody);
    response.headers = {{"Content-Type", "text/plain"}, {"ETag", "\"abc\""},
                        {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}};
  });
}

TEST_CASE("RFC 9111 §3.3: a miss with Range fetches and stores the whole answer, answered whole") {
  for (StoreKind store : {StoreKind::kRedis, StoreKind::kMemory}) {
    CacheFixture cache(rangeOptions(store));
    serveAlphabet(cache);
    HttpClient client = cache.client();
    HttpResponse miss = mustGet(client, "/files/a", {{"Range", "bytes=0-3"}});
    CHECK(miss.status == 200);
    CHECK(miss.body == kBody);
    CHECK(xCache(miss) == "MISS");
    REQUIRE(cache.upstream.requests().size() == 1);
    CHECK_FALSE(cache.upstream.requests()[0].hasHeader("Range"));
    REQUIRE(cache.waitForEntries(1));
    HttpResponse hit = mustGet(client, "/files/a", {{"Range", "bytes=0-3"}});
    CHECK(hit.status == 206);
    CHECK(hit.body == "0123");
    CHECK(xCache(hit) == "HIT");
    CHECK(cache.upstream.requestCount() == 1);
  }
}

TEST_CASE("RFC 9110 §14: a hit answers single ranges, several ranges, suffixes and unsatisfiable ones") {
  CacheFixture cache(rangeOptions(StoreKind::kRedis));
  serveAlphabet(cache);
  HttpClient client = cache.client();
  CHECK(mustGet(client, "/files/b").status == 200);
  REQUIRE(cache.waitForEntries(1));

  HttpResponse single = mustGet(client, "/files/b", {{"Range", "bytes=10-12"}});
  CHECK(single.status == 206);
  CHECK(single.reason == "Partial Content");
  CHECK(single.body == "abc");
  CHECK(single.header("Content-Range") == "bytes 10-12/36");
  CHECK(single.header("Content-Length") == "3");
  CHECK(single.header("ETag") == "\"abc\"");

  HttpResponse suffix = mustGet(client, "/files/b", {{"Range", "bytes=-2"}});
  CHECK(suffix.status == 206);
  CHECK(suffix.body == "yz");

  HttpResponse multi = mustGet(client, "/files/b", {{"Range", "bytes=0-1, 34-"}});
  CHECK(multi.status == 206);
  const std::string type = multi.header("Content-Type");
  REQUIRE(type.rfind("multipart/byteranges; boundary=", 0) == 0);
  const std::string boundary = type.substr(type.find('=') + 1);
  CHECK(multi.body == "\r\n--" + boundary + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/36\r\n\r\n01" +
                          "\r\n--" + boundary + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 34-35/36\r\n\r\nyz" +
                          "\r\n--" + boundary + "--\r\n");

  HttpResponse unsatisfiable = mustGet(client, "/files/b", {{"Range", "bytes=36-"}});
  CHECK(unsatisfiable.status == 416);
  CHECK(unsatisfiable.header("Content-Range") == "bytes */36");
  CHECK(unsatisfiable.body.empty());

  HttpResponse malformed = mustGet(client, "/files/b", {{"Range", "bytes=5-1"}});
  CHECK(malformed.status == 200);
  CHECK(malformed.body == kBody);

  HttpResponse head = mustRequest(client, "HEAD", "/files/b", {{"Range", "bytes=0-4"}});
  CHECK(head.status == 206);
  CHECK(head.header("Content-Length") == "5");
  CHECK(head.body.empty());

  // The connection stayed in step through all of it.
  CHECK(mustGet(client, "/files/b").body == kBody);
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("RFC 9110 §13.1.5: If-Range serves the range only for the same representation") {
  CacheFixture cache(rangeOptions(StoreKind::kMemory));
  serveAlphabet(cache);
  HttpClient client = cache.client();
  CHECK(mustGet(client, "/files/c").status == 200);
  HttpResponse same = mustGet(client, "/files/c", {{"Range", "bytes=0-0"}, {"If-Range", "\"abc\""}});
  CHECK(same.status == 206);
  CHECK(same.body == "0");
  HttpResponse changed = mustGet(client, "/files/c", {{"Range", "bytes=0-0"}, {"If-Range", "\"old\""}});
  CHECK(changed.status == 200);
  CHECK(changed.body == kBody);
  HttpResponse by_date =
      mustGet(client, "/files/c", {{"Range", "bytes=1-1"}, {"If-Range", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  CHECK(by_date.status == 206);
  CHECK(by_date.body == "1");
  CHECK(cache.upstream.requestCount() == 1);
}

TEST_CASE("RFC 9111 §3.3: concurrent misses with and without Range share one whole fetch") {
  CacheOptions options = rangeOptions(StoreKind::kMemory);
  const uint16_t admin_port = freePort();
  options.routes += fmt::format("admin:\n  listen: 127.0.0.1:{}\n", admin_port);
  CacheFixture cache(options);
  auto gate = std::make_shared<Gate>();
  cache.customize([&](const RecordedRequest&, FakeResponse& response) {
    response.body = std::string(kBody);
    response.hold = gate;
  });
  HttpClient ranged = cache.client();
  HttpClient plain = cache.client();
  REQUIRE(ranged.send("GET /files/d HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-3\r\n\r\n"));
  REQUIRE(cache.upstream.waitForRequests(1, 10s));
  REQUIRE(plain.send("GET /files/d HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  // The barrier: the second request is parked behind the first one's fill.
  REQUIRE(waitUntil([&] { return scrape(admin_port).value("larder_coalesced_waiters") == 1; }, 10s, 20ms));
  gate->open();
  auto first = ranged.readResponse();
  auto second = plain.readResponse();
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  // Neither is a partial answer: the fill fetched everything.
  CHECK(first->status == 200);
  CHECK(second->status == 200);
  CHECK(second->body == kBody);
  CHECK(cache.upstream.requestCount() == 1);
}

}  // namespace
}  // namespace larder::test
