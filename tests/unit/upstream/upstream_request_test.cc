// An UpstreamRequest destroyed mid-flight (issue 12: destroy-mid-flight for
// every asynchronous object): while the answer is awaited, mid-body, and
// from inside its own callbacks (upstream_request.h allows each callback to
// destroy it). Nothing reaches the handler afterwards, and the connection,
// which carried half an exchange, is closed rather than reused. Under ASan
// (CI) a use after free here fails the run.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "free_port.h"
#include "net/loop.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "unit/loop_runner.h"
#include "upstream/pool.h"
#include "upstream/upstream_request.h"

namespace larder::upstream {
namespace {

using namespace std::chrono_literals;
using larder::test::runFor;
using larder::test::runUntil;

// Accepts connections and answers every read with `answer` (possibly an
// incomplete response), keeping the connection open.
class ScriptedServer : public net::TcpStream::Handler {
 public:
  ScriptedServer(net::Loop& loop, uint16_t port, std::string answer)
      : loop_(loop), listener_(loop), answer_(std::move(answer)) {
    net::SocketAddress address;
    REQUIRE(net::makeSocketAddress("127.0.0.1", port, address));
    REQUIRE(listener_.listen(address, false, 16, [this] {
      auto stream = std::make_unique<net::TcpStream>(loop_, *this);
      if (stream->accept(listener_.stream()) != 0) return;
      ++accepted;
      stream->startReading();
      streams_.push_back(std::move(stream));
    }).empty());
  }
  size_t accepted = 0;
  size_t requests = 0;

 private:
  void onStreamRead(std::string_view) override {
    ++requests;
    if (!answer_.empty()) streams_.back()->write(answer_);
  }
  void onStreamEnd(int) override {}
  void onStreamWritten(int) override {}
  void onStreamClosed() override {}

  net::Loop& loop_;
  net::TcpListener listener_;
  std::string answer_;
  std::vector<std::unique_ptr<net::TcpStream>> streams_;
};

// Records what reaches it; may run an action on the head or the first body.
struct RecordingHandler : ResponseHandler {
  void onUpstreamHead(http::ResponseHead&) override {
    calls.push_back("head");
    if (on_head) on_head();
  }
  void onUpstreamBody(std::string_view data) override {
    calls.push_back("body " + std::to_string(data.size()));
    if (on_body) on_body();
  }
  void onUpstreamComplete() override { calls.push_back("complete"); }
  void onUpstreamError(UpstreamError) override { calls.push_back("error"); }

  std::vector<std::string> calls;
  std::function<void()> on_head;
  std::function<void()> on_body;
};

config::UpstreamConfig oneServer(uint16_t port) {
  config::UpstreamConfig config;
  config.servers = {config::Address{config::Address::Kind::kTcp, "127.0.0.1", port, ""}};
  return config;
}

OutgoingRequest get() {
  OutgoingRequest request;
  request.method = "GET";
  request.head = "GET /a HTTP/1.1\r\nHost: test\r\n\r\n";
  request.retryable = true;
  return request;
}

constexpr std::string_view kHeadAndPart =
    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";

}  // namespace

TEST_CASE("an upstream request destroyed while its answer is awaited: no callback, its connection closed") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  ScriptedServer server(loop, port, "");  // reads the request, never answers
  Pool pool(loop, oneServer(port));
  RecordingHandler handler;
  auto request = pool.start(get(), handler);
  REQUIRE(runUntil(loop, [&] { return server.requests == 1; }));
  request.reset();
  runFor(loop, 100ms);
  CHECK(handler.calls.empty());
  CHECK(pool.openConnections() == 0);  // half an exchange: never reused
}

TEST_CASE("an upstream request destroyed mid-body: nothing more reaches the handler, its connection closed") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  ScriptedServer server(loop, port, std::string(kHeadAndPart));
  Pool pool(loop, oneServer(port));
  RecordingHandler handler;
  auto request = pool.start(get(), handler);
  REQUIRE(runUntil(loop, [&] { return handler.calls.size() == 2; }));
  CHECK(handler.calls == std::vector<std::string>{"head", "body 10"});
  request.reset();
  runFor(loop, 100ms);
  CHECK(handler.calls.size() == 2);
  CHECK(pool.openConnections() == 0);
}

TEST_CASE("an upstream request may be destroyed from inside its head and body callbacks") {
  for (bool in_head : {true, false}) {
    CAPTURE(in_head);
    net::Loop loop;
    const uint16_t port = freeLoopbackPort();
    ScriptedServer server(loop, port, std::string(kHeadAndPart));
    Pool pool(loop, oneServer(port));
    RecordingHandler handler;
    std::unique_ptr<UpstreamRequest> request;
    (in_head ? handler.on_head : handler.on_body) = [&] { request.reset(); };
    request = pool.start(get(), handler);
    REQUIRE(runUntil(loop, [&] { return request == nullptr; }));
    runFor(loop, 100ms);
    CHECK(handler.calls == (in_head ? std::vector<std::string>{"head"}
                                    : std::vector<std::string>{"head", "body 10"}));
    CHECK(pool.openConnections() == 0);
  }
}

TEST_CASE("a pool destroyed under a request mid-answer (a worker's teardown): the request is destroyed after it safely") {
  net::Loop loop;
  const uint16_t port = freeLoopbackPort();
  ScriptedServer server(loop, port, std::string(kHeadAndPart));
  auto pool = std::make_unique<Pool>(loop, oneServer(port));
  RecordingHandler handler;
  auto request = pool->start(get(), handler);
  REQUIRE(runUntil(loop, [&] { return handler.calls.size() == 2; }));
  pool.reset();  // its connections go with it, one of them mid-answer
  runFor(loop, 100ms);
  CHECK(handler.calls == std::vector<std::string>{"head", "body 10"});
  request.reset();  // used to detach from the destroyed connection (ASan: use after free)
  runFor(loop, 100ms);
  CHECK(handler.calls.size() == 2);
}

}  // namespace larder::upstream
