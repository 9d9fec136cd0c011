// TcpStream's shared write (issue 13): bytes another owner keeps are sent
// from where they are, kept alive until libuv is done with them.
#include "net/tcp_stream.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "net/tcp_listener.h"

namespace larder::net {
namespace {

// One end of a loopback connection; records what it reads.
struct End : TcpStream::Handler {
  explicit End(Loop& loop) : stream(loop, *this) {}
  void onStreamRead(std::string_view data) override {
    read += data;
    if (on_read) on_read();
  }
  void onStreamEnd(int) override {
    ended = true;
    if (!stream.isClosing()) stream.close();
  }
  void onStreamWritten(int status) override {
    written.push_back(status);
    if (close_after_write && !stream.isClosing()) stream.close();
  }
  void onStreamClosed() override {}

  TcpStream stream;
  std::string read;
  std::vector<int> written;
  bool ended = false;
  bool close_after_write = false;  // closing at once would cancel the write
  std::function<void()> on_read;
};

TEST_CASE("a shared write sends head then the shared bytes, which stay alive until written") {
  Loop loop;
  TcpListener listener(loop);
  SocketAddress any;
  REQUIRE(makeSocketAddress("127.0.0.1", 0, any));
  End server(loop);
  End client(loop);
  // Large enough that the socket cannot take it at once: libuv holds it.
  auto body = std::make_shared<const std::string>(8 * 1024 * 1024, 'b');
  std::weak_ptr<const std::string> watch = body;
  const std::string_view middle = std::string_view(*body).substr(1, body->size() - 2);
  REQUIRE(listener
              .listen(any, false, 4,
                      [&] {
                        REQUIRE(server.stream.accept(listener.stream()) == 0);
                        CHECK(server.stream.write("head:", std::move(body), middle));
                        CHECK_FALSE(watch.expired());  // the write request holds it
                        server.close_after_write = true;
                      })
              .empty());
  SocketAddress bound;
  int length = sizeof(bound.storage);
  REQUIRE(uv_tcp_getsockname(reinterpret_cast<uv_tcp_t*>(listener.stream()),
                             reinterpret_cast<sockaddr*>(&bound.storage), &length) == 0);
  REQUIRE(client.stream.connect(bound, [&](int status) {
    REQUIRE(status == 0);
    client.stream.startReading();
  }) == 0);
  client.on_read = [&] {
    if (client.read.size() == 5 + middle.size()) listener.close();
  };
  loop.run();
  CHECK(client.ended);
  CHECK(server.written == std::vector<int>{0});
  REQUIRE(client.read.size() == 5 + 8 * 1024 * 1024 - 2);
  CHECK(client.read.starts_with("head:bbb"));
  CHECK(client.read.find_first_not_of('b', 5) == std::string::npos);
  CHECK(watch.expired());  // released once libuv was done
}

}  // namespace
}  // namespace larder::net
