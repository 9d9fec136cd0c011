// RedisEndpoint: where a Redis connection (RedisConnection, RedisSubscriber)
// connects next, found without blocking the worker's loop (issue 11, item 4).
//
// A unix socket path or a literal IP is used as given. A host name (a
// docker-compose or Kubernetes service name) is looked up with net::Resolver
// (uv_getaddrinfo on libuv's thread pool) and hiredis gets the literal IP:
// given a name, redisAsyncConnect would call getaddrinfo itself, on the
// loop, and a slow DNS server would stall every request of the worker.
//
// Every reconnect after a connection was up looks the name up again, so an
// address change needs no restart. A connect that fails moves on to the next
// address of the same answer; once they are all tried, the name is looked
// up again. With Sentinel, the master's host as Sentinel names it is
// treated the same way (Sentinel may announce host names).
//
// Waiting for a lookup is bounded by the connect timeout; past it, or when
// the name does not resolve, the owner stays disconnected (its commands fail at once
// and the cache bypasses Redis, DESIGN invariant 5) and retries with its
// backoff. Everything runs on the loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "net/loop.h"
#include "net/resolver.h"
#include "net/socket_address.h"
#include "net/timer.h"
#include "store/redis/redis_options.h"

namespace larder::store {

// What hiredis is given: a unix socket path, or a literal IP and a port.
struct RedisTarget {
  std::string unix_path;
  std::string ip;
  uint16_t port = 0;
};

class RedisEndpoint {
 public:
  // Empty `error`: target() is where to connect.
  using Ready = std::function<void(const std::string& error)>;

  RedisEndpoint(net::Loop& loop, const RedisOptions& options);
  RedisEndpoint(const RedisEndpoint&) = delete;
  RedisEndpoint& operator=(const RedisEndpoint&) = delete;

  // Finds the address of the next connect. `ready` runs once: at once
  // (inside this call) when no lookup is needed, otherwise later from the
  // loop, unless cancel() or the destructor comes first.
  void next(Ready ready);
  // The last connect to target() failed: the next call to next() tries the
  // following address of the same answer, if there is one.
  void connectFailed();
  // A connect failed and another address of the same answer is left: worth
  // trying at once rather than after a backoff.
  bool hasNextAddress() const { return fallback_ && next_index_ < addresses_.size(); }
  // Stops waiting and drops the lookup in flight, if any.
  void cancel();

  const RedisTarget& target() const { return target_; }
  // "host:port", "host:port (ip)" for a name, "path", or the Sentinel master.
  std::string describe() const;

 private:
  void onResolved(int status, std::vector<net::SocketAddress> addresses);
  void use(size_t index);

  net::Loop& loop_;
  const RedisOptions& options_;
  net::Resolver& resolver_;
  std::string host_;  // the name or IP being connected to
  uint16_t port_ = 0;
  RedisTarget target_;
  // The last answer for host_, and the next of its addresses to try after
  // a failed connect.
  std::vector<net::SocketAddress> addresses_;
  size_t next_index_ = 0;
  bool fallback_ = false;  // the last connect failed
  net::Resolution resolution_;
  Ready ready_;
  net::Timer timeout_;
};

// Whether `host` is a literal IPv4 or IPv6 address (needs no lookup).
bool isLiteralIp(const std::string& host);

}  // namespace larder::store
