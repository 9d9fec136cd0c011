// Resolver: host names to addresses, asynchronously, on a loop.
//
// SystemResolver wraps uv_getaddrinfo (the system's resolver, run on libuv's
// thread pool, so /etc/hosts, DNS and nsswitch apply and the loop never
// blocks). The interface exists so that a test can answer for names itself.
//
// Lifetime (STYLE L4): resolve() returns a move-only Resolution, the
// Pending of the lookup. Destroying it detaches the lookup (and asks the
// implementation to cancel it): the callback never runs afterwards. A
// SystemResolver lookup's record is owned by libuv until its completion
// callback, which frees it (STYLE L2). Everything runs on the loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/loop.h"
#include "net/socket_address.h"

namespace larder::net {

class Resolver {
 public:
  // status 0 and the addresses (each with the port asked for), or a libuv
  // error (UV_EAI_NONAME...) and none.
  using Callback = std::function<void(int status, std::vector<SocketAddress> addresses)>;
  virtual ~Resolver() = default;

  // One lookup, shared by its Resolution and its implementation.
  struct Lookup {
    Callback callback;
    bool done = false;
    std::function<void()> cancel;  // set by the implementation, optional
  };
  // For implementations: delivers the outcome, unless the Resolution is gone.
  static void complete(const std::weak_ptr<Lookup>& lookup, int status, std::vector<SocketAddress> addresses);

  class Resolution {
   public:
    Resolution() = default;
    explicit Resolution(std::shared_ptr<Lookup> lookup) : lookup_(std::move(lookup)) {}
    ~Resolution() { detach(); }
    Resolution(Resolution&& other) noexcept = default;
    Resolution& operator=(Resolution&& other) noexcept {
      if (this != &other) {
        detach();
        lookup_ = std::move(other.lookup_);
      }
      return *this;
    }
    bool isPending() const { return lookup_ && !lookup_->done; }

   private:
    void detach();
    std::shared_ptr<Lookup> lookup_;
  };

  // Looks up `host`. The callback runs once, on the loop, never from inside
  // resolve(), unless the Resolution was destroyed first. If the lookup
  // cannot even start, the returned Resolution is not pending and the
  // callback never runs.
  virtual Resolution resolve(Loop& loop, const std::string& host, uint16_t port, Callback callback) = 0;
};

using Resolution = Resolver::Resolution;

class SystemResolver : public Resolver {
 public:
  // TCP addresses, IPv4 and IPv6, in the system's order, duplicates removed.
  Resolution resolve(Loop& loop, const std::string& host, uint16_t port, Callback callback) override;
  // The process-wide instance (it has no state).
  static SystemResolver& instance();
};

}  // namespace larder::net
