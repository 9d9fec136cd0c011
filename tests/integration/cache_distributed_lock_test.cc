// DESIGN invariant 9 across a fleet: with cache.distributed_lock on, larder
// instances sharing one Redis send one request upstream per cold key, and an
// owner that dies mid-fetch holds the others up for at most the lock's TTL.
// Each instance has its own FakeUpstream, so a test knows which one fetched.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/ports.h"
#include "harness/redis_server.h"

using namespace larder::test;
using namespace std::chrono_literals;

namespace {

using Clients = std::vector<std::unique_ptr<HttpClient>>;

std::string itemBody() {
  std::string body;
  for (int i = 0; body.size() < 64 * 1024; ++i) body += fmt::format("line {} of the item\n", i);
  return body;
}

struct FleetOptions {
  bool lock = true;
  std::string ttl = "10s";
  std::string lock_timeout = "10s";
  std::string redis_user;  // connect as this ACL user (password in LARDER_TEST_REDIS_PW)
};

constexpr std::string_view kRedisPassword = "fleet-pw";

// One larder in the fleet, in front of its own upstream, which holds every
// answer until the instance's gate opens.
struct Instance {
  Instance(const RedisServer& redis, const FleetOptions& options, const std::string& body)
      : gate(std::make_shared<Gate>()), admin_port(freePort()) {
    upstream.setHandler([this, body](const RecordedRequest&) {
      FakeResponse response;
      response.headers = {{"Cache-Control", "max-age=60"}};
      response.body = body;
      response.hold = gate;
      response.delay = Millis(answer_delay_ms.load());
      return response;
    });
    std::string url = options.redis_user.empty()
                          ? redis.url()
                          : fmt::format("redis://{}@127.0.0.1:{}/0", options.redis_user, redis.port());
    std::string password = options.redis_user.empty() ? "" : ", password_env: LARDER_TEST_REDIS_PW";
    std::string fragment = fmt::format(
        "workers: 2\n"
        "upstream: {{ servers: [127.0.0.1:{}], response_timeout: 20s, connect_timeout: 500ms }}\n"
        "log: {{ level: info }}\n"
        "store: {{ redis: {{ url: \"{}\", timeout: 1s{} }} }}\n"
        "cache:\n  lock_timeout: {}\n  distributed_lock: {{ enabled: {}, ttl: {} }}\n"
        "routes:\n  - match: GET /item\n    ttl: 60s\n"
        "{}",
        upstream.port(), url, password, options.lock_timeout, options.lock, options.ttl,
        adminSection(admin_port));
    LarderOptions larder_options;
    larder_options.env = {{"LARDER_TEST_REDIS_PW", std::string(kRedisPassword)}};
    larder = std::make_unique<LarderProcess>(fragment, larder_options);
  }

  double metric(const std::string& series) { return scrape(admin_port).value(series); }
  double lockEvents(std::string_view event) {
    return metric(fmt::format("larder_fill_lock_events_total{{event=\"{}\"}}", event));
  }

  std::atomic<int64_t> answer_delay_ms{0};  // before the handler may read it
  FakeUpstream upstream;
  std::shared_ptr<Gate> gate;
  uint16_t admin_port;
  std::unique_ptr<LarderProcess> larder;
};

struct Fleet {
  explicit Fleet(FleetOptions options = {}) {
    if (!options.redis_user.empty()) {
      // Everything but the lock keys: SET NX on one is refused (NOPERM).
      REQUIRE(redis.command({"ACL", "SETUSER", options.redis_user, "on",
                             fmt::format(">{}", kRedisPassword), "~v1:e:*", "~v1:ns:*", "~v1:epoch", "~v1:generation", "&*", "+@all"})
                  .isStatus("OK"));
    }
    for (int i = 0; i < 2; ++i) instances.push_back(std::make_unique<Instance>(redis, options, body));
  }

  size_t upstreamRequests() const {
    return instances[0]->upstream.requestCount() + instances[1]->upstream.requestCount();
  }
  // The instance whose upstream got a request (the lock's owner).
  size_t fetcher() const { return instances[0]->upstream.requestCount() > 0 ? 0 : 1; }
  std::vector<std::string> lockKeys() { return redis.keys("v1:lock:*"); }

  std::string body = itemBody();
  RedisServer redis;
  std::vector<std::unique_ptr<Instance>> instances;  // destroyed before the Redis
};

Clients sendRequests(uint16_t port, size_t count) {
  Clients clients;
  for (size_t i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<HttpClient>(port));
    REQUIRE(clients.back()->send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  }
  return clients;
}

// Reads every client's answer in parallel; how many got a 200 with `body`.
size_t readIdentical(Clients& clients, const std::string& body, Millis timeout) {
  constexpr size_t kThreads = 8;
  std::atomic<size_t> identical{0};
  std::vector<std::thread> readers;
  for (size_t t = 0; t < kThreads; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = t; i < clients.size(); i += kThreads) {
        auto response = clients[i]->readResponse(timeout);
        if (response && response->status == 200 && response->body == body) ++identical;
      }
    });
  }
  for (auto& reader : readers) reader.join();
  return identical.load();
}

// Every request but each instance's leader is parked behind its fill.
bool allWaiting(Fleet& fleet, size_t per_instance) {
  return waitUntil(
      [&] {
        for (auto& instance : fleet.instances)
          if (instance->metric("larder_coalesced_waiters") != static_cast<double>(per_instance - 1))
            return false;
        return true;
      },
      10s, 50ms);
}

}  // namespace

TEST_CASE("500 concurrent misses over two instances with the lock: one request upstream") {
  Fleet fleet;
  constexpr size_t kPerInstance = 250;
  Clients a = sendRequests(fleet.instances[0]->larder->port(), kPerInstance);
  Clients b = sendRequests(fleet.instances[1]->larder->port(), kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.upstreamRequests() >= 1; }, 10s));
  Instance& owner = *fleet.instances[fleet.fetcher()];
  Instance& other = *fleet.instances[1 - fleet.fetcher()];
  // The other instance's leader lost the lock and waits; everyone else waits behind a leader.
  CHECK(waitUntil([&] { return other.lockEvents("lost") >= 1; }, 10s, 50ms));
  CHECK(allWaiting(fleet, kPerInstance));
  // Held: the lock has its owner's TTL (DESIGN invariant 2).
  auto locks = fleet.lockKeys();
  REQUIRE(locks.size() == 1);
  const int64_t pttl = fleet.redis.command({"PTTL", locks[0]}).integer;
  CHECK(pttl > 0);
  CHECK(pttl <= 10000);

  for (auto& instance : fleet.instances) instance->gate->open();
  CHECK(readIdentical(a, fleet.body, 20s) == kPerInstance);
  CHECK(readIdentical(b, fleet.body, 20s) == kPerInstance);
  CHECK(fleet.upstreamRequests() == 1);
  // Released once the entry was stored; the waiter heard it, not the TTL.
  CHECK(waitUntil([&] { return fleet.lockKeys().empty(); }, 3s));
  CHECK(owner.lockEvents("acquired") == 1);
  CHECK(other.lockEvents("acquired") == 0);
  CHECK(other.lockEvents("notified") >= 1);
  CHECK(other.lockEvents("expired") == 0);

  // And the entry serves both from now on.
  for (auto& instance : fleet.instances) {
    auto again = HttpClient(instance->larder->port()).get("/item", {{"Host", "shop"}});
    REQUIRE(again);
    CHECK(again->header("X-Cache") == "HIT");
  }
  CHECK(fleet.upstreamRequests() == 1);
}

TEST_CASE("the lock's owner killed mid-fetch: the other instance recovers within the lock's TTL") {
  FleetOptions options;
  options.ttl = "2s";
  Fleet fleet(options);
  constexpr size_t kPerInstance = 100;
  Clients a = sendRequests(fleet.instances[0]->larder->port(), kPerInstance);
  Clients b = sendRequests(fleet.instances[1]->larder->port(), kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.upstreamRequests() >= 1; }, 10s));
  const size_t owner_index = fleet.fetcher();
  Instance& owner = *fleet.instances[owner_index];
  Instance& survivor = *fleet.instances[1 - owner_index];
  Clients& survivor_clients = owner_index == 0 ? b : a;
  REQUIRE(waitUntil([&] { return survivor.lockEvents("lost") >= 1; }, 10s, 20ms));
  REQUIRE(survivor.upstream.requestCount() == 0);  // still within the lock's TTL

  survivor.gate->open();  // its own fetch, once it comes, answers at once
  owner.larder->process().kill();  // mid-fetch: the lock stays behind, unreleased
  const auto killed_at = std::chrono::steady_clock::now();
  CHECK(readIdentical(survivor_clients, fleet.body, 10s) == kPerInstance);
  const auto recovered_in = std::chrono::steady_clock::now() - killed_at;
  MESSAGE("recovered in ", std::chrono::duration_cast<std::chrono::milliseconds>(recovered_in).count(), " ms");
  // Within the TTL plus room for a loaded host; far below lock_timeout (10s).
  CHECK(recovered_in < 2s + 1500ms);
  CHECK(survivor.upstream.requestCount() == 1);
  CHECK(owner.upstream.requestCount() == 1);
  CHECK(survivor.lockEvents("expired") >= 1);
  CHECK(survivor.lockEvents("acquired") == 1);
}

TEST_CASE("an owner dead with a lock that outlives lock_timeout: each instance then fetches once") {
  FleetOptions options;
  options.ttl = "30s";
  options.lock_timeout = "2s";
  Fleet fleet(options);
  constexpr size_t kPerInstance = 100;
  Clients a = sendRequests(fleet.instances[0]->larder->port(), kPerInstance);
  Clients b = sendRequests(fleet.instances[1]->larder->port(), kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.upstreamRequests() >= 1; }, 10s));
  const size_t owner_index = fleet.fetcher();
  Instance& survivor = *fleet.instances[1 - owner_index];
  Clients& survivor_clients = owner_index == 0 ? b : a;
  REQUIRE(waitUntil([&] { return survivor.lockEvents("lost") >= 1; }, 10s, 20ms));
  // Slower than the gap between the leader's lock_timeout and its waiters'.
  survivor.answer_delay_ms = 500;
  survivor.gate->open();
  fleet.instances[owner_index]->larder->process().kill();
  const auto killed_at = std::chrono::steady_clock::now();
  CHECK(readIdentical(survivor_clients, fleet.body, 10s) == kPerInstance);
  CHECK(std::chrono::steady_clock::now() - killed_at < 2s + 500ms + 1500ms);
  // The leader gave up on the lock at lock_timeout and fetched; its waiters
  // waited for that fetch instead of each fetching when their own ran out.
  CHECK(survivor.upstream.requestCount() == 1);
  CHECK(survivor.lockEvents("timed_out") == 1);
}

TEST_CASE("with the lock off, each instance sends its own one request") {
  FleetOptions options;
  options.lock = false;
  Fleet fleet(options);
  constexpr size_t kPerInstance = 50;
  Clients a = sendRequests(fleet.instances[0]->larder->port(), kPerInstance);
  Clients b = sendRequests(fleet.instances[1]->larder->port(), kPerInstance);
  // Both are upstream at once: nothing holds the second one back.
  REQUIRE(waitUntil([&] { return fleet.upstreamRequests() >= 2; }, 10s));
  CHECK(allWaiting(fleet, kPerInstance));
  for (auto& instance : fleet.instances) instance->gate->open();
  CHECK(readIdentical(a, fleet.body, 20s) == kPerInstance);
  CHECK(readIdentical(b, fleet.body, 20s) == kPerInstance);
  for (auto& instance : fleet.instances) {
    CHECK(instance->upstream.requestCount() == 1);
    CHECK(instance->lockEvents("lost") + instance->lockEvents("acquired") == 0);
  }
  CHECK(fleet.lockKeys().empty());
}

TEST_CASE("a Redis that refuses the lock: each instance falls back to coalescing on its own") {
  FleetOptions options;
  options.redis_user = "larder";
  Fleet fleet(options);
  constexpr size_t kPerInstance = 50;
  Clients a = sendRequests(fleet.instances[0]->larder->port(), kPerInstance);
  Clients b = sendRequests(fleet.instances[1]->larder->port(), kPerInstance);
  REQUIRE(waitUntil([&] { return fleet.upstreamRequests() >= 2; }, 10s));
  for (auto& instance : fleet.instances) instance->gate->open();
  // DESIGN invariant 5: the lock's errors fail no request.
  CHECK(readIdentical(a, fleet.body, 20s) == kPerInstance);
  CHECK(readIdentical(b, fleet.body, 20s) == kPerInstance);
  for (auto& instance : fleet.instances) {
    CHECK(instance->upstream.requestCount() == 1);
    CHECK(instance->lockEvents("unavailable") >= 1);
  }
  CHECK(fleet.lockKeys().empty());
  // The cache itself still works through that user.
  CHECK(waitUntil([&] { return !fleet.redis.keys("v1:e:*").empty(); }, 3s));
}

TEST_CASE("a leader reset while it waits on another instance's lock: the fetch waits on, its waiters stay, one fetch") {
  Fleet fleet;
  Instance& owner = *fleet.instances[0];
  Instance& other = *fleet.instances[1];
  Clients a = sendRequests(owner.larder->port(), 1);
  REQUIRE(waitUntil([&] { return owner.upstream.requestCount() == 1; }, 10s));
  HttpClient leader(other.larder->port());
  REQUIRE(leader.send("GET /item HTTP/1.1\r\nHost: shop\r\n\r\n"));
  REQUIRE(waitUntil([&] { return other.lockEvents("lost") >= 1; }, 10s, 50ms));
  constexpr size_t kWaiters = 9;
  Clients b = sendRequests(other.larder->port(), kWaiters);
  REQUIRE(waitUntil([&] { return other.metric("larder_coalesced_waiters") == kWaiters; }, 10s, 50ms));
  // RST: SO_LINGER with a zero timeout.
  struct linger abort_on_close {1, 0};
  REQUIRE(::setsockopt(leader.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  leader.close();
  // The fetch belongs to the worker, not to the leader's client: it keeps
  // waiting on the owner's lock, and the waiters keep reading its fill
  // (before the fill fetch, the waiters looked up again and one led anew;
  // before that, all nine went upstream).
  REQUIRE(waitUntil([&] { return other.metric("larder_fills_adopted_total") == 1; }, 10s, 50ms));
  CHECK(other.metric("larder_coalesced_waiters") == kWaiters);
  CHECK(other.lockEvents("lost") == 1);
  for (auto& instance : fleet.instances) instance->gate->open();
  CHECK(readIdentical(a, fleet.body, 20s) == 1);
  CHECK(readIdentical(b, fleet.body, 20s) == kWaiters);
  CHECK(fleet.upstreamRequests() == 1);
}
