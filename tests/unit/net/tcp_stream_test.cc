// TcpStream's writes on a real loopback connection: whatever the socket
// takes at once, and whatever must wait, arrives whole and in order. The
// writer moves only the unsent pieces into its queued request (issue 13),
// so short strings, which live inside their std::string, must be sent from
// where they were moved to. A shared write sends bytes another owner keeps
// from where they are, and keeps them alive until libuv is done with them.
#include "net/tcp_stream.h"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loopback_acceptor.h"

namespace larder::net {
namespace {

// Collects everything the accepted connection reads, until the writer closes.
class Sink : public TcpStream::Handler {
 public:
  explicit Sink(Loop& loop)
      : acceptor_(loop, *this, [this](TcpStream& stream) {
          if (reading_) stream.startReading();
        }) {}
  const SocketAddress& address() const { return acceptor_.address(); }
  // Reading starts only when asked: until then the writer's socket fills.
  void startReading() {
    reading_ = true;
    if (acceptor_.stream() != nullptr) acceptor_.stream()->startReading();
  }
  std::string read;
  bool ended = false;

 private:
  void onStreamRead(std::string_view data) override { read += data; }
  void onStreamEnd(int) override {
    ended = true;
    acceptor_.close();
  }
  void onStreamWritten(int) override {}
  void onStreamClosed() override {}

  bool reading_ = false;
  LoopbackAcceptor acceptor_;
};

struct Writer : TcpStream::Handler {
  std::vector<int> written;
  std::function<void()> on_written;
  void onStreamRead(std::string_view) override {}
  void onStreamEnd(int) override {}
  void onStreamWritten(int status) override {
    written.push_back(status);
    if (on_written) on_written();
  }
  void onStreamClosed() override {}
};

std::string pattern(size_t size, char seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (seed + i * 7) % 26);
  return out;
}

TEST_CASE("writes queued behind a full socket arrive whole and in order, short pieces too") {
  Loop loop;
  Sink sink(loop);
  Writer handler;
  TcpStream stream(loop, handler);
  stream.writeDirectly(true);
  // More than loopback socket buffers hold, so that what follows is queued.
  const std::string big = pattern(16 * 1024 * 1024, 1);
  std::string expected;
  REQUIRE(stream.connect(sink.address(), [&](int status) {
    REQUIRE(status == 0);
    REQUIRE(stream.write(big));
    const size_t waiting = stream.writeQueueBytes();
    CHECK(waiting > 0);  // the rest of it waits
    // Each of these is queued whole: short strings (kept inside their
    // std::string) and empty ones among them.
    REQUIRE(stream.write(std::string("head"), std::string("body")));
    REQUIRE(stream.write(std::string(), std::string("only-second")));
    REQUIRE(stream.write(std::vector<std::string>{"a", "", "bc", pattern(100, 2), "d"}));
    REQUIRE(stream.write(std::string("tail")));
    expected = big + "head" + "body" + "only-second" + "a" + "bc" + pattern(100, 2) + "d" + "tail";
    CHECK(stream.writeQueueBytes() == waiting + expected.size() - big.size());  // none left at once
    sink.startReading();
  }) == 0);
  handler.on_written = [&] {
    if (stream.writeQueueBytes() == 0 && !stream.isClosing()) stream.close();
  };
  loop.run();
  REQUIRE(sink.read.size() == expected.size());
  CHECK(sink.read == expected);
  CHECK(sink.ended);
}

TEST_CASE("a write the socket takes in part: the rest, from inside a piece, follows in order") {
  Loop loop;
  Sink sink(loop);
  Writer handler;
  TcpStream stream(loop, handler);
  stream.writeDirectly(true);
  // A short head and a body larger than the socket takes at once: the
  // direct write stops inside the body.
  const std::string body = pattern(16 * 1024 * 1024, 3);
  REQUIRE(stream.connect(sink.address(), [&](int status) {
    REQUIRE(status == 0);
    REQUIRE(stream.write(std::string("HTTP/1.1 200 OK\r\n\r\n"), std::string(body)));
    CHECK(stream.writeQueueBytes() > 0);
    CHECK(stream.writeQueueBytes() < body.size());  // some of it left at once
    sink.startReading();
  }) == 0);
  handler.on_written = [&] {
    if (stream.writeQueueBytes() == 0 && !stream.isClosing()) stream.close();
  };
  loop.run();
  const std::string expected = "HTTP/1.1 200 OK\r\n\r\n" + body;
  REQUIRE(sink.read.size() == expected.size());
  CHECK(sink.read == expected);
  CHECK(handler.written == std::vector<int>{0});
}

TEST_CASE("a write that leaves whole queues nothing and calls back nothing") {
  Loop loop;
  Sink sink(loop);
  sink.startReading();
  Writer handler;
  TcpStream stream(loop, handler);
  stream.writeDirectly(true);
  REQUIRE(stream.connect(sink.address(), [&](int status) {
    REQUIRE(status == 0);
    REQUIRE(stream.write(std::string("head "), std::string("and body")));
    CHECK(stream.writeQueueBytes() == 0);
    stream.close();
  }) == 0);
  loop.run();
  CHECK(sink.read == "head and body");
  CHECK(handler.written.empty());
}

TEST_CASE("a shared write sends head then the shared bytes, which stay alive until written") {
  // Queued whole, or (writing directly) sent in part at once with the rest
  // of the shared bytes queued from inside them.
  bool direct = false;
  SUBCASE("queued") { direct = false; }
  SUBCASE("written directly as far as the socket takes") { direct = true; }
  Loop loop;
  Sink sink(loop);
  Writer handler;
  TcpStream stream(loop, handler);
  stream.writeDirectly(direct);
  // More than loopback socket buffers hold: libuv keeps some of it.
  auto body = std::make_shared<const std::string>(pattern(16 * 1024 * 1024, 3));
  std::weak_ptr<const std::string> watch = body;
  const std::string_view middle = std::string_view(*body).substr(1, body->size() - 2);
  const std::string expected = "head:" + std::string(middle);
  REQUIRE(stream.connect(sink.address(), [&](int status) {
    REQUIRE(status == 0);
    REQUIRE(stream.write("head:", std::move(body), middle));
    CHECK(stream.writeQueueBytes() > 0);
    CHECK_FALSE(watch.expired());  // the queued request holds them
    sink.startReading();
  }) == 0);
  handler.on_written = [&] {
    if (stream.writeQueueBytes() == 0 && !stream.isClosing()) stream.close();
  };
  loop.run();
  REQUIRE(sink.read.size() == expected.size());
  CHECK(sink.read == expected);
  CHECK(handler.written == std::vector<int>{0});
  CHECK(watch.expired());  // released once libuv was done with them
}

}  // namespace
}  // namespace larder::net
