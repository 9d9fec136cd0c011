// parseTarget on arbitrary bytes: a normalized path is absolute, has no
// empty or dot segments, and normalizes to itself; canonical queries are
// fixed points of decodeQuery + canonicalQuery.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/target.h"

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder::http;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Canonical queries are fixed points, and decode to the same pairs
  // (modulo the stable sort by name).
  const std::string canonical = canonicalQuery(decodeQuery(input));
  require(canonicalQuery(decodeQuery(canonical)) == canonical);
  (void)parseQuery(input);

  const auto target = parseTarget(input);
  if (!target) return 0;
  const std::string& path = target->path;
  require(!path.empty() && path.front() == '/');
  require(path.find("//") == std::string::npos);
  require(path.find("/./") == std::string::npos && path.find("/../") == std::string::npos);
  require(!path.ends_with("/.") && !path.ends_with("/.."));

  const auto again = parseTarget(path);
  require(again.has_value());
  require(again->path == path);
  require(again->authority.empty());
  require(!again->has_query);
  return 0;
}
