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

#include "loopback_acceptor.h"

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

// A loopback server whose accepted connection does what `mode` says.
class Peer : public TcpStream::Handler {
 public:
  enum class Mode { kHttp, kClose, kSilent };
  Peer(Loop& loop, Mode mode)
      : mode_(mode), acceptor_(loop, *this, [this](TcpStream& stream) {
          if (mode_ == Mode::kClose) return stream.close();
          stream.startReading();
        }) {}
  const SocketAddress& address() const { return acceptor_.address(); }
  std::function<void()> on_bytes;  // the first bytes of the client arrived
  void close() { acceptor_.close(); }

 private:
  void onStreamRead(std::string_view) override {
    if (on_bytes) on_bytes();
    // A plain HTTP server reading a ClientHello: a 400, then the close.
    TcpStream& stream = *acceptor_.stream();
    if (mode_ == Mode::kHttp && !stream.isClosing()) {
      stream.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      stream.close();
    }
  }
  void onStreamEnd(int) override { acceptor_.close(); }
  void onStreamWritten(int) override {}
  void onStreamClosed() override {}

  Mode mode_;
  LoopbackAcceptor acceptor_;
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
