#include "cache/vary.h"

#include <algorithm>
#include <cctype>

namespace larder::cache {
namespace {


template <typename Fn>
void forEachListItem(std::string_view list, Fn fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = http::trimOws(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// "q=0", "q=0.0", "q=0.000" (RFC 9110 §12.4.2).
bool isZeroWeight(std::string_view params) {
  size_t q = params.find("q=");
  if (q == std::string_view::npos) return false;
  std::string_view weight = http::trimOws(params.substr(q + 2));
  if (weight.empty() || weight[0] != '0') return false;
  for (char c : weight.substr(1)) {
    if (c != '.' && c != '0') return c == ';' || c == ' ';
  }
  return true;
}

}  // namespace

std::vector<std::string> unkeyedVaryNames(const http::HeaderMap& response_headers,
                                          const config::Route& route) {
  std::vector<std::string> names;
  for (std::string_view field : response_headers.findAll("Vary")) {
    forEachListItem(field, [&](std::string_view item) {
      std::string name = http::asciiLower(item);
      if (name == "*") {
        names = {"*"};
        return;
      }
      bool keyed = std::any_of(route.vary.begin(), route.vary.end(),
                               [&](const std::string& k) { return http::equalsIgnoreCase(k, name); });
      if (!keyed && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    });
    if (names.size() == 1 && names[0] == "*") break;
  }
  return names;
}

std::string normalizeVaryValue(std::string_view name, std::string_view value) {
  if (!http::equalsIgnoreCase(name, "accept-encoding")) return std::string(value);
  std::vector<std::string> codings;
  forEachListItem(value, [&](std::string_view item) {
    size_t semicolon = item.find(';');
    std::string_view coding = http::trimOws(item.substr(0, semicolon));
    if (semicolon != std::string_view::npos && isZeroWeight(item.substr(semicolon + 1))) return;
    if (!coding.empty()) codings.push_back(http::asciiLower(coding));
  });
  std::sort(codings.begin(), codings.end());
  codings.erase(std::unique(codings.begin(), codings.end()), codings.end());
  std::string out;
  for (const auto& coding : codings) {
    if (!out.empty()) out += ',';
    out += coding;
  }
  return out;
}

}  // namespace larder::cache
