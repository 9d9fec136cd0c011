#include "net/tcp_listener.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace larder::net {

TcpListener::TcpListener(Loop& loop) {
  uv_tcp_init(loop.raw(), handle_.get());
  handle_.markInitialized();
  handle_.get()->data = this;
}

std::string TcpListener::listen(const SocketAddress& address, bool reuse_port, int backlog,
                                std::function<void()> on_connection) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fmt::format("socket: {}", std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    std::string error = fmt::format("SO_REUSEPORT: {}", std::strerror(errno));
    ::close(fd);
    return error;
  }
  if (address.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, address.get(), address.length()) != 0) {
    std::string error = fmt::format("bind {}: {}", address.ip(), std::strerror(errno));
    ::close(fd);
    return error;
  }
  if (int rc = uv_tcp_open(handle_.get(), fd); rc != 0) {
    ::close(fd);
    return fmt::format("uv_tcp_open: {}", uv_strerror(rc));
  }
  on_connection_ = std::move(on_connection);
  int rc = uv_listen(handle_.stream(), backlog, [](uv_stream_t* server, int status) {
    auto* self = static_cast<TcpListener*>(server->data);
    if (self == nullptr || status != 0) return;
    self->on_connection_();
  });
  if (rc != 0) return fmt::format("listen: {}", uv_strerror(rc));
  listening_ = true;
  return "";
}

}  // namespace larder::net
