// Pool with servers named by DNS names, on a real loop, with a resolver the
// test answers for (net::Resolver is injectable): the first request waits for
// the lookup, every address of a name is used in turn, and an address change
// is picked up by the periodic lookup and after a connect failure, with no
// restart. Two listeners on 127.0.0.1 and 127.0.0.2 (both loopback) stand in
// for a server that moved.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "net/loop.h"
#include "net/resolver.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "net/timer.h"
#include "free_port.h"
#include "listener.h"
#include "unit/loop_runner.h"
#include "upstream/pool.h"
#include "upstream/upstream_connection.h"

namespace larder::upstream {
namespace {

using larder::test::runUntil;

using namespace std::chrono_literals;

net::SocketAddress at(const char* ip, uint16_t port) {
  net::SocketAddress address;
  REQUIRE(net::makeSocketAddress(ip, port, address));
  return address;
}

// Answers every lookup with `answer`, from the loop, and counts them.
class FakeResolver : public net::Resolver {
 public:
  Resolution resolve(net::Loop& loop, const std::string& host, uint16_t, Callback callback) override {
    hosts.push_back(host);
    auto lookup = std::make_shared<Lookup>();
    lookup->callback = std::move(callback);
    auto timer = std::make_unique<net::Timer>(loop);
    std::weak_ptr<Lookup> weak = lookup;
    timer->start(1ms, [this, weak] {
      ++answered;
      complete(weak, status, answer);
    });
    timers_.push_back(std::move(timer));
    return Resolution(std::move(lookup));
  }
  std::vector<net::SocketAddress> answer;
  int status = 0;
  std::vector<std::string> hosts;  // asked
  size_t answered = 0;

 private:
  std::vector<std::unique_ptr<net::Timer>> timers_;
};

config::UpstreamConfig namedServer(uint16_t port) {
  config::UpstreamConfig config;
  config.servers = {config::Address{config::Address::Kind::kTcp, "api.test", port, ""}};
  config.resolve_interval = 50ms;
  config.passive_health.failures = 0;  // keep trying the name whatever happens
  return config;
}

TEST_CASE("a DNS change is picked up by the periodic lookup, without a restart") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  Listener first(loop, "127.0.0.1", port);
  Listener second(loop, "127.0.0.2", port);
  FakeResolver resolver;
  resolver.answer = {at("127.0.0.1", port)};
  {
    Pool pool(loop, namedServer(port), resolver);
    pool.acquire(Pool::Reuse::kNone, {});  // before the lookup has answered: waits for it
    CHECK(runUntil(loop, [&] { return first.accepted == 1; }));
    CHECK(resolver.hosts.at(0) == "api.test");

    resolver.answer = {at("127.0.0.2", port)};
    const size_t lookups = resolver.hosts.size();
    CHECK(runUntil(loop, [&] { return resolver.answered >= lookups + 2; }));
    pool.acquire(Pool::Reuse::kNone, {});
    CHECK(runUntil(loop, [&] { return second.accepted == 1; }));
    CHECK(first.accepted == 1);
  }
}

TEST_CASE("every address of a name is used in turn; a failed lookup keeps the last addresses") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  Listener first(loop, "127.0.0.1", port);
  Listener second(loop, "127.0.0.2", port);
  FakeResolver resolver;
  resolver.answer = {at("127.0.0.1", port), at("127.0.0.2", port)};
  {
    Pool pool(loop, namedServer(port), resolver);
    // ">=": on a slow machine the periodic lookup (50 ms) can answer in the
    // same loop pass as the first.
    CHECK(runUntil(loop, [&] { return resolver.answered >= 1; }));
    for (int i = 0; i < 4; ++i) pool.acquire(Pool::Reuse::kNone, {});
    CHECK(runUntil(loop, [&] { return first.accepted + second.accepted == 4; }));
    CHECK(first.accepted == 2);
    CHECK(second.accepted == 2);

    resolver.status = UV_EAI_NONAME;
    resolver.answer = {};
    const size_t lookups = resolver.hosts.size();
    CHECK(runUntil(loop, [&] { return resolver.hosts.size() >= lookups + 2; }));
    pool.acquire(Pool::Reuse::kNone, {});
    CHECK(runUntil(loop, [&] { return first.accepted + second.accepted == 5; }));
  }
}

TEST_CASE("a connect failure looks the name up again at once") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  Listener second(loop, "127.0.0.2", port);
  FakeResolver resolver;
  resolver.answer = {at("127.0.0.1", port)};  // nothing listens there: refused
  config::UpstreamConfig config = namedServer(port);
  config.resolve_interval = 1h;  // only the failure can trigger the next lookup
  {
    Pool pool(loop, config, resolver);
    CHECK(runUntil(loop, [&] { return resolver.answered == 1; }));
    // Lookups after failures are at most once a second: wait that out.
    net::Timer wait(loop);
    bool waited = false;
    wait.start(1100ms, [&] { waited = true; });
    CHECK(runUntil(loop, [&] { return waited; }));
    resolver.answer = {at("127.0.0.2", port)};
    pool.acquire(Pool::Reuse::kNone, {});  // refused at 127.0.0.1
    CHECK(runUntil(loop, [&] { return resolver.answered == 2; }));
    pool.acquire(Pool::Reuse::kNone, {});
    CHECK(runUntil(loop, [&] { return second.accepted == 1; }));
  }
}

TEST_CASE("destroying the pool while a lookup is in flight drops its answer") {
  net::Loop loop;
  FakeResolver resolver;
  resolver.answer = {at("127.0.0.1", 9)};
  {
    Pool pool(loop, namedServer(9), resolver);
    pool.acquire(Pool::Reuse::kNone, {});
  }
  uv_run(loop.raw(), UV_RUN_NOWAIT);  // the lookup's timer fires into nothing
  CHECK(resolver.hosts.size() == 1);
}

}  // namespace
}  // namespace larder::upstream
