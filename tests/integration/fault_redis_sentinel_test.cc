// Redis Sentinel (issue 16, item 1): three sentinels watch a master with one
// replica, all on loopback; larder finds the master through them. The
// master is killed (SIGKILL) under light load: no client request fails
// (they bypass to the upstream during the switch), larder follows
// +switch-master to the promoted replica, hits come back, and a write
// through larder is read back fresh afterwards. Sentinel timings are small
// (down-after 1000 ms, failover-timeout 2000 ms) to keep the test short.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cache_support.h"
#include "common/process.h"
#include "common/resp_client.h"
#include "common/temp_dir.h"
#include "fault_support.h"
#include "harness/admin_fixture.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kMasterName = "larder-test";
constexpr size_t kKeys = 8;

std::string productPath(size_t id) { return fmt::format("/api/products/{}", id); }

std::optional<RedisReply> ask(uint16_t port, const std::vector<std::string>& args) {
  try {
    RespClient client(port, 500ms);
    return client.command(args, 1s);
  } catch (const HarnessError&) {
    return std::nullopt;
  }
}

class Sentinel {
 public:
  Sentinel(const TempDir& dir, size_t index, uint16_t master_port) : port_(freePort()) {
    const auto conf = dir.writeFile(fmt::format("sentinel-{}.conf", index),
                                    fmt::format("port {}\nbind 127.0.0.1\nprotected-mode no\ndir {}\n"
                                                "sentinel monitor {} 127.0.0.1 {} 2\n"
                                                "sentinel down-after-milliseconds {} 1000\n"
                                                "sentinel failover-timeout {} 2000\n",
                                                port_, dir.path().string(), kMasterName, master_port,
                                                kMasterName, kMasterName));
    process_ = std::make_unique<Process>(std::vector<std::string>{"redis-server", conf.string(), "--sentinel"});
    REQUIRE_MESSAGE(waitUntil([&] { return ask(port_, {"PING"}).has_value(); }, 10s), "sentinel did not start");
  }
  uint16_t port() const { return port_; }
  // What this sentinel knows of the master: field -> value.
  std::string masterField(const std::string& field) const {
    auto reply = ask(port_, {"SENTINEL", "MASTER", std::string(kMasterName)});
    if (!reply || reply->type != RedisReply::Type::kArray) return {};
    for (size_t i = 0; i + 1 < reply->elements.size(); i += 2)
      if (reply->elements[i].str == field) return reply->elements[i + 1].str;
    return {};
  }

 private:
  uint16_t port_;
  std::unique_ptr<Process> process_;
};

struct SentinelFixture {
  SentinelFixture()
      : admin_port(freePort()),
        master(std::make_unique<RedisServer>()),
        replica(std::vector<std::string>{"--replicaof", "127.0.0.1", std::to_string(master->port())}) {
    REQUIRE_MESSAGE(waitUntil([&] { return replica.command({"INFO", "replication"}).str.find("master_link_status:up") !=
                                           std::string::npos; },
                              10s),
                    "the replica did not sync");
    for (size_t i = 0; i < 3; ++i) sentinels.push_back(std::make_unique<Sentinel>(dir, i, master->port()));
    // Each sentinel knows the replica and the two others: a failover can be agreed.
    REQUIRE_MESSAGE(waitUntil(
                        [&] {
                          for (const auto& s : sentinels)
                            if (s->masterField("num-slaves") != "1" || s->masterField("num-other-sentinels") != "2")
                              return false;
                          return true;
                        },
                        20s, 100ms),
                    "the sentinels did not discover each other and the replica");
    std::string list;
    for (const auto& s : sentinels) list += fmt::format("{}127.0.0.1:{}", list.empty() ? "" : ", ", s->port());
    const std::string sections = fmt::format(
        "store:\n  redis: {{ sentinel: {{ master_name: {}, sentinels: [{}] }}, timeout: 250ms, "
        "breaker: {{ cooldown: 200ms }} }}\ncache:\n  status_header: X-Cache\n{}{}",
        kMasterName, list, adminSection(admin_port), kCacheRoutes);
    upstream.setHandler(numberedAnswers());
    larder = std::make_unique<LarderProcess>(proxyConfig(upstream.port(), sections));
    REQUIRE(waitForRedisClients(*master, 2));
  }

  // Every key hits.
  void warm() {
    HttpClient client(larder->port());
    for (size_t key = 0; key < kKeys; ++key) {
      REQUIRE_MESSAGE(waitUntil([&] { return xCache(mustGet(client, productPath(key))) == "HIT"; }, 10s, 20ms),
                      "no hit for ", productPath(key));
    }
  }

  TempDir dir;
  uint16_t admin_port;
  FakeUpstream upstream;
  std::unique_ptr<RedisServer> master;
  RedisServer replica;
  std::vector<std::unique_ptr<Sentinel>> sentinels;
  std::unique_ptr<LarderProcess> larder;
};

// larder's connections on the Redis at `port`: neither the harness's own,
// nor sentinels', nor replication links.
size_t larderClients(uint16_t port) {
  auto list = ask(port, {"CLIENT", "LIST"});
  if (!list) return 0;
  size_t count = 0;
  size_t at = 0;
  const std::string& text = list->str;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line.find(" name=sentinel-") != std::string::npos) continue;
    if (line.find("cmd=client|list") != std::string::npos) continue;
    if (line.find(" flags=N ") == std::string::npos && line.find(" flags=P ") == std::string::npos) continue;
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("Sentinel: a failover that leaves the old master running moves every connection, subscribers too") {
  SentinelFixture f;
  f.warm();
  const size_t before = larderClients(f.master->port());
  REQUIRE(before >= 2);
  // Forced, no agreement needed: the old master stays up and becomes a replica.
  REQUIRE(ask(f.sentinels[0]->port(), {"SENTINEL", "FAILOVER", std::string(kMasterName)}).has_value());
  const std::string replica_port = std::to_string(f.replica.port());
  REQUIRE_MESSAGE(waitUntil([&] { return f.sentinels[0]->masterField("port") == replica_port; }, 30s, 50ms),
                  "no failover within 30s");
  // Requests move larder's command connections; the subscribers follow on their own.
  HttpClient client(f.larder->port());
  CHECK(waitUntil(
      [&] {
        for (size_t key = 0; key < kKeys; ++key) CHECK(mustGet(client, productPath(key)).status == 200);
        return larderClients(f.master->port()) == 0 && larderClients(f.replica.port()) >= before;
      },
      15s, 50ms));
  MESSAGE("larder connections: old master ", larderClients(f.master->port()), ", new master ",
          larderClients(f.replica.port()));
  REQUIRE(waitUntil([&] { return xCache(mustGet(client, productPath(2))) == "HIT"; }, 10s, 20ms));
  HttpResponse write = mustRequest(client, "PUT", productPath(2), {}, "{}");
  CHECK(write.status == 200);
  CHECK_FALSE(write.hasHeader("Larder-Invalidation"));
  HttpResponse read = mustGet(client, productPath(2));
  CHECK(xCache(read) != "HIT");
  CHECK(answerNumber(read.body) > answerNumber(write.body));
}

TEST_CASE("Sentinel: the master killed under load: no request fails, larder follows the switch, hits and read-your-writes hold") {
  SentinelFixture f;
  f.warm();
  // Light: each thread paces itself (the target is chosen just before the
  // request goes out), a few hundred requests a second in all.
  LoadRunner load(f.larder->port(), 2, [](size_t thread, size_t i) {
    std::this_thread::sleep_for(4ms);
    return productPath((thread * 3 + i) % kKeys);
  });
  std::this_thread::sleep_for(500ms);
  const auto t_kill = Clock::now();
  f.master->kill();
  // The sentinels agree the master is down and promote the replica.
  const std::string replica_port = std::to_string(f.replica.port());
  REQUIRE_MESSAGE(waitUntil([&] { return f.sentinels[0]->masterField("port") == replica_port; }, 30s, 50ms),
                  "no failover within 30s");
  const auto t_switch = Clock::now();
  bool hits_back = waitUntil([&] { return load.stats(t_switch, Clock::now()).hits > 0; }, 15s, 20ms);
  const auto t_hit = Clock::now();
  std::this_thread::sleep_for(500ms);
  load.stop();

  const PhaseStats during = load.stats(t_kill, t_switch);
  const PhaseStats after = load.stats(t_switch, Clock::now());
  MESSAGE(load.stats(Clock::time_point{}, t_kill).describe("before"));
  MESSAGE(during.describe("kill to switch"));
  MESSAGE(after.describe("after the switch"));
  MESSAGE(fmt::format("failover took {:.0f} ms; first hit {:.0f} ms after it",
                      std::chrono::duration<double, std::milli>(t_switch - t_kill).count(),
                      std::chrono::duration<double, std::milli>(t_hit - t_switch).count()));
  CHECK(hits_back);
  for (const PhaseStats* stats : {&during, &after}) {
    CHECK(stats->sent > 0);
    CHECK(stats->failed == 0);
    CHECK(stats->non_200 == 0);
  }
  // (Promotion closes the harness's own connection to it: a new one.)
  auto role = ask(f.replica.port(), {"ROLE"});
  REQUIRE(role.has_value());
  CHECK(role->elements.at(0).str == "master");
  CHECK(scrape(f.admin_port).value("larder_redis_master_switches_total") >= 1);

  // Read your writes on the new master: the write's invalidation lands
  // there (no pending field), and the next read is a fresh answer.
  HttpClient client(f.larder->port());
  REQUIRE(waitUntil([&] { return xCache(mustGet(client, productPath(1))) == "HIT"; }, 10s, 20ms));
  HttpResponse write = mustRequest(client, "PUT", productPath(1), {}, "{}");
  CHECK(write.status == 200);
  CHECK_FALSE(write.hasHeader("Larder-Invalidation"));
  HttpResponse read = mustGet(client, productPath(1));
  CHECK(xCache(read) != "HIT");
  CHECK(answerNumber(read.body) > answerNumber(write.body));
  CHECK(f.larder->isRunning());
}

}  // namespace larder::test
