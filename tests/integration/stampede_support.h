// Shared arrangement of the issue-4 tests (stampede, stale, conditional): a
// FakeUpstream, an optional redis-server and a two-worker larder with one
// cached route, /item, whose upstream answer each test scripts, and its
// admin listener for the metrics tests use as barriers. larder's wall clock
// is a TestClock, so a test makes an entry stale by moving it (expire()),
// not by sleeping past its max-age.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <memory>
#include <string>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/redis_server.h"
#include "harness/test_clock.h"

namespace larder::test {

struct StaleFixture {
  // route_options: extra keys of the /item route, e.g. "stale_while_revalidate: 10s".
  // The Redis timeout is generous: a lookup that times out bypasses the
  // version-checked fills (it coalesces only with other bypasses), and these
  // tests are about a healthy store on a loaded CI host.
  // ttl: the route's; short by default, for the stale tests.
  explicit StaleFixture(std::string route_options = "", bool use_redis = false, int workers = 2,
                        std::string cache_options = "", std::string ttl = "1s") {
    if (use_redis) redis = std::make_unique<RedisServer>();
    std::string store = redis ? fmt::format("store: {{ redis: {{ url: \"{}\", timeout: 1s }} }}\n", redis->url())
                              : std::string();
    std::string fragment = fmt::format(
        "workers: {}\n"
        "upstream: {{ servers: [127.0.0.1:{}], response_timeout: 5s, connect_timeout: 500ms }}\n"
        "log: {{ level: info }}\n"
        "{}{}"
        "cache:\n  lock_timeout: 10s\n{}"
        "routes:\n"
        "  - match: GET /item\n    ttl: {}\n{}",
        workers, upstream.port(), adminSection(admin_port), store, cache_options, ttl, route_options);
    LarderOptions larder_options;
    larder_options.env = clock.env();
    larder = std::make_unique<LarderProcess>(fragment, std::move(larder_options));
  }

  HttpClient client() { return HttpClient(larder->port()); }
  // Moves larder's wall clock past the default 1 s TTL: what was fresh is
  // now stale, still inside any stale window of 10 s or more. It first
  // waits until `stored` entries have landed in the store: a client has
  // the whole answer before its insert lands, and a sleep used to hide that.
  void expire(size_t stored = 1) {
    REQUIRE_MESSAGE(waitForStored(stored), "the entry was not stored");
    clock.advance(std::chrono::milliseconds(1300));
  }
  bool waitForStored(size_t count, Millis timeout = 10s) const {
    return waitUntil([&] {
      return scrape(admin_port).value("larder_cache_inserts_total{result=\"stored\"}") >= static_cast<double>(count);
    }, timeout, 10ms);
  }
  size_t upstreamRequests() const { return upstream.requestCount(); }
  // Requests parked behind another's fetch of the same key, across workers.
  double coalescedWaiters() const { return scrape(admin_port).value("larder_coalesced_waiters"); }
  // The barrier before a test releases the upstream: every one of `count`
  // requests has joined the fill (a sleep would only make that likely).
  bool waitForWaiters(size_t count, Millis timeout = 20s) const {
    return waitUntil([&] { return coalescedWaiters() == static_cast<double>(count); }, timeout, 20ms);
  }

  uint16_t admin_port = freePort();
  TestClock clock;
  FakeUpstream upstream;
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<LarderProcess> larder;
};

}  // namespace larder::test
