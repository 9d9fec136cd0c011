#include "http/header_map.h"

#include <algorithm>

namespace larder::http {

namespace {

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

std::string asciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Most bytes of two names compared are equal or differ outright; only a
  // pair that differs in bit 0x20 alone, and is a letter, is lowered. Every
  // lookup of a field scans with this (HeaderMap::set: 7 calls per hit).
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    const char y = b[i];
    if (x == y) continue;
    const char lowered = static_cast<char>(x | 0x20);
    if (lowered != static_cast<char>(y | 0x20) || lowered < 'a' || lowered > 'z') return false;
  }
  return true;
}

void HeaderMap::add(std::string name, std::string value) {
  fields_.push_back(Header{std::move(name), std::move(value)});
}

void HeaderMap::set(std::string_view name, std::string value) {
  // One pass: find_if stops at the first field of that name and remove_if
  // goes on from there.
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const Header& h) { return equalsIgnoreCase(h.name, name); });
  if (first == fields_.end()) {
    // Built in place: no temporary Header to move from and destroy (most
    // calls on a hit append: Age, X-Cache, Cache-Status, X-Forwarded-*).
    // Not emplace_back(name, value): clang 14 (the fuzz build) has no
    // parenthesized aggregate initialization.
    Header& added = fields_.emplace_back();
    added.name.assign(name);
    added.value = std::move(value);
    return;
  }
  // Keep the first field's position (and its spelling of the name) so that
  // replacing a value does not reorder the head.
  first->value = std::move(value);
  auto rest = std::remove_if(first + 1, fields_.end(),
                             [&](const Header& h) { return equalsIgnoreCase(h.name, name); });
  fields_.erase(rest, fields_.end());
}

size_t HeaderMap::remove(std::string_view name) {
  auto rest = std::remove_if(fields_.begin(), fields_.end(),
                             [&](const Header& h) { return equalsIgnoreCase(h.name, name); });
  const auto removed = static_cast<size_t>(fields_.end() - rest);
  fields_.erase(rest, fields_.end());
  return removed;
}

const std::string* HeaderMap::find(std::string_view name) const {
  for (const Header& h : fields_) {
    if (equalsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::vector<std::string_view> HeaderMap::findAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Header& h : fields_) {
    if (equalsIgnoreCase(h.name, name)) values.emplace_back(h.value);
  }
  return values;
}

std::string HeaderMap::joined(std::string_view name) const {
  std::string out;
  for (const Header& h : fields_) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

bool HeaderMap::hasToken(std::string_view name, std::string_view token) const {
  for (const Header& h : fields_) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      while (!element.empty() && isOws(element.front())) element.remove_prefix(1);
      while (!element.empty() && isOws(element.back())) element.remove_suffix(1);
      if (equalsIgnoreCase(element, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace larder::http
