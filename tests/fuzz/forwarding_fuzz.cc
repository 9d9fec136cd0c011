// libFuzzer target for DESIGN invariant 11 (keyed = forwarded): for
// arbitrary requests, proxy::deriveForwardedRequest either refuses, or
// yields a forwarded request whose target, Host and keyed fields are exactly
// those its cache key is computed from:
//  - the forwarded target is origin-form and re-parses to the keyed path
//    and (on read routes) the keyed query;
//  - the forwarded Host is the keyed host, once;
//  - the key computed from the forwarded request as the upstream receives
//    it (its request line and fields) equals the key larder computed;
//  - no hop-by-hop or stripped field is forwarded unless the route keys it;
//  - deriving again from the forwarded request changes neither the target,
//    the host nor the key (a fixed point).
// Input: byte 0 picks the method and route, then NUL-separated pieces:
// target, Host, then header name/value pairs. Seeds: corpus/forwarding/.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/key.h"
#include "http/hop_by_hop.h"
#include "proxy/forwarding.h"

namespace {

using namespace larder;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string_view> split(std::string_view in) {
  std::vector<std::string_view> pieces;
  while (true) {
    const size_t nul = in.find('\0');
    pieces.push_back(in.substr(0, nul));
    if (nul == std::string_view::npos) break;
    in.remove_prefix(nul + 1);
  }
  return pieces;
}

std::vector<config::Route> makeRoutes() {
  std::vector<config::Route> routes(3);
  for (auto& route : routes) {
    route.methods = {"GET"};
    route.ttl = std::chrono::seconds(60);
  }
  routes[0].vary = {"accept-language", "x-real-ip", "x_tenant"};
  routes[1].query.mode = config::QueryPolicy::Mode::kKeepOnly;
  routes[1].query.patterns = {"page", "sort*"};
  routes[1].per_user = config::PrincipalSource{config::PrincipalSource::Kind::kCookie, "sid", ""};
  routes[2].query.mode = config::QueryPolicy::Mode::kIgnore;
  routes[2].query.patterns = {"utm_*"};
  routes[2].vary = {"accept-encoding"};
  return routes;
}

cache::RequestIdentity keyOf(std::string_view method, std::string_view host, const http::Target& target,
                             const config::Route* route, const http::HeaderMap& headers) {
  if (route == nullptr) return {};
  std::string principal;
  if (route->per_user) principal = cache::extractPrincipal(*route->per_user, headers).value_or("");
  return cache::buildIdentity(method, host, target, *route, headers, principal);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::vector<config::Route> routes = makeRoutes();
  static const config::Config config = [] {
    config::Config c;
    c.request_headers.strip = {"x-debug"};
    c.request_headers.forward = {"x-cluster-client-ip"};
    return c;
  }();
  const uint8_t selector = data[0];
  const std::string_view method = (selector & 1) ? "HEAD" : (selector & 2) ? "POST" : "GET";
  const config::Route* route = (selector >> 2) % 4 == 3 ? nullptr : &routes[(selector >> 2) % 4];
  if (method == "POST") route = nullptr;  // read routes match GET and HEAD only

  const auto pieces = split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  http::HeaderMap headers;
  if (pieces.size() > 1 && (selector & 0x40) == 0) headers.add("Host", std::string(pieces[1]));
  for (size_t i = 2; i + 1 < pieces.size(); i += 2) headers.add(std::string(pieces[i]), std::string(pieces[i + 1]));

  const auto target = http::parseTarget(pieces[0]);
  if (!target) return 0;
  auto forwarded = proxy::deriveForwardedRequest(method, *target, headers, 1, "192.0.2.1", config, route);
  if (!forwarded) return 0;
  const proxy::ForwardedRequest& out = *forwarded;

  // The target as the upstream reads it is the keyed one.
  const auto reparsed = http::parseTarget(out.target);
  require(reparsed.has_value());
  require(reparsed->authority.empty());
  require(reparsed->path == out.parsed.path);
  require(reparsed->query == out.parsed.query);
  require(reparsed->has_query == out.parsed.has_query);
  require(out.target.front() == '/');

  // One Host, the keyed one.
  const auto hosts = out.headers.findAll("Host");
  require(hosts.size() == 1);
  require(hosts.front() == out.host);
  require(cache::normalizeHost(out.host) == out.host);

  // Nothing hop-by-hop, nothing stripped unless keyed.
  for (const http::Header& field : out.headers) {
    require(!http::isHopByHop(field.name));
    require(!config.request_headers.strips(field.name) || proxy::routeKeys(route, field.name));
  }

  // The key larder computes equals the key of the request as the upstream
  // receives it.
  const auto keyed = keyOf(method, out.host, out.parsed, route, out.headers);
  const auto as_received = keyOf(method, hosts.front(), *reparsed, route, out.headers);
  require(keyed == as_received);
  if (route != nullptr) {
    require(keyed.host == out.host);
    require(keyed.path == out.parsed.path);
    require(keyed.query == out.parsed.query);  // read routes forward exactly the keyed query
    require(out.keyed_query);
  }

  // A fixed point: the forwarded request, derived again, is itself.
  auto again = proxy::deriveForwardedRequest(method, *reparsed, out.headers, 1, "192.0.2.1", config, route);
  require(again.ok());
  require(again->target == out.target);
  require(again->host == out.host);
  require(keyOf(method, again->host, again->parsed, route, again->headers) == keyed);
  return 0;
}
