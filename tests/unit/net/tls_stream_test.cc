// TlsContext and TlsStream on a real loop, against peers that do not speak
// TLS (a plain HTTP server, one that closes at once, one that stays silent).
// The successful paths run against real TLS servers in
// tests/integration/upstream_tls_test.cc.
#include "net/tls_stream.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/tcp_listener.h"

namespace larder::net {
namespace {


// Records what a stream's owner is told.
struct Recorder : TcpStream::Handler {
  std::string read;
  std::vector<int> ends;
  bool closed = false;
  std::function<void()> on_end;
  void onStreamRead(std::string_view data) override { read += data; }
  void onStreamEnd(int status) override {
    ends.push_back(status);
    if (on_end) on_end();
  }
  void onStreamWritten(int) override {}
  void onStreamClosed() override { closed = true; }
};

// A loopback server whose accepted connections do what `mode` says.
class Peer : public TcpStream::Handler {
 public:
  enum class Mode { kHttp, kClose, kSilent };
  Peer(Loop& loop, Mode mode) : loop_(loop), listener_(loop), mode_(mode) {
    SocketAddress any;
    REQUIRE(makeSocketAddress("127.0.0.1", 0, any));
    REQUIRE(listener_.listen(any, false, 16, [this] { onConnection(); }).empty());
    SocketAddress bound;
    int length = sizeof(bound.storage);
    REQUIRE(uv_tcp_getsockname(reinterpret_cast<uv_tcp_t*>(listener_.stream()),
                               reinterpret_cast<sockaddr*>(&bound.storage), &length) == 0);
    address_ = bound;
  }
  ~Peer() override {
    listener_.close();
    if (stream_ && !stream_->isClosing()) stream_->close();
  }
  const SocketAddress& address() const { return address_; }
  std::function<void()> on_bytes;  // the first bytes of the client arrived
  void close() {
    listener_.close();
    if (stream_ && !stream_->isClosing()) stream_->close();
  }

 private:
  void onConnection() {
    stream_ = std::make_unique<TcpStream>(loop_, *this);
    REQUIRE(stream_->accept(listener_.stream()) == 0);
    if (mode_ == Mode::kClose) return stream_->close();
    stream_->startReading();
  }
  void onStreamRead(std::string_view) override {
    if (on_bytes) on_bytes();
    // A plain HTTP server reading a ClientHello: a 400, then the close.
    if (mode_ == Mode::kHttp && !stream_->isClosing()) {
      stream_->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      stream_->close();
    }
  }
  void onStreamEnd(int) override { stream_->close(); }
  void onStreamWritten(int) override {}
  void onStreamClosed() override {}

  Loop& loop_;
  TcpListener listener_;
  Mode mode_;
  SocketAddress address_;
  std::unique_ptr<TcpStream> stream_;
};

std::shared_ptr<TlsContext> context(bool verify = true) {
  auto created = TlsContext::create({verify, ""});
  REQUIRE(created.ok());
  return *created;
}

TEST_CASE("TlsContext: extra CA certificates must parse; verify: false needs none") {
  CHECK(TlsContext::create({true, ""}).ok());
  CHECK(TlsContext::create({false, ""}).ok());
  auto bad = TlsContext::create({true, "not a certificate"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("no PEM certificate") != std::string::npos);
}

TEST_CASE("a peer that answers the ClientHello in plain HTTP fails the handshake with OpenSSL's reason") {
  Loop loop;
  Peer peer(loop, Peer::Mode::kHttp);
  Recorder recorder;
  TlsStream stream(loop, recorder);
  REQUIRE(stream.useTls(context(), {"origin.example", "origin.example@test"}));
  std::optional<int> status;
  REQUIRE(stream.connect(peer.address(), [&](int s) {
    status = s;
    stream.close();
    peer.close();
  }) == 0);
  loop.run();
  REQUIRE(status.has_value());
  CHECK(*status == TlsStream::kHandshakeFailed);
  CHECK_FALSE(stream.tlsError().empty());
  CHECK(stream.tlsError().find("certificate") == std::string::npos);  // not a verify failure
  CHECK(recorder.read.empty());  // the 400 never reaches the owner as plaintext
  CHECK(recorder.closed);
}

TEST_CASE("a peer that closes during the handshake: a handshake failure saying so") {
  Loop loop;
  Peer peer(loop, Peer::Mode::kClose);
  Recorder recorder;
  TlsStream stream(loop, recorder);
  REQUIRE(stream.useTls(context(false), {"127.0.0.1", "k"}));
  std::optional<int> status;
  REQUIRE(stream.connect(peer.address(), [&](int s) {
    status = s;
    stream.close();
    peer.close();
  }) == 0);
  loop.run();
  REQUIRE(status.has_value());
  CHECK(*status == TlsStream::kHandshakeFailed);
  CHECK(stream.tlsError() == "the server closed the connection during the handshake");
}

TEST_CASE("a TlsStream closed mid-handshake never calls back, and the loop drains") {
  Loop loop;
  Peer peer(loop, Peer::Mode::kSilent);
  Recorder recorder;
  auto stream = std::make_unique<TlsStream>(loop, recorder);
  REQUIRE(stream->useTls(context(), {"origin.example", "k"}));
  std::vector<int> calls;
  REQUIRE(stream->connect(peer.address(), [&](int status) { calls.push_back(status); }) == 0);
  // The ClientHello has arrived, and waits for an answer that never comes:
  // close then, as a connect timeout would.
  peer.on_bytes = [&] {
    if (stream->isClosing()) return;
    stream->close();
    peer.close();
  };
  loop.run();
  CAPTURE(stream->tlsError());
  CHECK(calls.empty());
  CHECK(recorder.closed);
}

TEST_CASE("without useTls() bytes pass through unchanged") {
  Loop loop;
  Peer peer(loop, Peer::Mode::kHttp);
  Recorder recorder;
  TlsStream stream(loop, recorder);
  CHECK_FALSE(stream.isTls());
  REQUIRE(stream.connect(peer.address(), [&](int s) {
    REQUIRE(s == 0);
    stream.startReading();
    CHECK(stream.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  }) == 0);
  recorder.on_end = [&] {
    stream.close();
    peer.close();
  };
  loop.run();
  CHECK(recorder.ends == std::vector<int>{UV_EOF});
  CHECK(recorder.read.starts_with("HTTP/1.1 400 Bad Request"));
}

}  // namespace
}  // namespace larder::net
