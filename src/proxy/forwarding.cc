#include "proxy/forwarding.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "http/header_map.h"
#include "http/hop_by_hop.h"

namespace larder::proxy {
namespace {

// Request fields that frameworks and proxies read as the request's host,
// scheme, port, path or method, but that are not part of a cache key: a
// client that sets one could make the upstream answer differently and have
// that answer stored under everyone's key (web cache poisoning through
// unkeyed inputs). They are dropped unless the route names the field in
// `vary`, which puts its value in the key (DESIGN invariants 6 and 10).
// X-Forwarded-For/-Host/-Proto are rewritten below instead.
constexpr std::array<std::string_view, 13> kUnkeyedOverrides = {
    "Forwarded",          "X-Forwarded-Port",       "X-Forwarded-Prefix", "X-Forwarded-Scheme",
    "X-Forwarded-Server", "X-Forwarded-Ssl",        "X-Host",             "X-Original-Host",
    "X-Original-URL",     "X-Rewrite-URL",          "X-HTTP-Method-Override",
    "X-HTTP-Method",      "X-Method-Override",
};

bool isKeyed(std::string_view field, const config::Route* route) {
  if (route == nullptr) return false;
  return std::any_of(route->vary.begin(), route->vary.end(),
                     [&](const std::string& name) { return http::equalsIgnoreCase(name, field); });
}

}  // namespace

void rewriteForUpstream(http::HeaderMap& headers, int version_minor, std::string_view client_ip,
                        const config::Config& config, const config::Route* route) {
  http::removeHopByHop(headers);
  headers.remove("Expect");  // larder answers 100-continue itself
  for (std::string_view field : kUnkeyedOverrides) {
    if (!isKeyed(field, route)) headers.remove(field);
  }
  if (const std::string* forwarded_for = headers.find("X-Forwarded-For")) {
    headers.set("X-Forwarded-For", fmt::format("{}, {}", *forwarded_for, client_ip));
  } else {
    headers.add("X-Forwarded-For", std::string(client_ip));
  }
  // Overwritten, never trusted from the client: a shared entry must not be
  // poisoned by a client-chosen host or scheme.
  headers.set("X-Forwarded-Proto", "http");
  if (const std::string* host = headers.find("Host")) {
    headers.set("X-Forwarded-Host", *host);
  } else {
    headers.remove("X-Forwarded-Host");
  }
  std::string via = fmt::format("1.{} larder", version_minor);
  if (const std::string* existing = headers.find("Via")) via = fmt::format("{}, {}", *existing, via);
  headers.set("Via", std::move(via));
  if (config.upstream.host) headers.set("Host", *config.upstream.host);
}

}  // namespace larder::proxy
