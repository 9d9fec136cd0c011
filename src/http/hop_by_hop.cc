#include "http/hop_by_hop.h"

#include <algorithm>
#include <string>
#include <vector>

namespace larder::http {

namespace {

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}


}  // namespace

bool isHopByHop(std::string_view name) {
  if (startsWithIgnoreCase(name, "proxy-")) return true;
  switch (name.size()) {
    case 2: return equalsIgnoreCase(name, "te");
    case 7: return equalsIgnoreCase(name, "trailer") || equalsIgnoreCase(name, "upgrade");
    case 10: return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive");
    case 17: return equalsIgnoreCase(name, "transfer-encoding");
    default: return false;
  }
}

void removeHopByHop(HeaderMap& headers) {
  // The names that Connection lists are copied out first: removing fields
  // moves strings, and a view into a short (inline) string would dangle.
  std::vector<std::string> named;
  for (const Header& h : headers) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      while (!element.empty() && isOws(element.front())) element.remove_prefix(1);
      while (!element.empty() && isOws(element.back())) element.remove_suffix(1);
      if (!element.empty()) named.emplace_back(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  auto& fields = headers.fields();
  auto kept = std::remove_if(fields.begin(), fields.end(), [&](const Header& h) {
    if (isHopByHop(h.name)) return true;
    return std::any_of(named.begin(), named.end(),
                       [&](const std::string& n) { return equalsIgnoreCase(h.name, n); });
  });
  fields.erase(kept, fields.end());
}

}  // namespace larder::http
