// Process lifecycle: graceful shutdown on SIGTERM (stop accepting, drain
// in-flight requests, exit 0) and the command line (--check-config,
// --version, --help).
#include <signal.h>

#include <regex>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/pattern.h"
#include "harness/ports.h"
#include "harness/proxy_fixture.h"
#include "harness/redis_server.h"

namespace larder::test {
namespace {

constexpr uint64_t kHeldBodySize = 256 * 1024;

// The upstream holds /slow behind the returned gate and then sends a body
// big enough to span many writes.
std::shared_ptr<Gate> holdSlowRequests(FakeUpstream& upstream) {
  auto gate = std::make_shared<Gate>();
  upstream.setHandler([gate](const RecordedRequest& request) {
    FakeResponse response = streamingResponse(kHeldBodySize);
    if (request.target == "/slow") response.hold = gate;
    return response;
  });
  return gate;
}

std::string regexEscape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

TEST_CASE("SIGTERM while a request is in flight: the client still gets the full response and larder exits 0") {
  ProxyFixture proxy("timeouts: { drain: 10s }\n");
  auto gate = holdSlowRequests(proxy.upstream);
  HttpClient client = proxy.client();
  REQUIRE(client.send(formatRequest("GET", "/slow", {}, {}, "x")));
  REQUIRE(proxy.upstream.waitForRequests(1, 5s));  // in flight now

  REQUIRE(proxy.larder.terminate());
  // larder has taken the signal once it stops accepting; only then let the
  // upstream answer.
  REQUIRE(waitUntil([&] { return !acceptsConnections(proxy.larder.port(), 200ms); }, 5s));
  gate->open();

  auto response = client.readResponseDiscardingBody(10s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->complete);
  CHECK(response->body_bytes == kHeldBodySize);
  CHECK(response->body_checksum == patternChecksum(kHeldBodySize));
  CHECK(proxy.larder.waitExit(10s) == 0);
}

TEST_CASE("after SIGTERM new connections are refused while in-flight requests drain") {
  ProxyFixture proxy("timeouts: { drain: 10s }\n");
  auto gate = holdSlowRequests(proxy.upstream);
  HttpClient client = proxy.client();
  REQUIRE(client.send(formatRequest("GET", "/slow", {}, {}, "x")));
  REQUIRE(proxy.upstream.waitForRequests(1, 5s));

  REQUIRE(proxy.larder.terminate());
  CHECK(waitUntil([&] { return !acceptsConnections(proxy.larder.port(), 200ms); }, 5s));
  CHECK(proxy.larder.isRunning());  // refused because it drains, not because it died
  CHECK(proxy.upstream.requestCount() == 1);

  gate->open();
  auto response = client.readResponseDiscardingBody(10s);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(proxy.larder.waitExit(10s) == 0);
}

TEST_CASE("SIGTERM with only idle keep-alive connections: they are closed and larder exits 0 at once") {
  ProxyFixture proxy;  // default drain timeout (30s): an idle connection must not wait for it
  HttpClient client = proxy.client();
  auto response = client.get("/warm-up");
  REQUIRE(response);
  CHECK(response->status == 200);

  auto start = Clock::now();
  REQUIRE(proxy.larder.terminate());
  CHECK(client.isClosedByPeer(5s));
  CHECK(proxy.larder.waitExit(5s) == 0);
  CHECK(Clock::now() - start < 5s);
}

TEST_CASE("SIGTERM with a Redis store: its connections do not keep larder alive") {
  FakeUpstream upstream;
  RedisServer redis;
  LarderProcess larder(proxyConfig(upstream.port(),
                                   fmt::format("store: {{ redis: {{ url: \"{}\" }} }}\n", redis.url())));
  HttpClient client(larder.port());
  REQUIRE(client.get("/warm-up"));
  auto start = Clock::now();
  REQUIRE(larder.terminate());
  CHECK(larder.waitExit(5s) == 0);
  CHECK(Clock::now() - start < 5s);
}

TEST_CASE("SIGTERM with a request stuck past the drain timeout: larder exits anyway") {
  ProxyFixture proxy("timeouts: { drain: 1s }\n");
  auto gate = holdSlowRequests(proxy.upstream);  // never opened
  HttpClient client = proxy.client();
  REQUIRE(client.send(formatRequest("GET", "/slow", {}, {}, "x")));
  REQUIRE(proxy.upstream.waitForRequests(1, 5s));

  auto start = Clock::now();
  REQUIRE(proxy.larder.terminate());
  auto status = proxy.larder.waitExit(6s);
  REQUIRE(status);
  CHECK(*status == 0);
  CHECK(Clock::now() - start >= 900ms);
  CHECK(client.isClosedByPeer(2s));
}

TEST_CASE("--check-config with a valid file prints ok and exits 0") {
  TempDir dir;
  auto file = dir.writeFile("larder.yaml", buildLarderConfig(proxyConfig(freePort())).text);
  CommandResult result = checkConfig(file);
  CAPTURE(result.output());
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find("ok") != std::string::npos);
}

TEST_CASE("--check-config with a broken file exits non-zero and points at FILE:LINE:COL") {
  TempDir dir;
  struct Broken {
    const char* name;
    std::string text;
    std::string line;  // expected line number, or "" for any
  };
  std::vector<Broken> cases = {
      {"YAML syntax error", "listen: 127.0.0.1:8080\nupstream:\n  servers: [127.0.0.1:8000\nlog: { level: info }\n", ""},
      {"invalid value", "listen: 127.0.0.1:8080\nworkers: banana\nupstream:\n  servers: [127.0.0.1:8000]\n", "2"},
      {"invalid duration", "listen: 127.0.0.1:8080\nupstream:\n  servers: [127.0.0.1:8000]\n  connect_timeout: soon\n",
       "4"},
  };
  for (const auto& broken : cases) {
    SUBCASE(broken.name) {
      auto file = dir.writeFile("broken.yaml", broken.text);
      CommandResult result = checkConfig(file);
      CAPTURE(result.output());
      REQUIRE(result.exit_code);
      CHECK(*result.exit_code != 0);
      std::string line = broken.line.empty() ? R"(\d+)" : broken.line;
      std::regex location(regexEscape(file.string()) + ":" + line + R"(:\d+: \S)");
      CHECK(std::regex_search(result.output(), location));
    }
  }
}

TEST_CASE("a missing config file is an error that names the file") {
  TempDir dir;
  std::string missing = (dir.path() / "nope.yaml").string();
  CommandResult result = runLarder({"-c", missing}, 5s);
  CAPTURE(result.output());
  REQUIRE(result.exit_code);
  CHECK(*result.exit_code != 0);
  CHECK(result.output().find(missing) != std::string::npos);
}

TEST_CASE("--version prints the version and exits 0") {
  CommandResult result = runLarder({"--version"});
  CAPTURE(result.output());
  CHECK(result.exit_code == 0);
  CHECK(std::regex_search(result.stdout_text, std::regex(R"(\d+\.\d+\.\d+)")));
}

TEST_CASE("--help describes -c and --check-config and exits 0") {
  CommandResult result = runLarder({"--help"});
  CAPTURE(result.output());
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text.find("-c") != std::string::npos);
  CHECK(result.stdout_text.find("--check-config") != std::string::npos);
}

}  // namespace
}  // namespace larder::test
