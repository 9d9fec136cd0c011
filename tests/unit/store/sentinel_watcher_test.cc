// MasterAddress and SentinelWatcher (store/redis/sentinel_watcher.h) without
// sentinels: the version rises on changes only, and a watcher whose
// sentinels are all unreachable finds nothing, in bounded time, and stops
// promptly. Failovers with real sentinels: it_fault_redis_sentinel.
#include "store/redis/sentinel_watcher.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "base/metric_catalog.h"
#include "common/redis_server.h"

using namespace larder;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("MasterAddress: unknown until set; the version rises only when the address changes") {
  store::MasterAddress master;
  CHECK(master.version() == 0);
  CHECK(master.get().version == 0);
  CHECK(master.set("127.0.0.1", 6379));
  CHECK(master.version() == 1);
  CHECK_FALSE(master.set("127.0.0.1", 6379));
  CHECK(master.version() == 1);
  const auto switches = base::metrics::redis_master_switches.value();
  CHECK(master.set("127.0.0.1", 6380));
  CHECK(master.version() == 2);
  CHECK(base::metrics::redis_master_switches.value() == switches + 1);
  const auto value = master.get();
  CHECK(value.host == "127.0.0.1");
  CHECK(value.port == 6380);
  CHECK(value.version == 2);
}

TEST_CASE("SentinelWatcher: no sentinel answers: nothing is found, within the timeouts, and it stops promptly") {
  // A port with nobody on it (any more): refused at once.
  larder::test::RedisServer gone;
  const uint16_t closed = gone.port();
  gone.kill();
  store::SentinelOptions options;
  options.master_name = "m";
  options.sentinels = {{"127.0.0.1", closed}, {"127.0.0.1", closed}};
  options.timeout = 200ms;
  auto master = std::make_shared<store::MasterAddress>();
  auto watcher = std::make_unique<store::SentinelWatcher>(options, master);
  const auto start = Clock::now();
  CHECK_FALSE(watcher->discover());
  CHECK(Clock::now() - start < 2s);
  watcher->start();
  std::this_thread::sleep_for(300ms);
  const auto stop = Clock::now();
  watcher.reset();
  CHECK(Clock::now() - stop < 2s);
  CHECK(master->version() == 0);
}

TEST_CASE("SentinelWatcher: a server that is no sentinel names no master") {
  larder::test::RedisServer server;
  store::SentinelOptions options;
  options.master_name = "m";
  options.sentinels = {{"127.0.0.1", server.port()}};
  auto master = std::make_shared<store::MasterAddress>();
  store::SentinelWatcher watcher(options, master);
  CHECK_FALSE(watcher.discover());  // SENTINEL is an unknown command there
  CHECK(master->version() == 0);
}
