#include "config/route_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <unordered_map>

#include "config/namespace_index.h"

namespace larder::config {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr std::array<std::string_view, 7> kMethodBits{"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};

unsigned listedMask(const Route& route) {
  unsigned mask = 0;
  for (const std::string& method : route.methods) {
    auto found = std::find(kMethodBits.begin(), kMethodBits.end(), method);
    if (found != kMethodBits.end()) mask |= 1u << (found - kMethodBits.begin());
  }
  return mask;
}

// The methods a route answers: a GET route serves HEAD too (Route::matchesMethod).
unsigned effectiveMask(const Route& route) {
  unsigned mask = listedMask(route);
  if ((mask & 1u) != 0) mask |= 2u;
  return mask;
}

std::string methodNames(unsigned mask) {
  std::string out;
  for (size_t i = 0; i < kMethodBits.size(); ++i) {
    if ((mask & (1u << i)) == 0) continue;
    if (!out.empty()) out += '|';
    out += kMethodBits[i];
  }
  return out;
}

// For one key, the earliest route with each distinct method set: at most
// 127 sets, so a key shared by many routes costs no more than that.
struct Earliest {
  unsigned mask;
  size_t route;
};
using Seen = std::unordered_map<std::string, std::vector<Earliest>>;

void remember(std::vector<Earliest>& list, unsigned mask, size_t route) {
  for (const Earliest& earlier : list)
    if (earlier.mask == mask) return;
  list.push_back({mask, route});
}

std::string routeName(const std::vector<size_t>& indexes, size_t i) {
  return "routes[" + std::to_string(indexes[i]) + "]";
}

// Same path text, and no method the earlier route lacks: an error, as it
// always was.
std::vector<bool> checkUnreachable(NodeReader& reader, const YAML::Node& node,
                                   const std::vector<Route>& routes,
                                   const std::vector<size_t>& indexes) {
  std::vector<bool> unreachable(routes.size(), false);
  Seen seen;
  seen.reserve(routes.size());
  for (size_t later = 0; later < routes.size(); ++later) {
    const Route& route = routes[later];
    std::vector<Earliest>& list = seen[route.pattern.text()];
    const unsigned listed = listedMask(route);
    size_t first = kNone;
    for (const Earliest& earlier : list)
      if ((listed & ~earlier.mask) == 0) first = std::min(first, earlier.route);
    if (first != kNone) {
      unreachable[later] = true;
      reader.error(node[indexes[later]], routeName(indexes, later) + ".match",
                   "unreachable: " + routeName(indexes, first) + " (line " +
                       std::to_string(routes[first].line) + ") matches the same requests first");
    }
    remember(list, effectiveMask(route), later);
  }
  return unreachable;
}

unsigned flagsOf(const Route& route) {
  return (route.pattern.matching().case_insensitive ? 2u : 0u) |
         (route.pattern.matching().ignore_trailing_slash ? 1u : 0u);
}

// Routes A (earlier) and B overlap when their shapes agree with case folded
// if either folds case, and one trailing slash stripped if either ignores
// it. Each route is filed under every (fold, strip) a later route may ask
// for, keyed by its own flags, and looks up the earlier routes of each of
// the four flag combinations: 4 insertions and 4 lookups per route.
std::string overlapKey(unsigned earlier_flags, bool fold, bool strip, const std::string& shape) {
  std::string key;
  key.reserve(shape.size() + 2);
  key += static_cast<char>('0' + earlier_flags);
  key += static_cast<char>('0' + (fold ? 2 : 0) + (strip ? 1 : 0));
  key += shape;
  return key;
}

std::string overlapReason(const Route& a, const Route& b) {
  const bool fold = a.pattern.matching().case_insensitive || b.pattern.matching().case_insensitive;
  const bool strip =
      a.pattern.matching().ignore_trailing_slash || b.pattern.matching().ignore_trailing_slash;
  std::vector<std::string> reasons;
  if (a.pattern.shape(false, strip) != b.pattern.shape(false, strip))
    reasons.push_back("letter case is ignored (case: insensitive)");
  if (a.pattern.shape(fold, false) != b.pattern.shape(fold, false))
    reasons.push_back("one trailing slash is ignored (trailing_slash: ignore)");
  if (reasons.empty()) return "their paths are the same pattern";
  std::string out = reasons[0];
  if (reasons.size() > 1) out += " and " + reasons[1];
  return out;
}

void checkOverlaps(NodeReader& reader, const YAML::Node& node, const std::vector<Route>& routes,
                   const std::vector<size_t>& indexes, const std::vector<bool>& unreachable) {
  Seen seen;
  seen.reserve(routes.size() * 2);
  for (size_t later = 0; later < routes.size(); ++later) {
    const Route& route = routes[later];
    const unsigned flags = flagsOf(route);
    const bool own_fold = (flags & 2u) != 0;
    const bool own_strip = (flags & 1u) != 0;
    std::array<std::string, 4> shapes;  // by (fold, strip), computed on demand
    auto shape = [&](bool fold, bool strip) -> const std::string& {
      std::string& s = shapes[(fold ? 2 : 0) + (strip ? 1 : 0)];
      if (s.empty()) s = route.pattern.shape(fold, strip);
      return s;
    };
    const unsigned methods = effectiveMask(route);
    size_t first = kNone;
    unsigned shared = 0;
    for (unsigned earlier_flags = 0; earlier_flags < 4; ++earlier_flags) {
      const bool fold = own_fold || (earlier_flags & 2u) != 0;
      const bool strip = own_strip || (earlier_flags & 1u) != 0;
      auto found = seen.find(overlapKey(earlier_flags, fold, strip, shape(fold, strip)));
      if (found == seen.end()) continue;
      for (const Earliest& earlier : found->second) {
        if ((earlier.mask & methods) == 0) continue;
        first = std::min(first, earlier.route);
        shared |= earlier.mask & methods;
      }
    }
    if (first != kNone && !unreachable[later]) {
      const Route& winner = routes[first];
      std::string message = fmt::format(
          "overlaps {} (line {}, \"{}\"): both match the same requests because {}; {} comes first "
          "and wins for {}",
          routeName(indexes, first), winner.line, winner.match_text, overlapReason(winner, route),
          routeName(indexes, first), methodNames(shared & effectiveMask(winner) & methods));
      if ((listedMask(route) & ~shared) == 0) message += ", so this route never matches";
      reader.warning(node[indexes[later]], routeName(indexes, later) + ".match", message);
    }
    for (bool fold : {own_fold, true}) {
      for (bool strip : {own_strip, true}) {
        remember(seen[overlapKey(flags, fold, strip, shape(fold, strip))], methods, later);
        if (strip == own_strip && own_strip) break;
      }
      if (fold == own_fold && own_fold) break;
    }
  }
}

void checkInvalidatedNamespaces(NodeReader& reader, const YAML::Node& node,
                                const std::vector<Route>& routes,
                                const std::vector<size_t>& indexes) {
  const NamespaceIndex index(routes);
  for (size_t i = 0; i < routes.size(); ++i) {
    const Route& route = routes[i];
    for (size_t k = 0; k < route.invalidates.size(); ++k) {
      const Template& name = route.invalidates[k];
      if (index.mayOverlap(name)) continue;
      const YAML::Node item = node[indexes[i]]["invalidates"][k];
      reader.warning(item.IsDefined() ? item : node[indexes[i]],
                     routeName(indexes, i) + ".invalidates[" + std::to_string(k) + "]",
                     fmt::format("\"{}\" is not a namespace of any read route (their namespaces:), "
                                 "so it invalidates nothing; a typo? (sk:NAME names a "
                                 "Surrogate-Key name)",
                                 name.text()));
    }
  }
}

// Route names are label values and log fields: two routes with one name
// would merge their series. A hash lookup per route.
void checkNames(NodeReader& reader, const YAML::Node& node, const std::vector<Route>& routes,
                const std::vector<size_t>& indexes) {
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    auto [found, inserted] = seen.emplace(routes[i].name, i);
    if (inserted) continue;
    const YAML::Node item = node[indexes[i]]["name"];
    reader.error(item.IsDefined() ? item : node[indexes[i]], routeName(indexes, i) + ".name",
                 fmt::format("route name \"{}\" is already used by {} (line {}); names must be unique "
                             "(set name: on one of them)",
                             routes[i].name, routeName(indexes, found->second), routes[found->second].line));
  }
}

}  // namespace

void checkRoutes(NodeReader& reader, const YAML::Node& node, const std::vector<Route>& routes,
                 const std::vector<size_t>& indexes) {
  const std::vector<bool> unreachable = checkUnreachable(reader, node, routes, indexes);
  checkOverlaps(reader, node, routes, indexes, unreachable);
  checkInvalidatedNamespaces(reader, node, routes, indexes);
  checkNames(reader, node, routes, indexes);
}

}  // namespace larder::config
