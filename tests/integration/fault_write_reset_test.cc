// Writes whose client resets before their answer (DESIGN invariant 13):
//  - while the write's invalidation hangs in Redis, and then fails. The
//    reset ends the exchange; the failure must still reach the backlog,
//    whose retry lands once Redis takes writes again, so the namespace's
//    cached reads are stale. Before the fix the reset dropped the store's
//    callback: the failure was never counted nor retried, and the pre-write
//    entry stayed a hit.
//  - while the write is upstream, before its answer head: it may have been
//    applied, so it is invalidated anyway. Before the fix it was not at all.
//
// How the invalidation hangs, then fails without ever running: CLIENT PAUSE
// WRITE holds every write command (the invalidation script among them) while
// reads still work; CLIENT KILL then closes larder's connections, and the
// held script goes with its client. A stopped redis-server (SIGSTOP) would
// not do: the script waits in the socket, and Redis runs it once resumed.
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

const std::string kPath = "/api/products/7";

double metric(uint16_t admin_port, const std::string& series) { return scrape(admin_port).value(series); }

}  // namespace

TEST_CASE("a write's client resets while its invalidation hangs; the failed invalidation is replayed from the backlog") {
  const uint16_t admin_port = freePort();
  CacheOptions options;
  // The invalidation fails when the test kills its connection, never by a
  // timeout first (the reset must come while it is in flight).
  options.redis_timeout = "10s";
  options.routes = std::string(kCacheRoutes) + adminSection(admin_port);
  CacheFixture cache(options);
  auto metric = [&](const std::string& series) { return test::metric(admin_port, series); };

  {
    HttpClient reader = cache.client();
    REQUIRE(xCache(mustGet(reader, kPath)) == "MISS");
    REQUIRE(cache.waitForEntries(1));
    REQUIRE(xCache(mustGet(reader, kPath)) == "HIT");
  }
  const size_t upstream_reads = cache.upstreamCount("GET", kPath);

  REQUIRE(cache.redis->command({"CLIENT", "PAUSE", "30000", "WRITE"}).isStatus("OK"));
  HttpClient writer = cache.client();
  REQUIRE(writer.send("PUT /api/products/7 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}"));
  REQUIRE(cache.upstream.waitForRequests(upstream_reads + 1, 10s));
  REQUIRE_MESSAGE(waitUntil([&] { return cache.redis->holdsScript(); }, 10s, 10ms),
                  "the write's invalidation never reached Redis");

  // RST instead of FIN (SO_LINGER with a zero timeout): the exchange ends
  // with its invalidation in flight.
  struct linger abort_on_close {1, 0};
  REQUIRE(::setsockopt(writer.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  writer.close();
  REQUIRE(waitUntil([&] { return metric("larder_connections_closed_total{reason=\"client_error\"}") >= 1; },
                    10s, 20ms));

  // The invalidation fails; the script never runs.
  cache.redis->command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  CHECK_MESSAGE(waitUntil([&] { return metric("larder_invalidations_total{result=\"failed\"}") == 1; }, 10s, 20ms),
                "the failed invalidation was not counted (nor kept)");
  REQUIRE(cache.redis->command({"CLIENT", "UNPAUSE"}).isStatus("OK"));

  // The backlog's retry lands...
  CHECK_MESSAGE(waitUntil(
                    [&] {
                      const PrometheusText now = scrape(admin_port);
                      return now.value("larder_invalidations_total{result=\"retried\"}") == 1 &&
                             now.value("larder_invalidation_backlog_keys") == 0;
                    },
                    15s, 20ms),
                "the backlog did not replay the invalidation");
  // ...and the pre-write entry is no longer served.
  HttpClient reader = cache.client();
  HttpResponse after = mustGet(reader, kPath);
  CHECK(xCache(after) != "HIT");
  CHECK(cache.upstreamCount("GET", kPath) == upstream_reads + 1);
}

TEST_CASE("a write's client resets before the upstream answers; the write is invalidated anyway") {
  const uint16_t admin_port = freePort();
  CacheOptions options;
  options.routes = std::string(kCacheRoutes) + adminSection(admin_port);
  CacheFixture cache(options);
  auto held = std::make_shared<Gate>();
  cache.customize([held](const RecordedRequest& request, FakeResponse& response) {
    if (request.method == "PUT") response.hold = held;
  });
  {
    HttpClient reader = cache.client();
    REQUIRE(xCache(mustGet(reader, kPath)) == "MISS");
    REQUIRE(cache.waitForEntries(1));
    REQUIRE(xCache(mustGet(reader, kPath)) == "HIT");
  }
  const size_t upstream_reads = cache.upstreamCount("GET", kPath);

  HttpClient writer = cache.client();
  REQUIRE(writer.send("PUT /api/products/7 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}"));
  REQUIRE(cache.upstream.waitForRequests(upstream_reads + 1, 10s));
  struct linger abort_on_close {1, 0};
  REQUIRE(::setsockopt(writer.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  writer.close();
  CHECK_MESSAGE(waitUntil([&] { return metric(admin_port, "larder_invalidations_total{result=\"ok\"}") == 1; },
                          10s, 20ms),
                "the abandoned write was not invalidated");
  held->open();  // the upstream answers a request nobody waits for

  HttpClient reader = cache.client();
  HttpResponse after = mustGet(reader, kPath);
  CHECK(xCache(after) != "HIT");
  CHECK(cache.upstreamCount("GET", kPath) == upstream_reads + 1);
}

}  // namespace larder::test
