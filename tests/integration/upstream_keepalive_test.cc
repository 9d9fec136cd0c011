// Idle pooled connections against a real application server (uvicorn):
// whatever the last exchange on a connection was, once the connection is
// idle in the pool larder reads from it, so the server's keep-alive close is
// noticed at once and the next request never lands on a dead socket.
//
// The case that broke: a write whose whole answer (a 204) arrived in the
// read during which its invalidation paused reading; the connection went
// back to the pool with reading stopped, sat in CLOSE-WAIT, and the next
// write was answered 502.
#include <chrono>
#include <string>
#include <thread>

#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"
#include "upstream_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// A DELETE answered 204, an idle gap past the server's keep-alive, then a POST
// on the same client connection.
void deleteIdlePost(UvicornServer& app, Millis gap) {
  RedisServer redis;
  LarderProcess larder(itemsConfig(app.port(), redis, /*cached_reads=*/true));
  REQUIRE(waitForRedisClients(redis, 2));
  HttpClient client(larder.port());

  auto deleted = client.request("DELETE", "/api/items/1");
  REQUIRE(deleted);
  CHECK(deleted->status == 204);

  std::this_thread::sleep_for(gap);
  // The server has closed its end; larder must have closed its own.
  CHECK(waitUntil([&] { return closeWaitSocketsTo(app.port()) == 0; }, 500ms));

  auto posted = client.request("POST", "/api/items/1", {{"Content-Type", "application/json"}}, "{}");
  REQUIRE(posted);
  CHECK(posted->status == 201);
  CHECK(posted->body.starts_with("POST /api/items/1 #"));
  CHECK(larder.isRunning());
}

TEST_CASE("a 204 answered during its invalidation: the idle connection notices uvicorn's close (1 s keep-alive)") {
  UvicornServer app(1);
  deleteIdlePost(app, 1500ms);
}

TEST_CASE("a 204 answered during its invalidation: the idle connection notices uvicorn's close (default keep-alive)") {
  UvicornServer app;
  deleteIdlePost(app, 5500ms);
}

}  // namespace
}  // namespace larder::test
