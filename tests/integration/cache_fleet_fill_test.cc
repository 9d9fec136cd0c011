// The shared fetch belongs to no client, across a fleet too (DESIGN
// invariants 9 and 12, issue 12): two larder instances share one Redis with
// cache.distributed_lock on. A leader on instance A owns the lock and the
// fetch of a cold 5 MiB key; 9 requests wait on A's fill and 10 on instance
// B, whose fetch waits on A's lock. Whatever A's leader does (FIN or RST
// before the head, a close mid-body, or no reading at all), all 19 get the
// complete body, and the two upstreams see one request between them.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/pattern.h"
#include "harness/ports.h"
#include "harness/redis_server.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kAnswer = 5 * 1024 * 1024;
constexpr std::string_view kRequest = "GET /big/a HTTP/1.1\r\nHost: shop\r\n\r\n";
constexpr size_t kWaitersOnOwner = 9;
constexpr size_t kRequestsOnOther = 10;

using Clients = std::vector<std::unique_ptr<HttpClient>>;

// One instance, in front of its own upstream: a 5 MiB answer whose head
// and body each wait for a gate the test opens.
struct Instance {
  explicit Instance(const RedisServer& redis) : admin_port(freePort()) {
    upstream.setHandler([this](const RecordedRequest&) {
      FakeResponse response = streamingResponse(kAnswer);
      response.headers = {{"Cache-Control", "max-age=3600"}};
      response.hold = head;
      response.hold_body = body;
      return response;
    });
    std::string fragment = fmt::format(
        "workers: 2\n"
        "upstream: {{ servers: [127.0.0.1:{}], response_timeout: 30s, connect_timeout: 500ms }}\n"
        "log: {{ level: info }}\n"
        "store: {{ redis: {{ url: \"{}\", timeout: 2s }} }}\n"
        "cache:\n  max_object_size: 8MiB\n  lock_timeout: 20s\n"
        "  distributed_lock: {{ enabled: true, ttl: 20s }}\n"
        "routes:\n  - match: GET /big/*\n    ttl: 1h\n"
        "{}",
        upstream.port(), redis.url(), adminSection(admin_port));
    larder = std::make_unique<LarderProcess>(fragment);
  }

  double metric(const std::string& series) const { return scrape(admin_port).value(series); }
  bool waitForMetric(const std::string& series, double value) const {
    return waitUntil([&] { return metric(series) == value; }, 10s, 20ms);
  }

  std::shared_ptr<Gate> head = std::make_shared<Gate>();
  std::shared_ptr<Gate> body = std::make_shared<Gate>();
  FakeUpstream upstream;
  uint16_t admin_port;
  std::unique_ptr<LarderProcess> larder;
};

Clients send(const Instance& instance, size_t count) {
  Clients clients;
  for (size_t i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<HttpClient>(instance.larder->port()));
    REQUIRE(clients.back()->send(kRequest));
  }
  return clients;
}

// How many clients got the whole 5 MiB answer, byte for byte, as framed.
size_t readComplete(Clients& clients) {
  std::atomic<size_t> complete{0};
  std::vector<std::thread> readers;
  for (auto& client : clients) {
    readers.emplace_back([&complete, c = client.get()] {
      auto response = c->readResponseDiscardingBody(60s);
      if (response && response->status == 200 && response->complete && response->body_bytes == kAnswer &&
          response->body_checksum == patternChecksum(kAnswer))
        ++complete;
    });
  }
  for (auto& reader : readers) reader.join();
  return complete.load();
}

struct Fleet {
  Fleet() {
    leader = std::make_unique<HttpClient>(owner.larder->port());
    REQUIRE(leader->send(kRequest));
    REQUIRE(owner.upstream.waitForRequests(1, 10s));  // A holds the lock and fetches
    on_owner = send(owner, kWaitersOnOwner);
    REQUIRE(owner.waitForMetric("larder_coalesced_waiters", kWaitersOnOwner));
    on_other = send(other, kRequestsOnOther);
    // B's fetch found the lock taken and waits on it; its other requests
    // wait on B's fill.
    REQUIRE(other.waitForMetric("larder_fill_lock_events_total{event=\"lost\"}", 1));
    REQUIRE(other.waitForMetric("larder_coalesced_waiters", kRequestsOnOther - 1));
  }

  bool leaderHasHead() {
    return waitUntil(
        [&] {
          char byte;
          return ::recv(leader->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
        },
        10s, 5ms);
  }
  void resetLeader() {
    struct linger abort_on_close {1, 0};
    REQUIRE(::setsockopt(leader->fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
    leader->close();
  }

  // Every waiter, on both instances, has the whole answer; one upstream
  // request in all; the entry is in Redis, so B's next request is a hit.
  void checkEveryWaiterServedOnce() {
    owner.body->open();
    other.head->open();  // B's upstream must not be asked; if it is, let it answer
    other.body->open();
    CHECK(readComplete(on_owner) == kWaitersOnOwner);
    CHECK(readComplete(on_other) == kRequestsOnOther);
    CHECK(owner.upstream.requestCount() == 1);
    CHECK(other.upstream.requestCount() == 0);
    HttpClient later(other.larder->port());
    REQUIRE(later.send(kRequest));
    auto again = later.readResponseDiscardingBody(30s);
    REQUIRE(again.has_value());
    CHECK(again->body_bytes == kAnswer);
    CHECK(again->header("X-Cache") == "HIT");
    CHECK(owner.upstream.requestCount() + other.upstream.requestCount() == 1);
  }

  RedisServer redis;
  Instance owner{redis};
  Instance other{redis};
  std::unique_ptr<HttpClient> leader;
  Clients on_owner;
  Clients on_other;
};

}  // namespace

TEST_CASE("two instances, the lock owner's leader closes before the head: every waiter on both gets it, one fetch") {
  Fleet fleet;
  fleet.leader->close();  // FIN
  fleet.owner.head->open();
  fleet.checkEveryWaiterServedOnce();
}

TEST_CASE("two instances, the lock owner's leader resets before the head: every waiter on both gets it, one fetch") {
  Fleet fleet;
  fleet.resetLeader();
  REQUIRE(fleet.owner.waitForMetric("larder_connections_closed_total{reason=\"client_error\"}", 1));
  fleet.owner.head->open();
  fleet.checkEveryWaiterServedOnce();
}

TEST_CASE("two instances, the lock owner's leader closes mid-body of 5 MiB: every waiter on both gets it, one fetch") {
  Fleet fleet;
  fleet.owner.head->open();
  REQUIRE(fleet.leaderHasHead());
  fleet.leader->close();
  fleet.checkEveryWaiterServedOnce();
}

TEST_CASE("two instances, the lock owner's leader never reads: every waiter on both gets it, one fetch") {
  Fleet fleet;
  fleet.owner.head->open();
  fleet.checkEveryWaiterServedOnce();  // the leader has read nothing so far
  auto late = fleet.leader->readResponseDiscardingBody(30s);
  REQUIRE(late.has_value());
  CHECK(late->complete);
  CHECK(late->body_bytes == kAnswer);
}
