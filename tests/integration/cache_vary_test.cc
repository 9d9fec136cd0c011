// Vary (RFC 9111 §4.1): variants of one resource are stored side by side and
// never crossed, and Accept-Encoding is normalized so trivial differences do
// not split variants.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "harness/gate.h"
#include "stampede_support.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

// The upstream answers in the requested language and says it varies on it.
FakeResponse languageAnswer(const RecordedRequest& request, std::atomic<int>& count) {
  FakeResponse response;
  response.headers = {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Language"}};
  response.body = fmt::format("{} #{}", request.header("Accept-Language"), ++count);
  return response;
}

HttpResponse getIn(HttpClient& client, const std::string& language) {
  auto response = client.get("/item", {{"Accept-Language", language}});
  REQUIRE(response);
  return *response;
}

}  // namespace

TEST_CASE("two variants under Vary: Accept-Language are both cached and never crossed") {
  for (bool use_redis : {false, true}) {
    CAPTURE(use_redis);
    StaleFixture fixture("", use_redis);
    std::atomic<int> count{0};
    fixture.upstream.setHandler([&](const RecordedRequest& request) { return languageAnswer(request, count); });
    HttpClient client = fixture.client();
    HttpResponse en = getIn(client, "en");
    HttpResponse fr = getIn(client, "fr");
    CHECK(xCache(en) == "MISS");
    CHECK(xCache(fr) == "MISS");
    CHECK(en.body == "en #1");
    CHECK(fr.body == "fr #2");
    for (int i = 0; i < 3; ++i) {
      HttpResponse en_again = getIn(client, "en");
      HttpResponse fr_again = getIn(client, "fr");
      // The memory store writes before answering; Redis a moment later.
      if (xCache(en_again) == "HIT") CHECK(en_again.body == "en #1");
      if (xCache(fr_again) == "HIT") CHECK(fr_again.body == "fr #2");
      CHECK(en_again.body.rfind("en", 0) == 0);
      CHECK(fr_again.body.rfind("fr", 0) == 0);
    }
    HttpResponse en_last = getIn(client, "en");
    HttpResponse fr_last = getIn(client, "fr");
    CHECK(xCache(en_last) == "HIT");
    CHECK(xCache(fr_last) == "HIT");
    CHECK(en_last.body == "en #1");
    CHECK(fr_last.body == "fr #2");
    CHECK(fixture.upstreamRequests() == 2);
  }
}

TEST_CASE("Accept-Encoding is normalized: reordered or q-weighted lists share a variant") {
  StaleFixture fixture("");
  std::atomic<int> count{0};
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}};
    response.body = fmt::format("answer {}", ++count);
    return response;
  });
  HttpClient client = fixture.client();
  auto first = client.get("/item", {{"Accept-Encoding", "gzip, br"}});
  REQUIRE(first);
  CHECK(xCache(*first) == "MISS");
  for (const char* same : {"br,gzip", "BR, gzip;q=0.8", "gzip, br, identity;q=0"}) {
    CAPTURE(same);
    auto again = client.get("/item", {{"Accept-Encoding", same}});
    REQUIRE(again);
    CHECK(xCache(*again) == "HIT");
  }
  auto other = client.get("/item", {{"Accept-Encoding", "identity"}});
  REQUIRE(other);
  CHECK(xCache(*other) == "MISS");
  CHECK(fixture.upstreamRequests() == 2);
}

TEST_CASE("concurrent misses on a cold varying resource send one request per variant") {
  StaleFixture fixture("");
  std::atomic<int> count{0};
  auto gate = std::make_shared<Gate>();
  fixture.upstream.setHandler([&](const RecordedRequest& request) {
    FakeResponse response = languageAnswer(request, count);
    response.hold = gate;
    return response;
  });
  constexpr int kPerLanguage = 50;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 2 * kPerLanguage; ++i) {
    clients.push_back(std::make_unique<HttpClient>(fixture.larder->port()));
    std::string language = i % 2 == 0 ? "en" : "fr";
    REQUIRE(clients.back()->send(fmt::format("GET /item HTTP/1.1\r\nHost: shop\r\nAccept-Language: {}\r\n\r\n", language)));
  }
  REQUIRE(fixture.upstream.waitForRequests(1, 5s));
  // Released once every other request has joined the first fill (before
  // the Vary is known, all share its key), not after a guess of time.
  REQUIRE(fixture.waitForWaiters(2 * kPerLanguage - 1));
  gate->open();
  int crossed = 0, ok = 0;
  for (int i = 0; i < 2 * kPerLanguage; ++i) {
    auto response = clients[i]->readResponse(15s);
    if (!response || response->status != 200) continue;
    ++ok;
    std::string language = i % 2 == 0 ? "en" : "fr";
    if (response->body.rfind(language, 0) != 0) ++crossed;
  }
  CHECK(ok == 2 * kPerLanguage);
  CHECK(crossed == 0);
  std::string languages;
  for (const auto& request : fixture.upstream.requests()) languages += request.header("Accept-Language") + " ";
  CAPTURE(languages);
  CHECK(fixture.upstreamRequests() == 2);
}

TEST_CASE("Vary: * is never stored") {
  StaleFixture fixture("");
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}, {"Vary", "*"}};
    response.body = "unique";
    return response;
  });
  HttpClient client = fixture.client();
  for (int i = 0; i < 3; ++i) {
    auto response = client.get("/item");
    REQUIRE(response);
    CHECK(xCache(*response) == "MISS");
  }
  CHECK(fixture.upstreamRequests() == 3);
}
