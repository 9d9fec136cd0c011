// A loopback TCP port that no other test process can be handed at the same
// time, for tests that must name a port before something listens on it.
//
// Binding port 0 and closing is not enough under `ctest -j`: the kernel hands
// the same port to the next process that binds port 0 (another test's
// upstream), and the test then talks to the wrong server. So ports come from
// below the kernel's ephemeral range, which bind(0) never uses, and each is
// reserved across processes with an flock held until this process exits.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace larder::test {

namespace reserved_port_detail {

inline uint16_t ephemeralLow() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned low = 32768;
  range >> low;
  return static_cast<uint16_t>(low);
}

inline bool bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace reserved_port_detail

// Free a moment ago and reserved for this process from now on; nothing
// listens on it, which also makes it a "server down" address.
inline uint16_t reservePort() {
  namespace detail = reserved_port_detail;
  static std::mutex mutex;
  static std::vector<int> held_locks;  // released by the kernel at exit
  std::lock_guard lock(mutex);

  const uint16_t high = detail::ephemeralLow();
  const uint16_t low = high > 12000 ? 10000 : 1024;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "larder-test-ports";
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  std::filesystem::permissions(dir, std::filesystem::perms::all, ignored);

  std::mt19937 random(std::random_device{}());
  const unsigned span = high - low;
  const unsigned start = random() % span;
  for (unsigned i = 0; i < span; ++i) {
    const auto port = static_cast<uint16_t>(low + (start + i) % span);
    const std::string path = (dir / std::to_string(port)).string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !detail::bindable(port)) {
      ::close(fd);
      continue;
    }
    held_locks.push_back(fd);
    return port;
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace larder::test
