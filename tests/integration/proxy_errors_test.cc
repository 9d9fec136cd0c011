// larder's own answers: upstream failures (502, 504), requests it refuses
// (400, 431, 413) and clients too slow to send a request head.
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/ports.h"
#include "harness/proxy_fixture.h"

namespace larder::test {
namespace {

// After a refused request: the upstream never saw it.
void checkUpstreamUntouched(const FakeUpstream& upstream) {
  CHECK(upstream.requestCount() == 0);
}

TEST_CASE("upstream down: 502 with a short plain-text body") {
  uint16_t dead_port = freePort();  // nothing listens there
  LarderProcess larder(proxyConfig(dead_port));
  HttpClient client(larder.port());
  auto start = Clock::now();
  auto response = client.get("/anything", {}, 10s);
  REQUIRE(response);
  CHECK(response->status == 502);
  CHECK(Clock::now() - start < 5s);
  CHECK(response->header("Content-Type").rfind("text/plain", 0) == 0);
  CHECK_FALSE(response->body.empty());
  CHECK(response->body.size() < 512);
}

TEST_CASE("upstream slower than response_timeout: 504") {
  ProxyFixture proxy({}, "500ms");
  auto never = std::make_shared<Gate>();  // released when the upstream stops
  proxy.upstream.setHandler([never](const RecordedRequest&) {
    FakeResponse response;
    response.hold = never;
    return response;
  });
  HttpClient client = proxy.client();
  auto start = Clock::now();
  auto response = client.get("/slow", {}, 10s);
  auto elapsed = Clock::now() - start;
  REQUIRE(response);
  CHECK(response->status == 504);
  CHECK(elapsed >= 400ms);
  CHECK(elapsed < 3s);
  CHECK(proxy.upstream.requestCount() == 1);
}

TEST_CASE("an upstream answer whose chunked framing breaks before any body byte: 502, not a cut connection") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target == "/broken")
      response.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-From: upstream\r\n\r\n"
                     "zz\r\nhello\r\n0\r\n\r\n";
    return response;
  });
  HttpClient client = proxy.client();
  auto response = client.get("/broken", {}, 5s);
  REQUIRE(response);
  CHECK(response->status == 502);
  CHECK_FALSE(response->hasHeader("X-From"));  // nothing of the broken head
  CHECK(response->header("Content-Type").rfind("text/plain", 0) == 0);
  // The connection stays usable: the request was whole.
  auto next = client.get("/fine", {}, 5s);
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("malformed request line: 400 and the connection is closed") {
  ProxyFixture proxy;
  HttpClient client = proxy.client();
  client.send("THIS IS NOT HTTP\r\n\r\n");
  auto response = client.readResponse(5s);
  REQUIRE(response);
  CHECK(response->status == 400);
  CHECK(client.isClosedByPeer(2s));
  checkUpstreamUntouched(proxy.upstream);
}

TEST_CASE("header section over limits.max_header_size: 431 and the connection is closed") {
  ProxyFixture proxy("limits: { max_header_size: 4KiB }\n");
  {
    HttpClient client = proxy.client();  // under the limit: passes
    auto response = client.get("/small", {{"X-Filler", std::string(2000, 'a')}});
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  HttpClient client = proxy.client();
  client.send(formatRequest("GET", "/big", {{"X-Filler", std::string(8192, 'a')}}, {}, "x"));
  auto response = client.readResponse(5s);
  REQUIRE(response);
  CHECK(response->status == 431);
  CHECK(client.isClosedByPeer(2s));
  auto requests = proxy.upstream.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/small");
}

TEST_CASE("request body over limits.max_body_size: 413 and it is not forwarded") {
  ProxyFixture proxy("limits: { max_body_size: 1KiB }\n");
  {
    HttpClient client = proxy.client();  // exactly the limit: passes
    auto response = client.request("POST", "/fits", {}, std::string(1024, 'b'));
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  HttpClient client = proxy.client();
  client.send(formatRequest("POST", "/too-big", {}, std::string(4096, 'b'), "x"));
  auto response = client.readResponse(5s);
  REQUIRE(response);
  CHECK(response->status == 413);
  auto requests = proxy.upstream.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].target == "/fits");
}

TEST_CASE("header timeout: a client that stops mid request line is disconnected") {
  ProxyFixture proxy("timeouts: { header: 500ms }\n");
  HttpClient client = proxy.client();
  auto start = Clock::now();
  client.send("GET /slo");
  auto received = client.readUntilClosed(3s);
  auto elapsed = Clock::now() - start;
  REQUIRE(received);  // closed, not left open
  CHECK(elapsed >= 400ms);
  CHECK(elapsed < 2s);
  // A 408 before closing is allowed; nothing else is.
  if (!received->empty()) CHECK(received->rfind("HTTP/1.1 408", 0) == 0);
  checkUpstreamUntouched(proxy.upstream);
}

TEST_CASE("header timeout covers the whole head: a head trickled byte by byte is cut off") {
  ProxyFixture proxy("timeouts: { header: 500ms }\n");
  HttpClient client = proxy.client();
  auto start = Clock::now();
  client.send("GET /trickle HTTP/1.1\r\nX-Slow: ");
  bool closed = false;
  // One byte per 100 ms, each well inside any per-read timeout.
  for (int i = 0; i < 30 && !closed; ++i) {
    closed = !client.send("a", 1s) || client.isClosedByPeer(100ms);
  }
  auto elapsed = Clock::now() - start;
  CHECK(closed);
  CHECK(elapsed < 2500ms);
  checkUpstreamUntouched(proxy.upstream);
}

}  // namespace
}  // namespace larder::test
