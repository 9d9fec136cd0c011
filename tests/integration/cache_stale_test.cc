// Stale serving (RFC 5861), revalidation with 304s (RFC 9111 §4.3) and
// conditional requests answered from the cache (RFC 9110 §13).
#include <doctest/doctest.h>

#include <atomic>

#include "harness/gate.h"
#include "harness/upstream_script.h"
#include "stampede_support.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

HttpResponse mustGet(HttpClient& client, const Headers& headers = {}) {
  auto response = client.get("/item", headers);
  REQUIRE(response);
  return *response;
}

// "good" fresh for 1 s, or a 503 "overloaded" once `failing` is set.
void answerGoodUntilFailing(FakeUpstream& upstream, std::atomic<bool>& failing) {
  upstream.setHandler([&failing](const RecordedRequest&) {
    if (failing) return statusAnswer(503, "Service Unavailable", "overloaded");
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=1"}};
    response.body = "good";
    return response;
  });
}

}  // namespace

TEST_CASE("an expired entry inside stale_while_revalidate is served STALE at once and refreshed once") {
  StaleFixture fixture("    stale_while_revalidate: 30s\n");
  std::atomic<int> version{1};
  auto gate = std::make_shared<Gate>();
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=1"}};
    response.body = fmt::format("version {}", version.load());
    if (version.load() == 2) response.hold = gate;  // the refresh is slow
    return response;
  });
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  fixture.expire();
  version = 2;
  // While the refresh is held upstream, every request gets the stale answer at once.
  for (int i = 0; i < 5; ++i) {
    HttpResponse stale = mustGet(client);
    CHECK(xCache(stale) == "STALE");
    CHECK(stale.body == "version 1");
  }
  REQUIRE(fixture.upstream.waitForRequests(2, 5s));
  CHECK(fixture.upstreamRequests() == 2);  // exactly one refresh
  gate->open();
  bool refreshed = waitUntil([&] {
    HttpResponse after = mustGet(client);
    return xCache(after) == "HIT" && after.body == "version 2";
  }, 5s);
  CHECK(refreshed);
  CHECK(fixture.upstreamRequests() == 2);
}

TEST_CASE("stale_if_error serves the expired entry when the upstream answers 503 or is down") {
  StaleFixture fixture("    stale_if_error: 30s\n");
  std::atomic<bool> failing{false};
  answerGoodUntilFailing(fixture.upstream, failing);
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  fixture.expire();
  failing = true;
  HttpResponse on_503 = mustGet(client);
  CHECK(on_503.status == 200);
  CHECK(xCache(on_503) == "STALE");
  CHECK(on_503.body == "good");

  fixture.upstream.stop();  // now refused outright
  HttpClient again = fixture.client();
  HttpResponse on_down = mustGet(again);
  CHECK(on_down.status == 200);
  CHECK(xCache(on_down) == "STALE");
  CHECK(on_down.body == "good");
}

TEST_CASE("outside stale_if_error the upstream's error reaches the client") {
  StaleFixture fixture("");  // no stale window
  std::atomic<bool> failing{false};
  answerGoodUntilFailing(fixture.upstream, failing);
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  fixture.expire();
  failing = true;
  HttpResponse response = mustGet(client);
  CHECK(response.status == 503);
  CHECK(response.body == "overloaded");
  fixture.upstream.stop();
  HttpClient again = fixture.client();
  CHECK(mustGet(again).status == 502);
}

TEST_CASE("must-revalidate forbids serving stale") {
  StaleFixture fixture("    stale_while_revalidate: 30s\n    stale_if_error: 30s\n");
  std::atomic<int> count{0};
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=1, must-revalidate"}};
    response.body = fmt::format("answer {}", ++count);
    return response;
  });
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  fixture.expire();
  HttpResponse after = mustGet(client);
  CHECK(xCache(after) == "MISS");
  CHECK(after.body == "answer 2");
}

TEST_CASE("an expired entry is revalidated with its ETag and a 304 renews it without the body") {
  StaleFixture fixture("", /*use_redis=*/true);
  std::string body(20000, 'b');
  std::atomic<int> not_modified{0};
  fixture.upstream.setHandler([&](const RecordedRequest& request) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=1"}, {"ETag", "\"v1\""}, {"X-Version", "1"}};
    if (request.header("If-None-Match") == "\"v1\"") {
      ++not_modified;
      response.status = 304;
      response.reason = "Not Modified";
      response.headers = {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}, {"X-Version", "1-renewed"}};
      return response;
    }
    response.body = body;
    return response;
  });
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  // The upstream counts a body once sendAll returns, which may be after
  // the client already has it.
  REQUIRE(waitUntil([&] { return fixture.upstream.bodyBytesSent() == body.size(); }, 2s));
  uint64_t body_bytes = fixture.upstream.bodyBytesSent();
  fixture.expire();
  HttpResponse revalidated = mustGet(client);
  CHECK(revalidated.status == 200);
  CHECK(xCache(revalidated) == "REVALIDATED");
  CHECK((revalidated.body == body));  // no decomposition: 20 KB
  CHECK(revalidated.header("X-Version") == "1-renewed");  // RFC 9111 §4.3.4
  CHECK(not_modified == 1);
  CHECK(fixture.upstream.bodyBytesSent() == body_bytes);  // no body sent again
  // The renewed entry is fresh for the 304's max-age=60.
  bool hit = waitUntil([&] { return xCache(mustGet(client)) == "HIT"; }, 3s);
  CHECK(hit);
  CHECK(fixture.upstreamRequests() == 2);
}

TEST_CASE("a client's matching If-None-Match gets a 304 from the cache with ETag and no body") {
  StaleFixture fixture("");
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}, {"ETag", "W/\"abc\""},
                        {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}};
    response.body = "payload";
    return response;
  });
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");

  HttpResponse matched = mustGet(client, {{"If-None-Match", "\"xyz\", W/\"abc\""}});
  CHECK(matched.status == 304);
  CHECK(matched.body.empty());
  CHECK(matched.header("ETag") == "W/\"abc\"");
  CHECK(xCache(matched) == "HIT");

  HttpResponse other = mustGet(client, {{"If-None-Match", "\"xyz\""}});
  CHECK(other.status == 200);
  CHECK(other.body == "payload");

  HttpResponse since = mustGet(client, {{"If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT"}});
  CHECK(since.status == 304);
  HttpResponse older = mustGet(client, {{"If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"}});
  CHECK(older.status == 200);
  CHECK(fixture.upstreamRequests() == 1);
}

TEST_CASE("a client's no-cache is ignored by default and revalidates when the route honours it") {
  for (bool honour : {false, true}) {
    CAPTURE(honour);
    StaleFixture fixture(honour ? "    client_no_cache: honour\n" : "");
    std::atomic<int> count{0};
    fixture.upstream.setHandler([&](const RecordedRequest&) {
      FakeResponse response;
      response.headers = {{"Cache-Control", "max-age=60"}};
      response.body = fmt::format("answer {}", ++count);
      return response;
    });
    HttpClient client = fixture.client();
    CHECK(xCache(mustGet(client)) == "MISS");
    for (const Headers& headers : std::vector<Headers>{{{"Cache-Control", "no-cache"}},
                                                       {{"Cache-Control", "max-age=0"}},
                                                       {{"Pragma", "no-cache"}}}) {
      HttpResponse response = mustGet(client, headers);
      CHECK(xCache(response) == (honour ? "MISS" : "HIT"));
    }
    CHECK(fixture.upstreamRequests() == (honour ? 4u : 1u));
  }
}

TEST_CASE("a no-cache answer with an ETag is stored and revalidated before every use") {
  StaleFixture fixture("");
  std::string body(5000, 'n');
  std::atomic<int> revalidations{0};
  fixture.upstream.setHandler([&](const RecordedRequest& request) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "no-cache"}, {"ETag", "\"n1\""}};
    if (request.header("If-None-Match") == "\"n1\"") {
      ++revalidations;
      response.status = 304;
      response.reason = "Not Modified";
      return response;
    }
    response.body = body;
    return response;
  });
  HttpClient client = fixture.client();
  CHECK(xCache(mustGet(client)) == "MISS");
  REQUIRE(waitUntil([&] { return fixture.upstream.bodyBytesSent() == body.size(); }, 2s));
  uint64_t body_bytes = fixture.upstream.bodyBytesSent();
  for (int i = 1; i <= 3; ++i) {
    HttpResponse response = mustGet(client);
    CHECK(response.status == 200);
    CHECK(xCache(response) == "REVALIDATED");
    CHECK((response.body == body));
    CHECK(revalidations == i);
  }
  CHECK(fixture.upstream.bodyBytesSent() == body_bytes);
}
