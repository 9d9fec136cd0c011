// Numeric socket addresses. net knows nothing of config: callers pass a
// literal host (IPv4 or IPv6) and a port.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace larder::net {

struct SocketAddress {
  sockaddr_storage storage{};
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  socklen_t length() const;
  // "1.2.3.4" or "::1"; empty when unknown.
  std::string ip() const;
};

// False when `host` is not a literal IPv4/IPv6 address ("localhost" maps to
// 127.0.0.1 for convenience).
bool makeSocketAddress(std::string_view host, uint16_t port, SocketAddress& out);

}  // namespace larder::net
