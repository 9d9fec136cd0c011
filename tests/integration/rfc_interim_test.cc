// Interim answers (RFC 9110 §15.2): 1xx answers from the upstream reach
// HTTP/1.1 clients in order, before the final answer; HTTP/1.0 clients never
// get one; they are not part of what the cache stores.
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes = R"(routes:
  - match: GET /cached
    ttl: 1h
)";

constexpr std::string_view kWithHints =
    "HTTP/1.1 102 Processing\r\n\r\n"
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nLink: </app.js>; rel=preload\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nCache-Control: max-age=60\r\n\r\nfinal";

CacheOptions interimOptions() {
  CacheOptions options;
  options.store = StoreKind::kMemory;
  options.routes = std::string(kRoutes);
  return options;
}

TEST_CASE("RFC 9110 §15.2: 102 and 103 reach an HTTP/1.1 client in order, then the final answer") {
  CacheFixture cache(interimOptions());
  cache.customize([](const RecordedRequest&, FakeResponse& response) { response.raw = std::string(kWithHints); });
  for (const char* target : {"/cached", "/passed"}) {
    CAPTURE(target);
    HttpClient client = cache.client();
    REQUIRE(client.send(fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", target)));
    auto processing = client.readResponse();
    REQUIRE(processing.has_value());
    CHECK(processing->status == 102);
    auto hints = client.readResponse();
    REQUIRE(hints.has_value());
    CHECK(hints->status == 103);
    CHECK(hints->headerValues("Link") ==
          std::vector<std::string>{"</style.css>; rel=preload", "</app.js>; rel=preload"});
    auto final_answer = client.readResponse();
    REQUIRE(final_answer.has_value());
    CHECK(final_answer->status == 200);
    CHECK(final_answer->body == "final");
    // The connection is in step; a hit of the stored entry has no 1xx.
    HttpResponse next = mustGet(client, "/cached", {{"Host", "localhost"}});
    CHECK(next.status == 200);
    CHECK(next.body == "final");
  }
  // The stored entry is the final answer alone: a hit has no interim answer.
  CHECK(cache.upstreamCount("GET", "/cached") == 1);
}

TEST_CASE("RFC 9110 §15.2: an HTTP/1.0 client never gets an interim answer") {
  CacheFixture cache(interimOptions());
  cache.customize([](const RecordedRequest&, FakeResponse& response) { response.raw = std::string(kWithHints); });
  HttpClient client = cache.client();
  REQUIRE(client.send("GET /passed HTTP/1.0\r\nHost: localhost\r\n\r\n"));
  auto answer = client.readResponse();
  REQUIRE(answer.has_value());
  CHECK(answer->status == 200);
  CHECK(answer->body == "final");
}

}  // namespace
}  // namespace larder::test
