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
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void HeaderMap::add(std::string name, std::string value) {
  fields_.push_back(Header{std::move(name), std::move(value)});
}

void HeaderMap::set(std::string_view name, std::string value) {
  // One pass over the fields: the first of that name takes the value and
  // keeps its position and its spelling of the name (replacing a value does
  // not reorder the head); later ones are compacted away behind it.
  const size_t count = fields_.size();
  size_t first = 0;
  while (first < count && !equalsIgnoreCase(fields_[first].name, name)) ++first;
  if (first == count) {
    fields_.push_back(Header{std::string(name), std::move(value)});
    return;
  }
  fields_[first].value = std::move(value);
  size_t kept = first + 1;
  for (size_t i = first + 1; i < count; ++i) {
    if (equalsIgnoreCase(fields_[i].name, name)) continue;
    if (kept != i) fields_[kept] = std::move(fields_[i]);
    ++kept;
  }
  fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(kept), fields_.end());
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
