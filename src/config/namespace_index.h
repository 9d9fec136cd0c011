// NamespaceIndex: the namespaces that read routes file their entries under,
// for two questions that catch typos:
//  - can a write route's `invalidates:` template name one of them? (the
//    loader warns when not: "prodcts" would invalidate nothing, silently);
//  - does an admin purge of a concrete name reach any route's entries? (the
//    purge answer says when not; the purge is still done).
// Templates are compared as patterns: a {param} stands for one or more
// characters, so "product:{id}" may name "product:{pid}", "product:7" or
// "{kind}:7". Names larder makes up at run time are always in use: "sk:N"
// (Surrogate-Key names), "uri:..." (a URL's implicit namespace) and "*".
//
// Built once per Config (linear in the number of templates); a question
// costs a few hash lookups plus a bounded number of template comparisons,
// and answers "in use" when the bound is reached, so a warning is never a
// guess. Immutable after construction: safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"

namespace larder::config {

class NamespaceIndex {
 public:
  explicit NamespaceIndex(const std::vector<Route>& routes);

  // A concrete namespace name, as an admin purge gives it.
  bool mayHold(std::string_view name) const;
  // A write route's template (or literal name).
  bool mayOverlap(const Template& invalidated) const;
  // Names filled at run time, never by a route's namespaces: list.
  static bool isDynamic(std::string_view name);

 private:
  // A template as text, each {param} replaced by kParam.
  static std::string shapeOf(const Template& t);
  bool mayOverlapShape(const std::string& shape) const;

  std::unordered_set<std::string> literals_;  // names without parameters
  std::vector<std::string> sorted_literals_;
  std::unordered_set<std::string> shapes_;    // templated names
  // Templated names by their literal text before the first parameter.
  std::unordered_map<std::string, std::vector<std::string>> by_prefix_;
  std::vector<std::string> sorted_prefixes_;
};

// Whether two shapes (text with kParam for one-or-more characters) can
// produce one same string. Exposed for tests.
bool shapesOverlap(std::string_view a, std::string_view b);
inline constexpr char kParam = '\x01';

}  // namespace larder::config
