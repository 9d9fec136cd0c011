// A loopback listener for the pool tests: accepts and counts connections,
// and keeps them open, so connects succeed and passive health sees no
// failure the test did not make.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "net/loop.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace larder::upstream {

class Listener : public net::TcpStream::Handler {
 public:
  Listener(net::Loop& loop, const char* ip, uint16_t port) : loop_(loop), listener_(loop) {
    net::SocketAddress address;
    REQUIRE(net::makeSocketAddress(ip, port, address));
    REQUIRE(listener_.listen(address, false, 64, [this] {
      auto stream = std::make_unique<net::TcpStream>(loop_, *this);
      if (stream->accept(listener_.stream()) == 0) ++accepted;
      streams_.push_back(std::move(stream));
    }).empty());
  }
  size_t accepted = 0;

 private:
  void onStreamRead(std::string_view) override {}
  void onStreamEnd(int) override {}
  void onStreamWritten(int) override {}
  void onStreamClosed() override {}
  net::Loop& loop_;
  net::TcpListener listener_;
  std::vector<std::unique_ptr<net::TcpStream>> streams_;
};

}  // namespace larder::upstream
