// Structured Field Dictionaries (RFC 8941 §3.2, parsed per §4.2), the syntax
// of targeted cache-control fields such as CDN-Cache-Control (RFC 9213 §2.1).
// Pure functions. Parsing is strict: any syntax error makes the whole field
// invalid, and RFC 9213 §2.1 then has the cache ignore the field entirely.
// Parameters are checked for syntax and dropped: no caller needs them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larder::http {

struct StructuredItem {
  enum class Type { kInteger, kDecimal, kString, kToken, kBinary, kBoolean, kInnerList };
  Type type = Type::kBoolean;
  int64_t integer = 0;      // kInteger
  double decimal = 0;       // kDecimal
  std::string text;         // kString (unescaped), kToken, kBinary (base64 as written)
  bool boolean = true;      // kBoolean
};

// Members in order of first appearance; a key seen again overwrites the
// earlier value in place (RFC 8941 §4.2.2).
using StructuredDictionary = std::vector<std::pair<std::string, StructuredItem>>;

// Parses a dictionary from a field value (field lines already combined with
// ", "). nullopt when the value is not a valid dictionary.
std::optional<StructuredDictionary> parseStructuredDictionary(std::string_view value);

}  // namespace larder::http
