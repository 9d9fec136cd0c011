// Self-test of the integration harness, without larder: the fake upstream
// and the HTTP client against each other, Process, and a real redis-server.
#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/harness_error.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "harness/fake_upstream.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/pattern.h"
#include "harness/ports.h"
#include "harness/printing.h"
#include "harness/redis_server.h"
#include "harness/rss_sampler.h"
#include "harness/upstream_script.h"

namespace larder::test {
namespace {

TEST_CASE("freePort returns a port nothing listens on") {
  uint16_t port = freePort();
  CHECK(port != 0);
  CHECK_FALSE(acceptsConnections(port, 200ms));
}

TEST_CASE("temp dir holds files and is removed on destruction") {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.path();
    auto file = dir.writeFile("a.txt", "hello");
    CHECK(readFileText(file) == "hello");
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("pattern checksum does not depend on how the stream is split") {
  std::string data(100003, '\0');
  PatternSource whole;
  whole.fill(data.data(), data.size());
  std::string pieces(data.size(), '\0');
  PatternSource split;
  for (size_t at = 0, step = 1; at < pieces.size(); at += step, step = step * 3 % 1000 + 1) {
    split.fill(pieces.data() + at, std::min(step, pieces.size() - at));
  }
  CHECK(pieces == data);
  Checksum sum;
  for (size_t at = 0, step = 7; at < data.size(); at += step, step = step * 5 % 777 + 1) {
    sum.update(std::string_view(data).substr(at, step));
  }
  CHECK(sum.value() == checksumOf(data));
  CHECK(sum.value() == patternChecksum(data.size()));
  CHECK(patternChecksum(data.size()) != patternChecksum(data.size() - 1));
  std::string swapped = data;
  std::swap(swapped[10], swapped[20]);
  CHECK(checksumOf(swapped) != checksumOf(data));
}

TEST_CASE("process captures output, passes env, reports exit status") {
  Process process({"/bin/sh", "-c", "echo out; echo \"err $HARNESS_VAR\" >&2; exit 3"}, {{"HARNESS_VAR", "x1"}});
  CHECK(process.waitExit(5s) == 3);
  CHECK(process.stdoutText() == "out\n");
  CHECK(process.stderrText() == "err x1\n");
  CHECK_FALSE(process.isRunning());
  CHECK_FALSE(process.signal(SIGTERM));
}

TEST_CASE("process can be signalled and inspected while running") {
  Process process({"sleep", "30"});
  CHECK(process.isRunning());
  CHECK(process.waitExit(50ms) == std::nullopt);
  auto rss = process.residentBytes();
  REQUIRE(rss);
  CHECK(*rss > 0);
  auto fds = process.openFdCount();
  REQUIRE(fds);
  CHECK(*fds == 3);  // stdin, stdout, stderr: nothing leaked from the test
  CHECK(process.signal(SIGTERM));
  CHECK(process.waitExit(5s) == 128 + SIGTERM);
  CHECK_FALSE(process.residentBytes());
}

TEST_CASE("process that cannot be executed throws a clear error") {
  CHECK_THROWS_WITH_AS(Process({"/nonexistent/larder"}), doctest::Contains("/nonexistent/larder"), HarnessError);
}

TEST_CASE("fake upstream records a GET and the client reads the response") {
  FakeUpstream upstream;
  upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.status = 203;
    response.reason = "Non-Authoritative Information";
    response.headers = {{"X-Multi", "a"}, {"x-multi", "b"}, {"Content-Type", "text/plain"}};
    response.body = "body!";
    return response;
  });
  HttpClient client(upstream.port());
  auto response = client.get("/path?q=1", {{"X-Request-ID", "abc"}});
  REQUIRE(response);
  CHECK(response->status == 203);
  CHECK(response->reason == "Non-Authoritative Information");
  CHECK(response->version == "HTTP/1.1");
  CHECK(response->body == "body!");
  CHECK(response->header("content-length") == "5");
  CHECK(response->headerValues("X-MULTI") == std::vector<std::string>{"a", "b"});
  CHECK(response->raw.rfind("HTTP/1.1 203 Non-Authoritative Information\r\n", 0) == 0);
  CHECK(response->raw.size() > response->body.size());

  REQUIRE(upstream.requestCount() == 1);
  RecordedRequest request = upstream.requests()[0];
  CHECK(request.method == "GET");
  CHECK(request.target == "/path?q=1");
  CHECK(request.version == "HTTP/1.1");
  CHECK(request.header("x-request-id") == "abc");
  CHECK(request.headers[1].first == "X-Request-ID");  // original case kept
  CHECK(request.body.empty());
  CHECK(request.raw_head.find("GET /path?q=1 HTTP/1.1\r\n") == 0);
  CHECK(request.raw_head.substr(request.raw_head.size() - 4) == "\r\n\r\n");
}

TEST_CASE("fake upstream decodes Content-Length and chunked request bodies") {
  FakeUpstream upstream;
  upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    response.body = fmt::format("{}:{}", request.body_size, request.body);
    return response;
  });
  HttpClient client(upstream.port());
  std::string binary("a\0b\r\nc", 6);
  auto response = client.request("POST", "/post", {}, binary);
  REQUIRE(response);
  CHECK(response->body == "6:" + binary);

  client.send("PUT /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
  response = client.readResponse();
  REQUIRE(response);
  CHECK(response->body == "12:Hello, world");
  auto requests = upstream.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].body == binary);
  CHECK(requests[1].chunked);
  CHECK(requests[1].body == "Hello, world");
  CHECK(requests[1].body_checksum == checksumOf("Hello, world"));
}

TEST_CASE("client decodes a chunked response") {
  FakeUpstream upstream;
  upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.chunked = true;
    response.chunk_size = 3;
    response.body = "0123456789";
    return response;
  });
  auto response = httpGet(upstream.port(), "/");
  REQUIRE(response);
  CHECK(response->chunked);
  CHECK(response->body == "0123456789");
  CHECK(response->raw.find("3\r\n012\r\n") != std::string::npos);
  CHECK(upstream.bodyBytesSent() == 10);
}

TEST_CASE("keep-alive: sequential requests on one connection reach the upstream on one connection") {
  FakeUpstream upstream;
  upstream.setHandler(echoTarget);
  HttpClient client(upstream.port());
  for (int i = 0; i < 20; ++i) {
    auto response = client.get(fmt::format("/r{}", i));
    REQUIRE(response);
    CHECK(response->body == fmt::format("GET /r{}", i));
  }
  CHECK(upstream.connectionCount() == 1);
  auto requests = upstream.requests();
  REQUIRE(requests.size() == 20);
  CHECK(requests[19].connection_index == 0);
  CHECK(requests[19].index_on_connection == 19);
}

TEST_CASE("pipelined requests are answered in order") {
  FakeUpstream upstream;
  upstream.setHandler(echoTarget);
  HttpClient client(upstream.port());
  client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  for (std::string name : {"a", "b", "c"}) {
    auto response = client.readResponse();
    REQUIRE(response);
    CHECK(response->body == "GET /" + name);
  }
}

TEST_CASE("HEAD response has headers and no body") {
  FakeUpstream upstream;
  upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.body = "eleven char";
    return response;
  });
  HttpClient client(upstream.port());
  auto head = client.request("HEAD", "/h");
  REQUIRE(head);
  CHECK(head->header("Content-Length") == "11");
  CHECK(head->body.empty());
  auto get = client.get("/h");  // the connection is still in sync
  REQUIRE(get);
  CHECK(get->body == "eleven char");
}

TEST_CASE("interim 100 Continue is sent before the body is read") {
  FakeUpstream upstream;
  upstream.setInterim100(true);
  upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    response.body = request.body;
    return response;
  });
  HttpClient client(upstream.port());
  client.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  auto interim = client.readResponse(5s);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  CHECK(upstream.requestCount() == 0);
  client.send("hello");
  auto final_response = client.readResponse(5s);
  REQUIRE(final_response);
  CHECK(final_response->status == 200);
  CHECK(final_response->body == "hello");
}

TEST_CASE("close_after closes the connection and read-until-close bodies are read whole") {
  FakeUpstream upstream;
  upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target == "/raw") {
      response.raw = "HTTP/1.1 200 OK\r\nX-Raw: 1\r\n\r\nuntil close";
    } else {
      response.close_after = true;
      response.body = "bye";
    }
    return response;
  });
  HttpClient client(upstream.port());
  auto response = client.get("/close");
  REQUIRE(response);
  CHECK(response->header("Connection") == "close");
  CHECK(client.isClosedByPeer(2s));

  HttpClient raw(upstream.port());
  auto until_close = raw.get("/raw");
  REQUIRE(until_close);
  CHECK(until_close->header("X-Raw") == "1");
  CHECK(until_close->body == "until close");
}

TEST_CASE("an open connection is not reported as closed") {
  FakeUpstream upstream;
  HttpClient client(upstream.port());
  CHECK_FALSE(client.isClosedByPeer(200ms));
  CHECK(client.get("/"));
}

TEST_CASE("held response waits for its gate; waitForRequests is the barrier") {
  FakeUpstream upstream;
  auto gate = std::make_shared<Gate>();
  upstream.setHandler([gate](const RecordedRequest&) {
    FakeResponse response;
    response.hold = gate;
    response.body = "released";
    return response;
  });
  HttpClient client(upstream.port());
  client.send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(upstream.waitForRequests(1, 5s));
  CHECK_FALSE(client.readResponse(100ms));  // nothing yet
  gate->open();
  // Nothing had arrived, so the timed-out read left the connection in step.
  auto response = client.readResponse(5s);
  REQUIRE(response);
  CHECK(response->body == "released");
  CHECK_FALSE(upstream.waitForRequests(2, 50ms));
}

TEST_CASE("stop releases held responses and closes connections") {
  auto upstream = std::make_unique<FakeUpstream>();
  auto gate = std::make_shared<Gate>();  // never opened
  upstream->setHandler([gate](const RecordedRequest&) {
    FakeResponse response;
    response.hold = gate;
    return response;
  });
  HttpClient client(upstream->port());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(upstream->waitForRequests(1, 5s));
  auto start = Clock::now();
  upstream->stop();
  CHECK(Clock::now() - start < 2s);
  CHECK(client.isClosedByPeer(2s));
}

TEST_CASE("streamed pattern bodies arrive whole, by length and chunked") {
  const uint64_t size = 8 * 1024 * 1024 + 13;
  FakeUpstream upstream;
  upstream.setHandler([&](const RecordedRequest& request) {
    return streamingResponse(size, request.target == "/chunked");
  });
  for (std::string target : {"/length", "/chunked"}) {
    CAPTURE(target);
    HttpClient client(upstream.port());
    client.send(formatRequest("GET", target, {}, {}, "x"));
    auto response = client.readResponseDiscardingBody(30s);
    REQUIRE(response);
    CHECK(response->complete);
    CHECK(response->body_bytes == size);
    CHECK(response->body_checksum == patternChecksum(size));
  }
  CHECK(upstream.bodyBytesSent() == 2 * size);
}

TEST_CASE("pattern uploads are counted and hashed, recorded up to the limit") {
  const uint64_t size = 3 * 1024 * 1024 + 5;
  FakeUpstream upstream;
  upstream.setBodyRecordLimit(1024);
  HttpClient client(upstream.port());
  client.send("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(client.sendPatternBody(size, true, 10000));
  auto response = client.readResponse();
  REQUIRE(response);
  client.send(fmt::format("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", size));
  REQUIRE(client.sendPatternBody(size, false));
  REQUIRE(client.readResponse());
  auto requests = upstream.requests();
  REQUIRE(requests.size() == 2);
  for (const auto& request : requests) {
    CHECK(request.body_size == size);
    CHECK(request.body_checksum == patternChecksum(size));
    CHECK(request.body.size() == 1024);
    CHECK(request.body_truncated);
  }
}

TEST_CASE("slow reading paces the body and still reads it whole") {
  const uint64_t size = 1024 * 1024;
  FakeUpstream upstream;
  upstream.setHandler([&](const RecordedRequest&) { return streamingResponse(size); });
  HttpClient client(upstream.port());
  client.send(formatRequest("GET", "/", {}, {}, "x"));
  auto start = Clock::now();
  auto response = client.readResponseDiscardingBody(30s, ReadPacing{300ms, 1024, 10ms});
  REQUIRE(response);
  CHECK(Clock::now() - start >= 300ms);
  CHECK(response->body_bytes == size);
  CHECK(response->body_checksum == patternChecksum(size));
}

TEST_CASE("peak RSS sampler sees a process's memory") {
  Process process({"sleep", "30"});
  PeakRssSampler sampler(process.pid(), 5ms);
  CHECK(waitUntil([&] { return sampler.sampleCount() >= 3; }, 2s));
  uint64_t peak = sampler.stop();
  CHECK(peak > 0);
  CHECK(peak < 64 * 1024 * 1024);
  CHECK_FALSE(isSanitized(process.pid()));
}

TEST_CASE("larder config gets a listen port and admin off unless the fragment sets them") {
  LarderConfig generated = buildLarderConfig("workers: 1\n");
  CHECK(generated.port != 0);
  CHECK(generated.text.find(fmt::format("listen: 127.0.0.1:{}\n", generated.port)) == 0);
  CHECK(generated.text.find("admin: { listen: off }\n") != std::string::npos);
  CHECK(generated.text.find("workers: 1\n") != std::string::npos);

  LarderConfig given = buildLarderConfig("listen: 127.0.0.1:4567\nadmin:\n  listen: 127.0.0.1:4568\n");
  CHECK(given.port == 4567);
  CHECK(given.text == "listen: 127.0.0.1:4567\nadmin:\n  listen: 127.0.0.1:4568\n");

  std::string proxy = proxyConfig(1234, "limits: { max_header_size: 4KiB }\n", "500ms");
  CHECK(proxy.find("servers: [127.0.0.1:1234]") != std::string::npos);
  CHECK(proxy.find("response_timeout: 500ms") != std::string::npos);
  CHECK(proxy.find("limits: { max_header_size: 4KiB }") != std::string::npos);
}

TEST_CASE("larder process that exits at start fails with its stderr") {
  TempDir dir;
  auto script = dir.writeFile("fake-larder.sh", "#!/bin/sh\necho \"bad config: $2\" >&2\nexit 2\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  LarderOptions options;
  options.binary = script.string();
  CHECK_THROWS_WITH_AS(LarderProcess("workers: 1\n", options), doctest::Contains("bad config: /"), HarnessError);
}

TEST_CASE("sanitizer reports in a process's stderr are found, with their first line") {
  struct Row {
    const char* stderr_text;
    const char* first_line;  // "" = no report
  };
  const Row rows[] = {
      {"", ""},
      {"larder: listening on 127.0.0.1:8080\nruntime errors: 0\n", ""},
      {"x\n==12==ERROR: AddressSanitizer: heap-use-after-free on address\n#0 0x1\n",
       "==12==ERROR: AddressSanitizer: heap-use-after-free on address"},
      {"==7==ERROR: LeakSanitizer: detected memory leaks\n", "==7==ERROR: LeakSanitizer: detected memory leaks"},
      {"ok\nsrc/http/x.cc:3:5: runtime error: signed integer overflow\n",
       "src/http/x.cc:3:5: runtime error: signed integer overflow"},
      {"WARNING: ThreadSanitizer: data race (pid=5)\n", "WARNING: ThreadSanitizer: data race (pid=5)"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.stderr_text);
    std::string report = findSanitizerReport(row.stderr_text);
    CHECK(report.substr(0, report.find('\n')) == row.first_line);
  }
}

TEST_CASE("redis server answers every RESP reply type") {
  RedisServer redis;
  CHECK(redis.command({"PING"}).isStatus("PONG"));
  CHECK(redis.command({"SET", "k1", "v\r\n1", "PX", "60000"}).isStatus("OK"));
  RedisReply value = redis.command({"GET", "k1"});
  CHECK(value.type == RedisReply::Type::kBulk);
  CHECK(value.str == "v\r\n1");
  RedisReply ttl = redis.command({"PTTL", "k1"});
  CHECK(ttl.type == RedisReply::Type::kInteger);
  CHECK(ttl.integer > 0);
  CHECK(ttl.integer <= 60000);
  CHECK(redis.command({"GET", "missing"}).isNil());
  RedisReply mget = redis.command({"MGET", "k1", "missing"});
  REQUIRE(mget.type == RedisReply::Type::kArray);
  REQUIRE(mget.elements.size() == 2);
  CHECK(mget.elements[0].str == "v\r\n1");
  CHECK(mget.elements[1].isNil());
  CHECK(redis.command({"NOSUCHCOMMAND"}).isError());
  redis.command({"SET", "k2", ""});
  CHECK(redis.command({"GET", "k2"}).str.empty());
  auto keys = redis.keys("k*");
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"k1", "k2"});
  CHECK(redis.command({"CONFIG", "GET", "save"}).elements.at(1).str.empty());
}

TEST_CASE("without redis-server in PATH the harness fails with an explanation") {
  std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  CHECK_THROWS_WITH_AS(RedisServer(), doctest::Contains("redis-server is not installed"), HarnessError);
  ::setenv("PATH", saved_path.c_str(), 1);
}

TEST_CASE("redis server can be killed, restarted on the same port, paused and resumed") {
  RedisServer redis;
  uint16_t port = redis.port();
  redis.command({"SET", "k", "v"});
  redis.kill();
  CHECK_FALSE(redis.isRunning());
  CHECK_THROWS_AS(redis.command({"PING"}, 500ms), HarnessError);
  redis.restart();
  CHECK(redis.port() == port);
  CHECK(redis.command({"PING"}).isStatus("PONG"));
  CHECK(redis.command({"GET", "k"}).isNil());  // no persistence

  redis.pause();
  CHECK_THROWS_AS(redis.command({"PING"}, 300ms), HarnessError);
  redis.resume();
  CHECK(redis.command({"PING"}, 5s).isStatus("PONG"));
}

}  // namespace
}  // namespace larder::test
