// Pool's choice of server with weights and backups (issue 11, item 3):
// smooth weighted round robin among the healthy primaries, backups only once
// every primary is down, and a probe of a primary whose cooldown is over
// before any backup. Connections go to real listeners on loopback; which
// server a request went to is the ServerHealth its connection points at.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/time.h"
#include "net/loop.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "free_port.h"
#include "listener.h"
#include "upstream/pool.h"
#include "upstream/server_health.h"
#include "upstream/upstream_connection.h"

namespace larder::upstream {
namespace {

using namespace std::chrono_literals;

config::Address server(uint16_t port, unsigned weight = 1, bool backup = false) {
  config::Address address{config::Address::Kind::kTcp, "127.0.0.1", port, ""};
  address.weight = weight;
  address.backup = backup;
  return address;
}

// The servers (by "host:port") that `count` new requests go to, in order.
std::vector<std::string> choices(Pool& pool, int count) {
  std::vector<std::string> chosen;
  for (int i = 0; i < count; ++i)
    chosen.push_back(pool.acquire(Pool::Reuse::kNone, {}).server().name());
  return chosen;
}

// Runs the loop a little, so that connects complete before the Pool goes.
void runFor50ms(net::Loop& loop) {
  const auto until = std::chrono::steady_clock::now() + 50ms;
  while (std::chrono::steady_clock::now() < until) uv_run(loop.raw(), UV_RUN_NOWAIT);
}

}  // namespace

TEST_CASE("weights 3:1 share requests 3:1, interleaved (smooth weighted round robin)") {
  net::Loop loop;
  const uint16_t a = freeLoopbackPort();
  const uint16_t b = freeLoopbackPort();
  Listener la(loop, "127.0.0.1", a), lb(loop, "127.0.0.1", b);
  config::UpstreamConfig config;
  config.servers = {server(a, 3), server(b, 1)};
  Pool pool(loop, config);
  const std::string name_a = "127.0.0.1:" + std::to_string(a);
  const std::string name_b = "127.0.0.1:" + std::to_string(b);
  const std::vector<std::string> chosen = choices(pool, 40);
  CHECK(std::count(chosen.begin(), chosen.end(), name_a) == 30);
  CHECK(std::count(chosen.begin(), chosen.end(), name_b) == 10);
  // nginx's order: a a b a, repeated; never three of one server's turns
  // bunched with the other waiting four.
  CHECK(std::vector<std::string>(chosen.begin(), chosen.begin() + 4) ==
        std::vector<std::string>{name_a, name_a, name_b, name_a});
  runFor50ms(loop);
}

TEST_CASE("equal weights stay plain round robin") {
  net::Loop loop;
  const uint16_t a = freeLoopbackPort();
  const uint16_t b = freeLoopbackPort();
  const uint16_t c = freeLoopbackPort();
  Listener la(loop, "127.0.0.1", a), lb(loop, "127.0.0.1", b), lc(loop, "127.0.0.1", c);
  config::UpstreamConfig config;
  config.servers = {server(a), server(b), server(c)};
  Pool pool(loop, config);
  const std::vector<std::string> chosen = choices(pool, 6);
  for (size_t i = 0; i < chosen.size(); ++i)
    CHECK(chosen[i] == "127.0.0.1:" + std::to_string(i % 3 == 0 ? a : i % 3 == 1 ? b : c));
  runFor50ms(loop);
}

TEST_CASE("a backup serves only when every primary is down, and a primary's probe comes first") {
  net::Loop loop;
  const uint16_t a = freeLoopbackPort();
  const uint16_t b = freeLoopbackPort();
  const uint16_t backup = freeLoopbackPort();
  Listener la(loop, "127.0.0.1", a), lb(loop, "127.0.0.1", b), lbackup(loop, "127.0.0.1", backup);
  config::UpstreamConfig config;
  config.servers = {server(a), server(b), server(backup, 5, true)};
  config.passive_health.failures = 1;
  config.passive_health.cooldown = 200ms;
  Pool pool(loop, config);
  const std::string name_a = "127.0.0.1:" + std::to_string(a);
  const std::string name_b = "127.0.0.1:" + std::to_string(b);
  const std::string name_backup = "127.0.0.1:" + std::to_string(backup);

  std::vector<std::string> chosen = choices(pool, 8);
  CHECK(std::count(chosen.begin(), chosen.end(), name_backup) == 0);

  // One primary down: the other takes everything, still no backup.
  const uint64_t now = base::monoMillis();
  serverHealth(name_a).onFailure(now, config.passive_health);
  chosen = choices(pool, 4);
  CHECK(chosen == std::vector<std::string>(4, name_b));

  // Both down: the backup.
  serverHealth(name_b).onFailure(now, config.passive_health);
  chosen = choices(pool, 4);
  CHECK(chosen == std::vector<std::string>(4, name_backup));

  // A's cooldown over: its one probe goes before the backup; then, while
  // the probe is out, the backup again.
  const auto wait_until = std::chrono::steady_clock::now() + 250ms;
  while (std::chrono::steady_clock::now() < wait_until) uv_run(loop.raw(), UV_RUN_NOWAIT);
  chosen = choices(pool, 1);
  CHECK((chosen[0] == name_a || chosen[0] == name_b));
  serverHealth(name_a).onSuccess();
  serverHealth(name_b).onSuccess();
  chosen = choices(pool, 4);
  CHECK(std::count(chosen.begin(), chosen.end(), name_backup) == 0);
  runFor50ms(loop);
}

}  // namespace larder::upstream
