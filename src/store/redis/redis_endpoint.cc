#include "store/redis/redis_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fmt/format.h>
#include <uv.h>

#include <utility>

#include "store/redis/sentinel_watcher.h"

namespace larder::store {

namespace {

uint16_t portOf(const net::SocketAddress& address) {
  if (address.family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_port);
}

}  // namespace

bool isLiteralIp(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

RedisEndpoint::RedisEndpoint(net::Loop& loop, const RedisOptions& options)
    : loop_(loop),
      options_(options),
      resolver_(options.resolver != nullptr ? *options.resolver : net::SystemResolver::instance()),
      timeout_(loop) {}

void RedisEndpoint::next(Ready ready) {
  timeout_.stop();
  ready_ = nullptr;
  target_ = RedisTarget{};
  if (!options_.master && !options_.unix_path.empty()) {
    target_.unix_path = options_.unix_path;
    ready("");
    return;
  }
  std::string host = options_.host;
  uint16_t port = options_.port;
  if (options_.master) {
    const MasterAddress::Value master = options_.master->get();
    if (master.version == 0) {
      ready("no master known yet (Sentinel)");
      return;
    }
    host = master.host;
    port = master.port;
  }
  if (host != host_ || port != port_) {
    // Another name (Sentinel moved the master): the old answer is useless.
    addresses_.clear();
    resolution_ = {};
    host_ = std::move(host);
    port_ = port;
  }
  if (isLiteralIp(host_)) {
    target_.ip = host_;
    target_.port = port_;
    ready("");
    return;
  }
  // After a failed connect, the next address of the same answer; otherwise
  // (the connection was up, or every address failed) a fresh lookup.
  const bool fallback = std::exchange(fallback_, false);
  if (fallback && next_index_ < addresses_.size()) {
    use(next_index_);
    ready("");
    return;
  }
  addresses_.clear();
  // A lookup that outlived its timeout is still waited for rather than
  // doubled: a hung DNS server holds at most one thread of libuv's pool
  // per connection.
  if (!resolution_.isPending()) {
    resolution_ = resolver_.resolve(loop_, host_, port_, [this](int status, auto addresses) {
      onResolved(status, std::move(addresses));
    });
    if (!resolution_.isPending()) {
      ready(fmt::format("cannot look up {}", host_));
      return;
    }
  }
  ready_ = std::move(ready);
  timeout_.start(options_.connect_timeout, [this] {
    Ready failed = std::exchange(ready_, nullptr);
    if (failed)
      failed(fmt::format("no answer for {} within {}ms", host_, options_.connect_timeout.count()));
  });
}

void RedisEndpoint::onResolved(int status, std::vector<net::SocketAddress> addresses) {
  timeout_.stop();
  Ready ready = std::exchange(ready_, nullptr);
  if (status != 0 || addresses.empty()) {
    if (ready)
      ready(fmt::format("cannot resolve {}: {}", host_,
                        status != 0 ? uv_strerror(status) : "no address"));
    return;
  }
  addresses_ = std::move(addresses);
  if (!ready) {
    // Late (its owner gave up and waits for its backoff): the next connect
    // starts with this answer.
    next_index_ = 0;
    fallback_ = true;
    return;
  }
  use(0);
  ready("");
}

void RedisEndpoint::use(size_t index) {
  target_.ip = addresses_[index].ip();
  // The answer's port: the system resolver's is the one asked for; a test
  // resolver may move a server to another port.
  target_.port = portOf(addresses_[index]);
  next_index_ = index + 1;
}

void RedisEndpoint::connectFailed() { fallback_ = true; }

void RedisEndpoint::cancel() {
  timeout_.stop();
  resolution_ = {};
  ready_ = nullptr;
}

std::string RedisEndpoint::describe() const {
  if (!target_.unix_path.empty()) return target_.unix_path;
  const std::string host = host_.empty() ? options_.host : host_;
  const uint16_t port = host_.empty() ? options_.port : port_;
  const char* prefix = options_.master ? "master " : "";
  if (target_.ip.empty() || target_.ip == host) return fmt::format("{}{}:{}", prefix, host, port);
  return fmt::format("{}{}:{} ({})", prefix, host, port, target_.ip);
}

}  // namespace larder::store
