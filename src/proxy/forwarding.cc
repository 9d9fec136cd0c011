#include "proxy/forwarding.h"

#include <fmt/format.h>

#include "http/hop_by_hop.h"

namespace larder::proxy {

void rewriteForUpstream(http::HeaderMap& headers, int version_minor, std::string_view client_ip,
                        const config::Config& config) {
  http::removeHopByHop(headers);
  headers.remove("Expect");  // larder answers 100-continue itself
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
