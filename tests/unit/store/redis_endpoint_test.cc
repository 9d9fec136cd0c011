// Redis named by a host name (issue 11, item 4): the name is looked up
// through net::Resolver, never by hiredis on the loop; every reconnect looks
// it up again (an address change needs no restart); a failed connect moves on
// to the next address; a name that does not resolve, or a lookup that never
// answers, leaves the store unavailable while operations still complete at
// once. A resolver the test answers for stands in for DNS, except in the
// last case, which asks the system for "localhost" (/etc/hosts).
#include "store/redis/redis_endpoint.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/reserved_port.h"
#include "net/resolver.h"
#include "store/redis/redis_subscriber.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store;
using namespace larder::store::test;
using cache::InsertOutcome;
using cache::StoreStatus;

namespace {

net::SocketAddress at(const char* ip, uint16_t port) {
  net::SocketAddress address;
  REQUIRE(net::makeSocketAddress(ip, port, address));
  return address;
}

// A local port with nobody listening, reserved so that no other test's
// server takes it: a connect to it is refused.
uint16_t closedPort() { return larder::test::reservePort(); }

// Answers every lookup with `answer` (or `status`) on the next loop turn,
// or, when `silent`, only at answerPending(); records the names asked.
class FakeResolver : public net::Resolver {
 public:
  Resolution resolve(net::Loop& loop, const std::string& host, uint16_t, Callback callback) override {
    hosts.push_back(host);
    auto lookup = std::make_shared<Lookup>();
    lookup->callback = std::move(callback);
    if (silent) {
      lookups_.push_back(lookup);  // pending until answerPending()
      return Resolution(std::move(lookup));
    }
    auto timer = std::make_unique<net::Timer>(loop);
    std::weak_ptr<Lookup> weak = lookup;
    timer->start(1ms, [this, weak] { complete(weak, status, answer); });
    timers_.push_back(std::move(timer));
    return Resolution(std::move(lookup));
  }
  // Answers the lookups kept pending by `silent`, now.
  void answerPending() {
    for (auto& lookup : lookups_) complete(lookup, status, answer);
    lookups_.clear();
  }
  std::vector<net::SocketAddress> answer;
  int status = 0;
  bool silent = false;
  std::vector<std::string> hosts;

 private:
  std::vector<std::unique_ptr<net::Timer>> timers_;
  std::vector<std::weak_ptr<Lookup>> lookups_;  // the Resolution owns each
};

// A RedisStore whose host is `host`, looked up by `resolver` (or the
// system's). Unlike RedisFixture, it does not wait to be connected.
struct NamedRedis {
  enum class Lookups { kFake, kSystem };
  NamedRedis(std::string host, uint16_t port, Lookups lookups = Lookups::kFake) {
    options = testRedisOptions(port);
    options.host = std::move(host);
    options.resolver = lookups == Lookups::kFake ? &resolver : nullptr;
  }
  void start() {
    auto redis = std::make_unique<RedisStore>(loop, options);
    redis_store = redis.get();
    store = std::move(redis);
  }
  bool connects() {
    const auto wanted = static_cast<size_t>(options.connections);
    return runUntil(loop, [&] { return redis_store->readyConnectionsForTest() == wanted; }, 3s);
  }
  RedisOptions options;
  // Destroyed in reverse: the store, the resolver's timers, then the loop.
  net::Loop loop;
  FakeResolver resolver;
  RedisStore* redis_store = nullptr;
  std::unique_ptr<cache::Store> store;
};

// Retries lookups until one succeeds.
bool recovers(NamedRedis& f, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kOk) return true;
    runFor(f.loop, 50ms);
  }
  return false;
}

}  // namespace

TEST_CASE("redis endpoint: literal IPs need no lookup; names do") {
  CHECK(isLiteralIp("127.0.0.1"));
  CHECK(isLiteralIp("::1"));
  CHECK(isLiteralIp("fe80::1"));
  CHECK_FALSE(isLiteralIp("localhost"));
  CHECK_FALSE(isLiteralIp("redis"));
  CHECK_FALSE(isLiteralIp("redis.default.svc.cluster.local"));
  CHECK_FALSE(isLiteralIp("127.0.0.1.example"));
  CHECK_FALSE(isLiteralIp(""));
}

TEST_CASE("redis endpoint: a literal IP connects without asking the resolver") {
  RedisServer server;
  NamedRedis f("127.0.0.1", server.port());
  f.start();
  CHECK(f.connects());
  CHECK(f.resolver.hosts.empty());
}

TEST_CASE("redis endpoint: a name is looked up by the resolver, and the store works") {
  RedisServer server;
  NamedRedis f("redis.test", server.port());
  f.resolver.answer = {at("127.0.0.1", server.port())};
  f.start();
  CHECK(f.connects());
  REQUIRE(f.resolver.hosts.size() == 2);  // one lookup per connection
  CHECK(f.resolver.hosts[0] == "redis.test");
  CHECK(insertNow(f, makeInsert("e:1", "body", {{"v:a", "t", true}})) == InsertOutcome::kStored);
  CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kOk);
}

TEST_CASE("redis endpoint: an address change is picked up on reconnect, without a restart") {
  RedisServer first;
  RedisServer second;
  NamedRedis f("redis.test", first.port());
  f.resolver.answer = {at("127.0.0.1", first.port())};
  f.start();
  REQUIRE(f.connects());
  const size_t lookups = f.resolver.hosts.size();

  // The service moved: the name now answers with the second server.
  f.resolver.answer = {at("127.0.0.1", second.port())};
  first.kill();
  CHECK(recovers(f, 5s));
  CHECK(f.connects());
  CHECK(f.resolver.hosts.size() > lookups);
  CHECK(insertNow(f, makeInsert("e:2", "x", {})) == InsertOutcome::kStored);
  CHECK_FALSE(second.keys().empty());
}

TEST_CASE("redis endpoint: a refused connect moves on to the name's next address") {
  RedisServer server;
  NamedRedis f("redis.test", server.port());
  f.resolver.answer = {at("127.0.0.1", closedPort()), at("127.0.0.1", server.port())};
  f.start();
  CHECK(f.connects());
  // Each connection tried the dead address, then the next one, from the
  // same answer: no second lookup.
  CHECK(f.resolver.hosts.size() == 2);
}

TEST_CASE("redis endpoint: a name that does not resolve leaves the store unavailable, not stuck") {
  RedisServer server;
  NamedRedis f("nowhere.test", server.port());
  f.resolver.status = UV_EAI_NONAME;
  f.start();
  runFor(f.loop, 300ms);
  CHECK(f.redis_store->readyConnectionsForTest() == 0);
  CHECK(f.resolver.hosts.size() > 2);  // looked up again on every reconnect
  // Operations complete at once, unavailable: the cache bypasses Redis.
  const auto start = std::chrono::steady_clock::now();
  CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  CHECK(insertNow(f, makeInsert("e:1", "x", {})) == InsertOutcome::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < f.options.command_timeout);

  // The name starts resolving: the store connects, with no restart.
  f.resolver.status = 0;
  f.resolver.answer = {at("127.0.0.1", server.port())};
  CHECK(recovers(f, 5s));
}

TEST_CASE("redis endpoint: a lookup that never answers is given up after the connect timeout") {
  RedisServer server;
  NamedRedis f("hung.test", server.port());
  f.resolver.silent = true;
  f.start();
  CHECK(lookupNow(f, {"v:a"}, "e:1").status == StoreStatus::kUnavailable);
  runFor(f.loop, f.options.connect_timeout * 3);
  CHECK(f.redis_store->readyConnectionsForTest() == 0);
  // A pending lookup is waited for again, not doubled: one per connection.
  CHECK(f.resolver.hosts.size() == 2);

  // Its late answer is used by the next attempt.
  f.resolver.answer = {at("127.0.0.1", server.port())};
  f.resolver.answerPending();
  CHECK(f.connects());
  CHECK(f.resolver.hosts.size() == 2);
}

TEST_CASE("redis endpoint: the system resolver finds localhost (/etc/hosts)") {
  RedisServer server;
  NamedRedis f("localhost", server.port(), NamedRedis::Lookups::kSystem);
  f.start();
  CHECK(f.connects());
  CHECK(insertNow(f, makeInsert("e:1", "body", {})) == InsertOutcome::kStored);
}

TEST_CASE("redis endpoint: the subscriber looks its name up too") {
  RedisServer server;
  net::Loop loop;
  FakeResolver resolver;
  resolver.answer = {at("127.0.0.1", server.port())};
  RedisOptions options = testRedisOptions(server.port());
  options.host = "redis.test";
  options.resolver = &resolver;
  RedisSubscriber subscriber(loop, options, 0);
  std::vector<std::string> messages;
  auto subscription = subscriber.subscribe(
      "c", [&](std::string_view message) { messages.emplace_back(message); });
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed("c"); }));
  CHECK(resolver.hosts == std::vector<std::string>{"redis.test"});
  server.command({"PUBLISH", "c", "hello"});
  CHECK(runUntil(loop, [&] { return messages.size() == 1; }));
}
