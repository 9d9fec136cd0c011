// DESIGN invariant 9: however many clients ask at once for one cold key,
// larder sends one request upstream, and every client gets the whole answer.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "harness/gate.h"
#include "stampede_support.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

constexpr size_t kClients = 500;
constexpr size_t kThreads = 10;

std::string bigBody() {
  std::string body;
  for (int i = 0; body.size() < 100 * 1024; ++i) body += fmt::format("line {} of the coalesced body\n", i);
  return body;
}

struct StampedeResult {
  size_t ok = 0;
  size_t identical = 0;
};

// kClients connections each send GET /item; the upstream answers once `gate`
// opens, which the test does once the other kClients - 1 requests have all
// joined the first one's fill (the waiters gauge is the barrier).
StampedeResult stampede(StaleFixture& fixture, const std::string& expected, const std::shared_ptr<Gate>& gate) {
  std::vector<std::unique_ptr<HttpClient>> clients(kClients);
  for (auto& client : clients) client = std::make_unique<HttpClient>(fixture.larder->port());
  for (auto& client : clients) REQUIRE(client->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  REQUIRE(fixture.upstream.waitForRequests(1, 10s));
  const bool joined = fixture.waitForWaiters(kClients - 1);
  if (!joined) MESSAGE("waiters at the barrier: ", fixture.coalescedWaiters(), " of ", kClients - 1);
  CHECK(joined);
  gate->open();
  std::atomic<size_t> ok{0}, identical{0};
  std::vector<std::thread> readers;
  for (size_t t = 0; t < kThreads; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = t; i < kClients; i += kThreads) {
        auto response = clients[i]->readResponse(20s);
        if (!response || response->status != 200) continue;
        ++ok;
        if (response->body == expected) ++identical;
      }
    });
  }
  for (auto& reader : readers) reader.join();
  return {ok.load(), identical.load()};
}

}  // namespace

TEST_CASE("500 concurrent misses on one key send one request upstream and all get the full body") {
  StaleFixture fixture("", /*use_redis=*/true);
  std::string body = bigBody();
  auto gate = std::make_shared<Gate>();
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}};
    response.body = body;
    response.hold = gate;
    return response;
  });
  StampedeResult result = stampede(fixture, body, gate);
  MESSAGE("clients: ", kClients, ", answered 200: ", result.ok, ", identical bodies: ", result.identical,
          ", upstream requests: ", fixture.upstreamRequests());
  if (fixture.upstreamRequests() != 1) {
    std::string log = fixture.larder->stdoutText();
    size_t bypass = 0, miss = 0;
    for (size_t at = 0; (at = log.find("cache=BYPASS", at)) != std::string::npos; ++at) ++bypass;
    for (size_t at = 0; (at = log.find("cache=MISS", at)) != std::string::npos; ++at) ++miss;
    MESSAGE("access log: ", miss, " MISS, ", bypass, " BYPASS; stderr: ", fixture.larder->stderrText().substr(0, 2000));
  }
  CHECK(result.ok == kClients);
  CHECK(result.identical == kClients);
  CHECK(fixture.upstreamRequests() == 1);
}

TEST_CASE("a chunked answer is streamed to every waiter as it arrives") {
  StaleFixture fixture("", /*use_redis=*/false);
  std::string body = bigBody();
  auto gate = std::make_shared<Gate>();
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}};
    response.body = body;
    response.chunked = true;
    response.hold = gate;
    return response;
  });
  StampedeResult result = stampede(fixture, body, gate);
  CHECK(result.ok == kClients);
  CHECK(result.identical == kClients);
  CHECK(fixture.upstreamRequests() == 1);
}

TEST_CASE("when the shared fetch turns out uncacheable, each waiter fetches for itself") {
  StaleFixture fixture("", /*use_redis=*/false, /*workers=*/1);
  auto gate = std::make_shared<Gate>();
  std::atomic<int> answered{0};
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "no-store"}};
    response.body = fmt::format("private answer {}", ++answered);
    if (answered == 1) response.hold = gate;
    return response;
  });
  constexpr size_t kWaiters = 5;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (size_t i = 0; i < kWaiters; ++i) {
    clients.push_back(std::make_unique<HttpClient>(fixture.larder->port()));
    REQUIRE(clients.back()->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  }
  REQUIRE(fixture.upstream.waitForRequests(1, 5s));
  // The other requests wait on the leader's fill before it turns out
  // unshareable, rather than racing it.
  REQUIRE(fixture.waitForWaiters(kWaiters - 1));
  gate->open();
  size_t ok = 0;
  for (auto& client : clients) {
    auto response = client->readResponse(10s);
    if (response && response->status == 200) ++ok;
  }
  CHECK(ok == kWaiters);
  // Not shareable: the leader's answer went to the leader only.
  CHECK(fixture.upstreamRequests() == kWaiters);
}

TEST_CASE("when the shared fetch fails before its answer, each waiter fetches for itself") {
  StaleFixture fixture("", /*use_redis=*/false, /*workers=*/1);
  auto gate = std::make_shared<Gate>();
  std::atomic<int> answered{0};
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}};
    const int n = ++answered;
    if (n <= 2) {
      // The connection closes without an answer; the leader's GET is resent
      // once (upstream: closed before any answer byte), and fails again.
      if (n == 1) response.hold = gate;
      response.raw = "";
      response.close_after = true;
    } else {
      response.body = "good answer";
    }
    return response;
  });
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<HttpClient>(fixture.larder->port()));
    REQUIRE(clients.back()->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  }
  REQUIRE(fixture.upstream.waitForRequests(1, 5s));
  REQUIRE(fixture.waitForWaiters(clients.size() - 1));
  gate->open();
  size_t good = 0, bad_gateway = 0;
  for (auto& client : clients) {
    auto response = client->readResponse(10s);
    REQUIRE(response);
    if (response->status == 200 && response->body == "good answer") ++good;
    if (response->status == 502) ++bad_gateway;
  }
  // The leader saw the failure; its waiters were not failed with it.
  CHECK(bad_gateway == 1);
  CHECK(good == clients.size() - 1);
}

TEST_CASE("concurrent first fills of different keys under one cold namespace are all stored") {
  for (bool use_redis : {false, true}) {
    CAPTURE(use_redis);
    // A TTL that a loaded host cannot outlast between the fill and the check.
    StaleFixture fixture("", use_redis, 2, "", "1h");
    auto gate = std::make_shared<Gate>();
    fixture.upstream.setHandler([&](const RecordedRequest& request) {
      FakeResponse response;
      response.headers = {{"Cache-Control", "max-age=60"}};
      response.body = "answer for " + request.target;
      response.hold = gate;
      return response;
    });
    // Both lookups see the namespace versions absent; both fills then create
    // them, and the second finds the first one's tokens.
    const std::vector<std::string> targets = {"/item?a", "/item?b", "/item?c"};
    std::vector<std::unique_ptr<HttpClient>> clients;
    for (const auto& target : targets) {
      clients.push_back(std::make_unique<HttpClient>(fixture.larder->port()));
      REQUIRE(clients.back()->send(fmt::format("GET {} HTTP/1.1\r\nHost: shop\r\n\r\n", target)));
    }
    REQUIRE(fixture.upstream.waitForRequests(targets.size(), 5s));
    gate->open();
    for (auto& client : clients) {
      auto response = client->readResponse(5s);
      REQUIRE(response);
      CHECK(xCache(*response) == "MISS");
    }
    if (fixture.redis) {
      CHECK(waitUntil([&] { return fixture.redis->keys("v1:e:*").size() == targets.size(); }, 3s));
    }
    // A fill that had to adopt another's version tokens stores after its
    // answer went out (one more store round trip, memory store included);
    // until then its completed fill answers new misses without a fetch.
    HttpClient client = fixture.client();
    for (const auto& target : targets) {
      CAPTURE(target);
      std::optional<HttpResponse> again;
      CHECK(waitUntil(
          [&] {
            again = client.get(target, {{"Host", "shop"}});
            return again && xCache(*again) == "HIT";
          },
          3s, 20ms));
      REQUIRE(again);
      CHECK(again->body == "answer for " + target);
    }
    CHECK(fixture.upstreamRequests() == targets.size());
  }
}

// Issue 12 item 5: a worker whose requests are answered stops (and destroys
// its state, queue included) while the other worker may still be
// publishing the fill they waited on. Run under TSan and ASan, a post to
// the stopped worker's queue must be dropped, never reach freed memory.
TEST_CASE("SIGTERM while requests on both workers wait on one fill: each gets the whole answer, larder exits 0") {
  StaleFixture fixture("", /*use_redis=*/false, /*workers=*/2);
  std::string body = bigBody();
  auto gate = std::make_shared<Gate>();
  fixture.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Cache-Control", "max-age=60"}};
    response.body = body;
    response.chunked = true;
    response.hold = gate;
    return response;
  });
  constexpr size_t kDraining = 40;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (size_t i = 0; i < kDraining; ++i) {
    clients.push_back(std::make_unique<HttpClient>(fixture.larder->port()));
    REQUIRE(clients.back()->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  }
  REQUIRE(fixture.upstream.waitForRequests(1, 10s));
  REQUIRE(fixture.waitForWaiters(kDraining - 1));
  REQUIRE(fixture.larder->terminate());
  gate->open();
  size_t identical = 0;
  for (auto& client : clients) {
    auto response = client->readResponse(20s);
    if (response && response->status == 200 && response->body == body) ++identical;
  }
  CHECK(identical == kDraining);
  CHECK(fixture.larder->waitExit(20s) == 0);
  CHECK(fixture.upstreamRequests() == 1);
}
