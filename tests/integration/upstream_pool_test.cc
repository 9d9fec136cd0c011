// Which pooled connection a request takes, seen from a scripted upstream
// that records the connection of each request (upstream/keep_alive.h):
// an announced Keep-Alive timeout retires a connection early; a request that
// cannot be resent only reuses a connection idle for a moment; an idempotent
// request whose body was read whole is resent once, body and all, when a
// reused connection closes before answering, and a POST is not.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness/admin_fixture.h"
#include "harness/fake_upstream.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// idle_timeout far above the gaps, so only the rules under test decide.
struct PoolFixture {
  PoolFixture()
      : admin_port(freePort()),
        larder(fmt::format("workers: 1\n"
                           "upstream:\n"
                           "  servers: [127.0.0.1:{}]\n"
                           "  idle_timeout: 60s\n"
                           "log: {{ level: warn }}\n"
                           "{}",
                           upstream.port(), adminSection(admin_port))) {}

  std::vector<size_t> connectionOfEach() const {
    std::vector<size_t> out;
    for (const auto& request : upstream.requests()) out.push_back(request.connection_index);
    return out;
  }
  double retries() { return scrape(admin_port).value("larder_upstream_retries_total"); }

  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

int statusOf(const std::optional<HttpResponse>& response) { return response ? response->status : 0; }

TEST_CASE("Keep-Alive: timeout=2 retires the connection after 1 s; without it the connection is reused") {
  PoolFixture pool;
  pool.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target.starts_with("/hinted")) response.headers = {{"Keep-Alive", "timeout=2, max=100"}};
    return response;
  });
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/plain/1")) == 200);
  std::this_thread::sleep_for(1300ms);
  CHECK(statusOf(client.get("/hinted/1")) == 200);  // reused: nothing announced
  std::this_thread::sleep_for(1300ms);
  CHECK(statusOf(client.get("/hinted/2")) == 200);  // retired 1 s after /hinted/1
  CHECK(pool.connectionOfEach() == std::vector<size_t>{0, 0, 1});
  CHECK(pool.retries() == 0);
}

TEST_CASE("Keep-Alive: timeout=0 means the connection is not reused") {
  PoolFixture pool;
  pool.upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Keep-Alive", "timeout=0"}};
    return response;
  });
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/a")) == 200);
  CHECK(statusOf(client.get("/b")) == 200);
  CHECK(pool.connectionOfEach() == std::vector<size_t>{0, 1});
}

TEST_CASE("a POST takes a new connection after 400 ms idle, a GET reuses it; right after use both reuse") {
  PoolFixture pool;
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/a")) == 200);
  std::this_thread::sleep_for(400ms);
  CHECK(statusOf(client.get("/b")) == 200);                      // connection 0, idle 400 ms
  std::this_thread::sleep_for(400ms);
  CHECK(statusOf(client.request("POST", "/c", {}, "x=1")) == 200);  // new: connection 1
  CHECK(statusOf(client.request("PATCH", "/d", {}, "x=2")) == 200);  // connection 1, just used
  CHECK(statusOf(client.request("POST", "/e", {}, "x=3")) == 200);
  CHECK(pool.connectionOfEach() == std::vector<size_t>{0, 0, 1, 1, 1});
}

// The second request on connection 0 is read, then the connection is
// closed without an answer: the server's keep-alive close racing it.
FakeResponse closeSecondOnFirstConnection(const RecordedRequest& request) {
  FakeResponse response;
  if (request.connection_index == 0 && request.index_on_connection == 1) {
    response.raw = "";
    return response;
  }
  response.body = request.method + " " + request.target + " " + request.body;
  return response;
}

TEST_CASE("a PUT with a body, on a reused connection closed before answering, is resent once with its body") {
  PoolFixture pool;
  pool.upstream.setHandler(closeSecondOnFirstConnection);
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/warm")) == 200);
  auto put = client.request("PUT", "/items/7", {{"Content-Type", "application/json"}}, R"({"name":"new"})");
  REQUIRE(put);
  CHECK(put->status == 200);
  CHECK(put->body == R"(PUT /items/7 {"name":"new"})");
  auto requests = pool.upstream.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].body == requests[2].body);
  CHECK(pool.connectionOfEach() == std::vector<size_t>{0, 0, 1});
  CHECK(pool.retries() == 1);
}

TEST_CASE("a POST on a reused connection closed before answering is not resent: 502") {
  PoolFixture pool;
  pool.upstream.setHandler(closeSecondOnFirstConnection);
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/warm")) == 200);
  CHECK(statusOf(client.request("POST", "/items", {}, "{}")) == 502);
  CHECK(pool.upstream.requestCount() == 2);
  CHECK(pool.retries() == 0);
}

TEST_CASE("a GET whose resend also fails is answered 502, after one resend only") {
  PoolFixture pool;
  pool.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.index_on_connection > 0 || request.connection_index > 0) response.raw = "";
    return response;
  });
  HttpClient client(pool.larder.port());
  CHECK(statusOf(client.get("/warm")) == 200);
  CHECK(statusOf(client.get("/gone")) == 502);
  CHECK(pool.upstream.requestCount() == 3);
  CHECK(pool.retries() == 1);
}

}  // namespace
}  // namespace larder::test
