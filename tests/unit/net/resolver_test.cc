// SystemResolver on a real loop: uv_getaddrinfo through the thread pool.
#include "net/resolver.h"

#include <doctest/doctest.h>

#include <optional>
#include <vector>

namespace larder::net {
namespace {

TEST_CASE("localhost resolves asynchronously to a loopback address with the port asked for") {
  Loop loop;
  std::optional<int> status;
  std::vector<SocketAddress> addresses;
  Resolution resolution = SystemResolver::instance().resolve(
      loop, "localhost", 8123, [&](int s, std::vector<SocketAddress> found) {
        status = s;
        addresses = std::move(found);
      });
  CHECK(resolution.isPending());
  CHECK_FALSE(status.has_value());  // never from inside resolve()
  loop.run();
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK_FALSE(resolution.isPending());
  REQUIRE_FALSE(addresses.empty());
  bool loopback = false;
  for (const auto& address : addresses) {
    loopback = loopback || address.ip() == "127.0.0.1" || address.ip() == "::1";
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address.storage);
    CHECK(ntohs(in->sin_port) == 8123);  // sin6_port sits at the same offset
  }
  CHECK(loopback);
}

TEST_CASE("a Resolution destroyed mid-flight never calls back, and the loop drains") {
  Loop loop;
  int calls = 0;
  {
    Resolution resolution =
        SystemResolver::instance().resolve(loop, "localhost", 80, [&](int, std::vector<SocketAddress>) { ++calls; });
    CHECK(resolution.isPending());
  }
  loop.run();  // returns once libuv has freed the (cancelled or finished) lookup
  CHECK(calls == 0);
}

TEST_CASE("a moved Resolution still delivers once; assigning over a pending one detaches it") {
  Loop loop;
  int first = 0, second = 0;
  Resolution held;
  {
    Resolution moving =
        SystemResolver::instance().resolve(loop, "localhost", 80, [&](int, std::vector<SocketAddress>) { ++first; });
    held = std::move(moving);
  }
  CHECK(held.isPending());
  held = SystemResolver::instance().resolve(loop, "localhost", 80, [&](int, std::vector<SocketAddress>) { ++second; });
  loop.run();
  CHECK(first == 0);
  CHECK(second == 1);
}

}  // namespace
}  // namespace larder::net
