// LoopbackAcceptor: the far end of a stream test. It listens on 127.0.0.1
// (a port the kernel picks, kept bound for the test's life) and accepts one
// connection into a TcpStream driven by the test's handler, then stops
// listening. What the far end does and what the test checks stay in the
// handler and in `on_accepted`.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <utility>

#include "net/loop.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace larder::net {

class LoopbackAcceptor {
 public:
  // `on_accepted` runs once, with the accepted stream (not reading yet).
  LoopbackAcceptor(Loop& loop, TcpStream::Handler& handler, std::function<void(TcpStream&)> on_accepted)
      : loop_(loop), handler_(handler), listener_(loop), on_accepted_(std::move(on_accepted)) {
    SocketAddress any;
    REQUIRE(makeSocketAddress("127.0.0.1", 0, any));
    REQUIRE(listener_.listen(any, false, 16, [this] { onConnection(); }).empty());
    int length = sizeof(address_.storage);
    REQUIRE(uv_tcp_getsockname(reinterpret_cast<uv_tcp_t*>(listener_.stream()),
                               reinterpret_cast<sockaddr*>(&address_.storage), &length) == 0);
  }

  const SocketAddress& address() const { return address_; }
  // The accepted connection; null until then.
  TcpStream* stream() const { return stream_.get(); }
  // Stops listening and closes the accepted connection, if still open.
  void close() {
    listener_.close();
    if (stream_ && !stream_->isClosing()) stream_->close();
  }

 private:
  void onConnection() {
    stream_ = std::make_unique<TcpStream>(loop_, handler_);
    REQUIRE(stream_->accept(listener_.stream()) == 0);
    listener_.close();
    on_accepted_(*stream_);
  }

  Loop& loop_;
  TcpStream::Handler& handler_;
  TcpListener listener_;
  std::function<void(TcpStream&)> on_accepted_;
  SocketAddress address_;
  std::unique_ptr<TcpStream> stream_;
};

}  // namespace larder::net
