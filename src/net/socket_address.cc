#include "net/socket_address.h"

#include <uv.h>

namespace larder::net {

socklen_t SocketAddress::length() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string SocketAddress::ip() const {
  char text[64] = {0};
  if (family() == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage), text, sizeof(text));
  } else if (family() == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage), text, sizeof(text));
  }
  return text;
}

bool makeSocketAddress(std::string_view host, uint16_t port, SocketAddress& out) {
  std::string name(host == "localhost" ? "127.0.0.1" : host);
  out = SocketAddress{};
  if (uv_ip4_addr(name.c_str(), port, reinterpret_cast<sockaddr_in*>(&out.storage)) == 0) return true;
  out = SocketAddress{};
  return uv_ip6_addr(name.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out.storage)) == 0;
}

}  // namespace larder::net
