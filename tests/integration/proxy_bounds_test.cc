// Per-connection bounds (DESIGN invariant 12, README "Per-connection
// bounds"): a client that pipelines without reading, or that never reads the
// answer of a fill it leads, costs larder a bounded amount of memory and
// holds up no other client. larder's RSS is sampled from another thread;
// the bound is skipped for sanitizer builds (shadow memory).
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/gate.h"
#include "harness/pattern.h"
#include "harness/proxy_fixture.h"
#include "harness/rss_sampler.h"

namespace larder::test {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kRssBound = 64 * kMiB;

// A memory store and one cached route, /entry (plus `extra` YAML).
std::string cachedRoute(std::string_view extra = {}) {
  return fmt::format(
      "store:\n  on_failure: bypass\ncache:\n  status_header: X-Cache\n  max_object_size: 32MiB\n"
      "routes:\n  - match: GET /entry\n    ttl: 5m\n{}",
      extra);
}

void checkPeak(pid_t pid, uint64_t peak, uint64_t bound = kRssBound) {
  MESSAGE(fmt::format("larder peak RSS {:.1f} MiB", double(peak) / kMiB));
  if (isSanitized(pid)) {
    MESSAGE("larder runs under a sanitizer: RSS bound not checked");
    return;
  }
  CHECK(peak < bound);
}

TEST_CASE("800 pipelined hits to a client that never reads: larder's RSS stays bounded, then all are answered") {
  constexpr uint64_t kEntrySize = 256 * 1024;
  constexpr int kRequests = 800;  // 200 MiB of answers if each were queued
  ProxyFixture proxy(cachedRoute());
  proxy.upstream.setHandler([](const RecordedRequest&) { return streamingResponse(kEntrySize); });
  HttpClient warm = proxy.client();
  // The Host of formatRequest's requests, so that they share the key.
  auto miss = warm.get("/entry", {{"Host", "x"}});
  REQUIRE(miss);
  REQUIRE(miss->header("X-Cache") == "MISS");
  auto hit = warm.get("/entry", {{"Host", "x"}});
  REQUIRE(hit);
  REQUIRE(hit->header("X-Cache") == "HIT");

  HttpClient pipeliner = proxy.client();
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += formatRequest("GET", "/entry", {}, {}, "x");
  PeakRssSampler sampler(proxy.larder.pid());
  REQUIRE(pipeliner.send(requests));
  // Long enough for larder to answer all 800 from the cache if it did not
  // wait for the client (it takes well under a second).
  std::this_thread::sleep_for(1500ms);
  uint64_t peak_unread = sampler.peakBytes();

  // The client reads at last: every answer arrives, in order, whole.
  int answered = 0;
  for (; answered < kRequests; ++answered) {
    auto response = pipeliner.readResponseDiscardingBody(30s);
    if (!response || response->status != 200 || response->body_bytes != kEntrySize ||
        response->body_checksum != patternChecksum(kEntrySize) || response->header("X-Cache") != "HIT")
      break;
  }
  CHECK(answered == kRequests);
  sampler.stop();
  CHECK(proxy.upstream.requestCount() == 1);
  checkPeak(proxy.larder.pid(), peak_unread);
}

TEST_CASE("a pipelining client that takes none of its answers for timeouts.idle is closed (send_timeout)") {
  uint16_t admin_port = freePort();
  ProxyFixture proxy(cachedRoute(adminSection(admin_port) + "timeouts: { idle: 1s }\n"));
  proxy.upstream.setHandler([](const RecordedRequest&) { return streamingResponse(256 * 1024); });
  HttpClient pipeliner = proxy.client();
  std::string requests;
  for (int i = 0; i < 200; ++i) requests += formatRequest("GET", "/entry", {}, {}, "x");
  REQUIRE(pipeliner.send(requests));
  const std::string series = "larder_connections_closed_total{reason=\"send_timeout\"}";
  CHECK(waitUntil([&] { return scrape(admin_port).value(series) == 1; }, 10s, 100ms));
  // Some answers were queued before the cut, never all 200.
  int answered = 0;
  while (answered < 200 && pipeliner.readResponseDiscardingBody(5s)) ++answered;
  CHECK(answered < 200);
}

TEST_CASE("a fill's leader whose client never reads does not hold up the fill's other readers") {
  // Far more than socket buffers hold, within max_object_size: stored.
  constexpr uint64_t kBodySize = 24 * kMiB;
  uint16_t admin_port = freePort();
  ProxyFixture proxy(cachedRoute(adminSection(admin_port)));
  auto release = std::make_shared<Gate>();
  proxy.upstream.setHandler([release](const RecordedRequest&) {
    FakeResponse response = streamingResponse(kBodySize);
    response.hold = release;
    return response;
  });
  HttpClient leader = proxy.client();
  REQUIRE(leader.send(formatRequest("GET", "/entry", {}, {}, "x")));
  REQUIRE(proxy.upstream.waitForRequests(1, 5s));
  HttpClient reader = proxy.client();
  REQUIRE(reader.send(formatRequest("GET", "/entry", {}, {}, "x")));
  // Barrier: the second request waits on the first one's fetch.
  REQUIRE(waitUntil([&] { return scrape(admin_port).value("larder_coalesced_waiters") == 1; }, 5s));
  release->open();

  // The leader's client reads nothing; the other reader gets everything.
  auto response = reader.readResponseDiscardingBody(20s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->complete);
  CHECK(response->body_bytes == kBodySize);
  CHECK(response->body_checksum == patternChecksum(kBodySize));
  CHECK(proxy.upstream.requestCount() == 1);
  // The leader's client still gets its answer once it reads.
  auto late = leader.readResponseDiscardingBody(20s);
  REQUIRE(late);
  CHECK(late->body_bytes == kBodySize);
  CHECK(late->body_checksum == patternChecksum(kBodySize));
}

constexpr uint64_t kWriteAnswerSize = 128 * kMiB;

TEST_CASE("a write's answer arriving while its invalidation waits on a stalled Redis is not buffered") {
  constexpr uint64_t kBodySize = kWriteAnswerSize;
  CacheOptions options;
  options.redis_timeout = "2s";  // the invalidation is in flight that long
  CacheFixture cache(options);
  cache.customize([](const RecordedRequest& request, FakeResponse& response) {
    if (request.method != "PUT") return;
    response.body.clear();
    response.stream_bytes = kWriteAnswerSize;
  });
  HttpClient client = cache.client();
  PeakRssSampler sampler(cache.larder->pid());
  cache.redis->pause();  // SIGSTOP: the invalidation gets no answer
  REQUIRE(client.send(formatRequest("PUT", "/api/products/7", {}, "{}", "x")));
  auto response = client.readResponseDiscardingBody(60s);
  cache.redis->resume();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body_bytes == kBodySize);
  CHECK(response->body_checksum == patternChecksum(kBodySize));
  // Unpaused, larder would read about 60 MiB a second meanwhile.
  checkPeak(cache.larder->pid(), sampler.stop(), 32 * kMiB);
}

}  // namespace
}  // namespace larder::test
