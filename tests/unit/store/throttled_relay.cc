#include "throttled_relay.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace larder::store::test {

namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  int client = -1;  // the store's side
  int server = -1;  // redis-server's side
  std::string to_client;  // reply bytes not passed on yet
  std::string to_server;
  Clock::time_point next_chunk{};
};

int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads what is there; false on end of file or error.
bool drain(int fd, std::string& into) {
  char buffer[65536];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  if (n > 0) into.append(buffer, static_cast<size_t>(n));
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
}

size_t push(int fd, std::string& from, size_t limit) {
  if (from.empty() || limit == 0) return 0;
  const ssize_t n = ::send(fd, from.data(), std::min(limit, from.size()), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0) return 0;
  from.erase(0, static_cast<size_t>(n));
  return static_cast<size_t>(n);
}

}  // namespace

ThrottledRelay::ThrottledRelay(uint16_t target_port) : target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener_ >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(listener_, 64) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

ThrottledRelay::~ThrottledRelay() {
  stop_ = true;
  thread_.join();
  ::close(listener_);
}

void ThrottledRelay::run() {
  std::vector<Pair> pairs;
  while (!stop_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (const Pair& pair : pairs) {
      fds.push_back({pair.client, POLLIN, 0});
      fds.push_back({pair.server, POLLIN, 0});
    }
    // A short poll: throttled bytes are released on the clock.
    ::poll(fds.data(), fds.size(), 2);
    if ((fds[0].revents & POLLIN) != 0) {
      int client = ::accept(listener_, nullptr, nullptr);
      int server = client >= 0 ? connectTo(target_port_) : -1;
      if (server >= 0) {
        pairs.push_back(Pair{client, server, {}, {}, Clock::now()});
      } else if (client >= 0) {
        ::close(client);
      }
    }
    const auto now = Clock::now();
    for (auto it = pairs.begin(); it != pairs.end();) {
      bool open = drain(it->client, it->to_server) && drain(it->server, it->to_client);
      push(it->server, it->to_server, it->to_server.size());
      if (!frozen_) {
        const size_t chunk = chunk_;
        if (chunk == 0) {
          relayed_ += push(it->client, it->to_client, it->to_client.size());
        } else if (now >= it->next_chunk && !it->to_client.empty()) {
          relayed_ += push(it->client, it->to_client, chunk);
          it->next_chunk = now + std::chrono::milliseconds(interval_ms_.load());
        }
      }
      if (!open) {
        ::close(it->client);
        ::close(it->server);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Pair& pair : pairs) {
    ::close(pair.client);
    ::close(pair.server);
  }
}

}  // namespace larder::store::test
