#include "config/namespace_index.h"

#include <algorithm>
#include <set>

namespace larder::config {
namespace {

// Comparisons one question may make before it answers "in use": a warning
// must rest on a complete search, and a config with thousands of templates
// sharing one prefix must not make loading quadratic.
constexpr size_t kMaxComparisons = 256;
// Longer shapes are not compared (the table would be too large): in use.
constexpr size_t kMaxTableCells = size_t{1} << 20;

constexpr int kAnyOne = 256;
constexpr int kAnyRun = 257;  // zero or more

// A parameter is one or more characters: one, then any run.
std::vector<int> tokens(std::string_view shape) {
  std::vector<int> out;
  out.reserve(shape.size() + 4);
  for (char c : shape) {
    if (c == kParam) {
      out.push_back(kAnyOne);
      out.push_back(kAnyRun);
    } else {
      out.push_back(static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string_view literalPrefix(std::string_view shape) {
  return shape.substr(0, shape.find(kParam));
}

// The first element of a sorted list that may start with `prefix`; the
// caller walks on while they do.
size_t firstWithPrefix(const std::vector<std::string>& sorted, std::string_view prefix) {
  auto first = std::lower_bound(sorted.begin(), sorted.end(), prefix,
                                [](const std::string& item, std::string_view p) { return item < p; });
  return static_cast<size_t>(first - sorted.begin());
}

}  // namespace

bool shapesOverlap(std::string_view a_text, std::string_view b_text) {
  const std::vector<int> a = tokens(a_text);
  const std::vector<int> b = tokens(b_text);
  const size_t n = a.size();
  const size_t m = b.size();
  if ((n + 1) * (m + 1) > kMaxTableCells) return true;
  // can[i][j]: a[i..] and b[j..] can produce one same string. Filled from
  // the end; a run either ends here or takes the other side's next token.
  std::vector<char> can((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> char& { return can[i * (m + 1) + j]; };
  for (size_t i = n + 1; i-- > 0;) {
    for (size_t j = m + 1; j-- > 0;) {
      bool value = false;
      if (i == n && j == m) {
        value = true;
      } else if (i < n && a[i] == kAnyRun) {
        value = at(i + 1, j) || (j < m && at(i, j + 1));
      } else if (j < m && b[j] == kAnyRun) {
        value = at(i, j + 1) || (i < n && at(i + 1, j));
      } else if (i < n && j < m) {
        const bool same = a[i] == kAnyOne || b[j] == kAnyOne || a[i] == b[j];
        value = same && at(i + 1, j + 1);
      }
      at(i, j) = value ? 1 : 0;
    }
  }
  return at(0, 0) != 0;
}

NamespaceIndex::NamespaceIndex(const std::vector<Route>& routes) {
  std::set<std::string> prefixes;
  for (const Route& route : routes) {
    if (!route.isRead()) continue;
    for (const Template& t : route.namespaces) {
      if (!t.hasParams()) {
        literals_.insert(t.text());
        continue;
      }
      std::string shape = shapeOf(t);
      if (!shapes_.insert(shape).second) continue;
      std::string prefix(literalPrefix(shape));
      by_prefix_[prefix].push_back(std::move(shape));
      prefixes.insert(std::move(prefix));
    }
  }
  sorted_literals_.assign(literals_.begin(), literals_.end());
  std::sort(sorted_literals_.begin(), sorted_literals_.end());
  sorted_prefixes_.assign(prefixes.begin(), prefixes.end());
}

bool NamespaceIndex::isDynamic(std::string_view name) {
  return name == "*" || name.starts_with("sk:") || name.starts_with("uri:");
}

std::string NamespaceIndex::shapeOf(const Template& t) {
  std::string shape;
  for (const auto& [is_param, text] : t.parts()) {
    if (is_param) {
      shape += kParam;
    } else {
      shape += text;
    }
  }
  return shape;
}

bool NamespaceIndex::mayHold(std::string_view name) const {
  if (isDynamic(name)) return true;
  return mayOverlapShape(std::string(name));
}

bool NamespaceIndex::mayOverlap(const Template& invalidated) const {
  // A literal "sk:x" is a Surrogate-Key name; a template starting so is too.
  if (isDynamic(invalidated.text())) return true;
  return mayOverlapShape(shapeOf(invalidated));
}

bool NamespaceIndex::mayOverlapShape(const std::string& shape) const {
  if (literals_.count(shape) != 0 || shapes_.count(shape) != 0) return true;
  const std::string_view own_prefix = literalPrefix(shape);
  const bool templated = own_prefix.size() != shape.size();
  size_t comparisons = 0;
  auto compare = [&](std::string_view other) {
    ++comparisons;
    return shapesOverlap(shape, other);
  };
  // Templated read names whose literal prefix is a prefix of ours.
  for (size_t length = 0; length <= own_prefix.size(); ++length) {
    auto found = by_prefix_.find(std::string(own_prefix.substr(0, length)));
    if (found == by_prefix_.end()) continue;
    for (const std::string& other : found->second) {
      if (comparisons >= kMaxComparisons) return true;
      if (compare(other)) return true;
    }
  }
  if (!templated) return false;  // a literal name: only templates could hold it
  // Ours has a parameter after its prefix: read names that go on past that
  // prefix may meet it, templated or literal.
  for (size_t i = firstWithPrefix(sorted_prefixes_, own_prefix);
       i < sorted_prefixes_.size() && sorted_prefixes_[i].starts_with(own_prefix); ++i) {
    if (sorted_prefixes_[i].size() == own_prefix.size()) continue;  // done above
    for (const std::string& other : by_prefix_.at(sorted_prefixes_[i])) {
      if (comparisons >= kMaxComparisons) return true;
      if (compare(other)) return true;
    }
  }
  for (size_t i = firstWithPrefix(sorted_literals_, own_prefix);
       i < sorted_literals_.size() && sorted_literals_[i].starts_with(own_prefix); ++i) {
    if (comparisons >= kMaxComparisons) return true;
    if (compare(sorted_literals_[i])) return true;
  }
  return false;
}

}  // namespace larder::config
