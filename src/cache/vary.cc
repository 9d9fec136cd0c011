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

namespace {

// One list member of an Accept-style field with the whitespace its grammar
// allows around ";" and "=" removed (RFC 9110 §5.6.6), and the parts that
// are case-insensitive lowered: the whole member for language ranges and
// charsets, the media range and parameter names for Accept (parameter
// values may be case-sensitive).
std::string normalizeMember(std::string_view member, bool lower_values) {
  std::string out;
  size_t part = 0;
  while (true) {
    const size_t semicolon = member.find(';');
    std::string_view piece = http::trimOws(member.substr(0, semicolon));
    const size_t eq = piece.find('=');
    std::string name(http::trimOws(piece.substr(0, eq)));
    std::string value = eq == std::string_view::npos ? "" : std::string(http::trimOws(piece.substr(eq + 1)));
    if (part++ > 0) out += ';';
    out += http::asciiLower(name);
    if (eq != std::string_view::npos) {
      out += '=';
      out += lower_values ? http::asciiLower(value) : value;
    }
    if (semicolon == std::string_view::npos) break;
    member.remove_prefix(semicolon + 1);
  }
  return out;
}

}  // namespace

std::string normalizeVaryValue(std::string_view name, std::string_view value) {
  // RFC 9111 §4.1: field lines combined, whitespace the syntax allows, and
  // case where the field's values are case-insensitive.
  const bool accept = http::equalsIgnoreCase(name, "accept");
  if (accept || http::equalsIgnoreCase(name, "accept-language") ||
      http::equalsIgnoreCase(name, "accept-charset")) {
    std::string out;
    forEachListItem(value, [&](std::string_view item) {
      if (!out.empty()) out += ',';
      out += normalizeMember(item, !accept);
    });
    return out;
  }
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
