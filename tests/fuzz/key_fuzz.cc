// libFuzzer target for cache key derivation (STYLE T6): principal extraction
// (header, cookie, JWT claim with its base64url and JSON scanning) and
// buildIdentity over arbitrary headers and request-targets. Nothing may
// crash, and equal inputs must give equal keys.
// Input: NUL-separated pieces: target, host, then header name/value pairs.
// Seeds: tests/fuzz/corpus/key/.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cache/key.h"
#include "cache/policy.h"

namespace {

using larder::config::PrincipalSource;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto pieces = split(input);
  const std::string_view raw_target = pieces[0];
  const std::string_view host = pieces.size() > 1 ? pieces[1] : std::string_view();
  larder::http::HeaderMap headers;
  for (size_t i = 2; i + 1 < pieces.size(); i += 2) headers.add(std::string(pieces[i]), std::string(pieces[i + 1]));

  // Every principal source, over the same headers; the JWT scanner also sees
  // the raw input as a token of its own.
  const PrincipalSource sources[] = {
      {PrincipalSource::Kind::kHeader, "X-User", ""},
      {PrincipalSource::Kind::kCookie, "sid", ""},
      {PrincipalSource::Kind::kJwtClaim, "", "sub"},
      {PrincipalSource::Kind::kJwtClaim, "X-Token", "name"},
  };
  larder::http::HeaderMap raw_token;
  raw_token.add("X-Token", std::string(input));
  std::string principal;
  for (const auto& source : sources) {
    if (auto found = larder::cache::extractPrincipal(source, headers)) {
      if (found->empty()) std::abort();  // an empty principal would be shared
      principal = *found;
    }
    (void)larder::cache::extractPrincipal(source, raw_token);
  }

  larder::config::Route route;
  route.methods = {"GET"};
  route.ttl = std::chrono::seconds(60);
  route.vary = {"accept-encoding", "x-user"};
  route.query.mode = larder::config::QueryPolicy::Mode::kIgnore;
  route.query.patterns = {"utm_*"};
  route.per_user = sources[0];

  const auto target = larder::http::parseTarget(raw_target);
  if (!target) return 0;
  const auto identity = larder::cache::buildIdentity("HEAD", host, *target, route, headers, principal);
  const auto again = larder::cache::buildIdentity("GET", host, *target, route, headers, principal);
  if (!(identity == again)) std::abort();
  if (larder::cache::entryKey("v1", identity) != larder::cache::entryKey("v1", again)) std::abort();
  (void)larder::cache::uriNamespace(host, target->path);
  (void)larder::cache::classifyRequest("GET", headers, route, !principal.empty());
  (void)larder::cache::decideStore(route, "GET", headers, 200, headers, std::nullopt,
                                   larder::config::CacheConfig{},
                                   std::chrono::system_clock::time_point());
  return 0;
}
