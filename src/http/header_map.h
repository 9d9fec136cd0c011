// An ordered list of header fields. Names keep their original case for
// forwarding; lookups are case-insensitive (RFC 9110 §5.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace larder::http {

struct Header {
  std::string name;
  std::string value;
};

bool equalsIgnoreCase(std::string_view a, std::string_view b);
// ASCII letters lowered; every other byte kept (no locale).
std::string asciiLower(std::string_view text);

// Optional whitespace (RFC 9110 §5.6.3): space and horizontal tab.
constexpr bool isOws(char c) { return c == ' ' || c == '\t'; }
constexpr std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

class HeaderMap {
 public:
  void add(std::string name, std::string value);
  // Replaces every field of that name with one field (appended if absent).
  void set(std::string_view name, std::string value);
  // Removes every field of that name; returns how many were removed.
  size_t remove(std::string_view name);
  // First field of that name, or nullptr.
  const std::string* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  std::vector<std::string_view> findAll(std::string_view name) const;
  // All values of that name joined with ", " (RFC 9110 §5.3); empty if none.
  std::string joined(std::string_view name) const;
  // True when a comma-separated token list in any field of that name holds
  // `token` (case-insensitive), e.g. hasToken("Connection", "close").
  bool hasToken(std::string_view name, std::string_view token) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  std::vector<Header>& fields() { return fields_; }
  const std::vector<Header>& fields() const { return fields_; }

 private:
  std::vector<Header> fields_;
};

}  // namespace larder::http
