// Unsigned integers in decimal, for code that sizes its output exactly
// before writing it (one allocation per key or command: issue 13).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>

namespace larder::base {

// How many characters std::to_chars (and std::to_string) write for `value`.
constexpr size_t decimalLength(uint64_t value) {
  size_t length = 1;
  for (; value >= 10; value /= 10) ++length;
  return length;
}

// Appends `value` in decimal to `out`, with no string of its own.
inline void appendDecimal(std::string& out, uint64_t value) {
  char digits[20];  // UINT64_MAX has 20
  out.append(digits, std::to_chars(digits, digits + sizeof(digits), value).ptr);
}

}  // namespace larder::base
