// upstream.servers with weight and backup (issue 11, item 3), against two
// fake upstreams that count what they answer: weights 3:1 share 40 requests
// about 3:1; a backup gets nothing while its primary is up, and everything
// once the primary is gone (the first request after the kill included: its
// refused connect goes on to the backup).
#include <chrono>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/fake_upstream.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

void answerOk(FakeUpstream& upstream, const std::string& name) {
  upstream.setHandler([name](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = name;
    return response;
  });
}

std::string serversConfig(const std::string& servers) {
  // One worker: the weighted turn is per worker, so the shares are exact.
  return fmt::format("workers: 1\n"
                     "upstream:\n"
                     "  servers: {}\n"
                     "  connect_timeout: 500ms\n"
                     "  passive_health: {{ failures: 1, cooldown: 30s }}\n"
                     "log: {{ level: warn }}\n",
                     servers);
}

TEST_CASE("weights 3:1: 40 requests are shared about 3:1") {
  FakeUpstream heavy;
  FakeUpstream light;
  answerOk(heavy, "heavy");
  answerOk(light, "light");
  LarderProcess larder(serversConfig(fmt::format("[{{url: 127.0.0.1:{}, weight: 3}}, 127.0.0.1:{}]",
                                                 heavy.port(), light.port())));
  HttpClient client(larder.port());
  for (int i = 0; i < 40; ++i) {
    auto response = client.get(fmt::format("/items/{}", i));
    REQUIRE(response.has_value());
    CHECK(response->status == 200);
  }
  MESSAGE("heavy ", heavy.requestCount(), ", light ", light.requestCount());
  CHECK(heavy.requestCount() + light.requestCount() == 40);
  CHECK(heavy.requestCount() >= 28);
  CHECK(heavy.requestCount() <= 32);
}

TEST_CASE("a backup serves only once its primary is gone") {
  FakeUpstream primary;
  FakeUpstream backup;
  answerOk(primary, "primary");
  answerOk(backup, "backup");
  LarderProcess larder(serversConfig(fmt::format("[127.0.0.1:{}, {{url: 127.0.0.1:{}, backup: true}}]",
                                                 primary.port(), backup.port())));
  HttpClient client(larder.port());
  for (int i = 0; i < 20; ++i) {
    auto response = client.get(fmt::format("/items/{}", i));
    REQUIRE(response.has_value());
    CHECK(response->body == "primary");
  }
  CHECK(primary.requestCount() == 20);
  CHECK(backup.requestCount() == 0);

  primary.stop();  // connects to it are refused from now on
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    auto response = client.get(fmt::format("/after/{}", i));
    REQUIRE(response.has_value());
    CHECK(response->status == 200);
    CHECK(response->body == "backup");
  }
  CHECK(backup.requestCount() == 20);
}

}  // namespace
}  // namespace larder::test
