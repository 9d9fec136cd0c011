#include "net/resolver.h"

#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace larder::net {
namespace {

// Owned by libuv from uv_getaddrinfo until onResolved.
struct GetAddrInfo {
  uv_getaddrinfo_t req{};
  uint16_t port = 0;
  std::weak_ptr<Resolver::Lookup> lookup;
};

std::vector<SocketAddress> collect(const addrinfo* result, uint16_t port) {
  std::vector<SocketAddress> addresses;
  for (const addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    SocketAddress address;
    std::memcpy(&address.storage, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof(address.storage)));
    if (ai->ai_family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&address.storage)->sin_port = htons(port);
    else
      reinterpret_cast<sockaddr_in6*>(&address.storage)->sin6_port = htons(port);
    bool seen = std::any_of(addresses.begin(), addresses.end(), [&](const SocketAddress& other) {
      return other.family() == address.family() && other.ip() == address.ip();
    });
    if (!seen) addresses.push_back(address);
  }
  return addresses;
}

void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* result) {
  std::unique_ptr<GetAddrInfo> operation(static_cast<GetAddrInfo*>(req->data));
  std::vector<SocketAddress> addresses = status == 0 ? collect(result, operation->port) : std::vector<SocketAddress>{};
  if (result != nullptr) uv_freeaddrinfo(result);
  if (status == 0 && addresses.empty()) status = UV_EAI_NONAME;
  Resolver::complete(operation->lookup, status, std::move(addresses));
}

}  // namespace

void Resolver::complete(const std::weak_ptr<Lookup>& lookup, int status, std::vector<SocketAddress> addresses) {
  std::shared_ptr<Lookup> alive = lookup.lock();
  if (!alive || alive->done) return;  // detached
  alive->done = true;
  alive->cancel = nullptr;
  Callback callback = std::move(alive->callback);
  alive->callback = nullptr;
  callback(status, std::move(addresses));
}

void Resolver::Resolution::detach() {
  if (!lookup_) return;
  if (!lookup_->done && lookup_->cancel) lookup_->cancel();
  lookup_.reset();  // the implementation holds only a weak reference
}

Resolution SystemResolver::resolve(Loop& loop, const std::string& host, uint16_t port, Callback callback) {
  auto lookup = std::make_shared<Lookup>();
  lookup->callback = std::move(callback);
  auto operation = std::make_unique<GetAddrInfo>();
  operation->port = port;
  operation->lookup = lookup;
  operation->req.data = operation.get();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (uv_getaddrinfo(loop.raw(), &operation->req, &onResolved, host.c_str(), nullptr, &hints) != 0)
    return Resolution();  // not started: the record is still ours, freed here
  // Not yet picked up by the thread pool: cancelled, and onResolved still
  // runs (UV_EAI_CANCELED) to free the record. Already running: it finishes.
  uv_getaddrinfo_t* req = &operation.release()->req;
  lookup->cancel = [req] { uv_cancel(reinterpret_cast<uv_req_t*>(req)); };
  return Resolution(std::move(lookup));
}

SystemResolver& SystemResolver::instance() {
  static SystemResolver resolver;
  return resolver;
}

}  // namespace larder::net
