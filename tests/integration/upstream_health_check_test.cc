// Active health checks (upstream.health_check): a server whose health
// endpoint stops answering as expected is marked down at the next check and
// gets no more requests, though it still answers them; once its endpoint
// passes again, it is marked up and used again. /readyz reports both.
#include <atomic>
#include <chrono>
#include <string>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

struct TwoServers {
  TwoServers() : admin_port(freePort()) {
    for (FakeUpstream* server : {&a, &b}) {
      server->setHandler([this, server](const RecordedRequest& request) {
        FakeResponse response;
        if (request.target == "/healthz" && server == &a && a_sick) response.status = 503;
        return response;
      });
    }
    larder = std::make_unique<LarderProcess>(fmt::format(
        "workers: 1\n"
        "upstream:\n"
        "  servers: [127.0.0.1:{}, 127.0.0.1:{}]\n"
        "  health_check: {{ path: /healthz, interval: 200ms, timeout: 500ms, expect: 2xx }}\n"
        "log: {{ level: warn }}\n"
        "{}",
        a.port(), b.port(), adminSection(admin_port)));
  }
  std::string name(const FakeUpstream& server) const { return fmt::format("127.0.0.1:{}", server.port()); }
  bool reportsUp(const FakeUpstream& server, bool up) {
    auto ready = adminRequest(admin_port, "GET", "/readyz");
    return ready && ready->body.find(fmt::format("{{\"server\":\"{}\",\"up\":{}}}", name(server), up)) != std::string::npos;
  }
  static size_t served(const FakeUpstream& server) {
    size_t count = 0;
    for (const auto& request : server.requests()) count += request.target != "/healthz";
    return count;
  }

  std::atomic<bool> a_sick{false};
  FakeUpstream a;
  FakeUpstream b;
  uint16_t admin_port;
  std::unique_ptr<LarderProcess> larder;
};

TEST_CASE("a failing health check takes a server out of rotation; a passing one brings it back") {
  TwoServers servers;
  CHECK(servers.a.waitForRequests(2, 5s));  // it checks
  CHECK(servers.a.requests().front().target == "/healthz");
  CHECK(servers.a.requests().front().header("User-Agent") == "larder-health-check");
  HttpClient client(servers.larder->port());
  for (int i = 0; i < 10; ++i) CHECK(client.get(fmt::format("/r/{}", i))->status == 200);
  CHECK(TwoServers::served(servers.a) == 5);  // round robin

  servers.a_sick = true;
  REQUIRE(waitUntil([&] { return servers.reportsUp(servers.a, false); }, 5s));
  const size_t a_before = TwoServers::served(servers.a);
  for (int i = 0; i < 10; ++i) CHECK(client.get(fmt::format("/s/{}", i))->status == 200);
  CHECK(TwoServers::served(servers.a) == a_before);  // all to b
  PrometheusText metrics = scrape(servers.admin_port);
  CHECK(metrics.value(fmt::format("larder_upstream_server_up{{server=\"{}\"}}", servers.name(servers.a))) == 0);

  servers.a_sick = false;
  REQUIRE(waitUntil([&] { return servers.reportsUp(servers.a, true); }, 5s));
  for (int i = 0; i < 10; ++i) CHECK(client.get(fmt::format("/t/{}", i))->status == 200);
  CHECK(TwoServers::served(servers.a) > a_before);
  CHECK(servers.reportsUp(servers.b, true));
}

TEST_CASE("a health check that gets no answer in time fails") {
  FakeUpstream slow;
  slow.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target == "/healthz") response.delay = 2s;
    return response;
  });
  const uint16_t admin_port = freePort();
  LarderProcess larder(fmt::format("workers: 1\n"
                                   "upstream:\n"
                                   "  servers: [127.0.0.1:{}]\n"
                                   "  health_check: {{ path: /healthz, interval: 200ms, timeout: 300ms }}\n"
                                   "log: {{ level: warn }}\n"
                                   "{}",
                                   slow.port(), adminSection(admin_port)));
  auto ready = [&](bool up) {
    auto response = adminRequest(admin_port, "GET", "/readyz");
    return response && response->body.find(fmt::format("\"up\":{}", up)) != std::string::npos;
  };
  CHECK(waitUntil([&] { return ready(false); }, 5s));
  // Down, and the only server: still tried rather than failing unasked.
  CHECK(httpGet(larder.port(), "/anyway")->status == 200);
}

}  // namespace
}  // namespace larder::test
