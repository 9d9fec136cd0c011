// Bodies far larger than larder's memory bound stream through whole, in both
// directions, and a slow reader does not make larder buffer (DESIGN
// invariant 8). larder's RSS is sampled from another thread during each
// transfer; the bound is skipped for sanitizer builds (shadow memory).
#include <poll.h>
#include <sys/socket.h>

#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/gate.h"
#include "harness/pattern.h"
#include "harness/proxy_fixture.h"
#include "harness/rss_sampler.h"

namespace larder::test {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kTransferSize = 200 * kMiB;
constexpr uint64_t kRssBound = 64 * kMiB;

void checkRssBound(pid_t pid, PeakRssSampler& sampler) {
  uint64_t peak = sampler.stop();
  MESSAGE(fmt::format("larder peak RSS {:.1f} MiB over {} samples", double(peak) / kMiB, sampler.sampleCount()));
  CHECK(sampler.sampleCount() >= 2);
  if (isSanitized(pid)) {
    MESSAGE("larder runs under a sanitizer: RSS bound not checked");
    return;
  }
  CHECK(peak < kRssBound);
}

void checkDownload(bool chunked) {
  ProxyFixture proxy;
  proxy.upstream.setHandler([&](const RecordedRequest&) { return streamingResponse(kTransferSize, chunked); });
  HttpClient client = proxy.client();
  PeakRssSampler sampler(proxy.larder.pid());
  REQUIRE(client.send(formatRequest("GET", "/big", {}, {}, "x")));
  auto response = client.readResponseDiscardingBody(120s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->complete);
  CHECK(response->body_bytes == kTransferSize);
  CHECK(response->body_checksum == patternChecksum(kTransferSize));
  checkRssBound(proxy.larder.pid(), sampler);
}

TEST_CASE("a 200 MiB download streams through whole with larder's RSS under 64 MiB") {
  checkDownload(false);
}

TEST_CASE("a 200 MiB chunked download streams through whole with larder's RSS under 64 MiB") {
  checkDownload(true);
}

TEST_CASE("a 200 MiB chunked upload streams through whole with larder's RSS under 64 MiB") {
  ProxyFixture proxy;
  proxy.upstream.setBodyRecordLimit(0);  // counted and hashed, not kept
  HttpClient client = proxy.client();
  PeakRssSampler sampler(proxy.larder.pid());
  REQUIRE(client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"));
  bool sent = client.sendPatternBody(kTransferSize, true, 64 * 1024, 120s);
  auto response = client.readResponse(30s);
  REQUIRE(sent);
  REQUIRE(response);
  CHECK(response->status == 200);
  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CHECK(received.body_size == kTransferSize);
  CHECK(received.body_checksum == patternChecksum(kTransferSize));
  checkRssBound(proxy.larder.pid(), sampler);
}

TEST_CASE("a slow reader does not make larder buffer the upstream's response") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest&) { return streamingResponse(kTransferSize); });
  HttpClient client = proxy.client();
  PeakRssSampler sampler(proxy.larder.pid());
  REQUIRE(client.send(formatRequest("GET", "/big", {}, {}, "x")));
  // For a second the client takes 4 KiB every 10 ms while the upstream can
  // write at loopback speed; then it reads the rest at full speed.
  auto response = client.readResponseDiscardingBody(120s, ReadPacing{1s, 4096, 10ms});
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body_bytes == kTransferSize);
  CHECK(response->body_checksum == patternChecksum(kTransferSize));
  checkRssBound(proxy.larder.pid(), sampler);
}

}  // namespace
}  // namespace larder::test

namespace larder::test {

// larder sends a response head together with the first body bytes when they
// arrive together; when the body is late, the head must not wait for it.
TEST_CASE("a response head is passed on at once even while the upstream holds back the body") {
  for (bool chunked : {false, true}) {
    CAPTURE(chunked);
    ProxyFixture proxy;
    auto body_gate = std::make_shared<Gate>();
    proxy.upstream.setHandler([&](const RecordedRequest&) {
      FakeResponse response;
      response.body = "late body";
      response.chunked = chunked;
      response.hold_body = body_gate;
      return response;
    });
    HttpClient client = proxy.client();
    REQUIRE(client.send(formatRequest("GET", "/slow", {}, {}, "x")));
    std::string received;
    Deadline deadline = deadlineIn(5s);
    while (received.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline) {
      pollfd pfd{client.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    CHECK(received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(received.find("\r\n\r\n") != std::string::npos);
    CHECK(received.find("late body") == std::string::npos);
    body_gate->open();
    std::string rest;
    deadline = deadlineIn(5s);
    while (rest.find(chunked ? "0\r\n\r\n" : "late body") == std::string::npos && Clock::now() < deadline) {
      pollfd pfd{client.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(client.fd(), buffer, sizeof buffer, 0);
      if (n <= 0) break;
      rest.append(buffer, static_cast<size_t>(n));
    }
    CHECK(rest.find("late body") != std::string::npos);
  }
}

}  // namespace larder::test
