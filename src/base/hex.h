// Hex digits in text that larder parses (percent-encoding, chunk sizes) and
// writes (keys, digests, chunk sizes, stored tokens).
#pragma once

#include <array>

namespace larder::base {

// The value of one hex digit, either case; -1 for any other byte.
constexpr int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The digits larder writes, lower case: kLowerHexDigits[v] for v in 0..15.
inline constexpr char kLowerHexDigits[] = "0123456789abcdef";

// A byte's two digits at once: kLowerHexPairs[b] is {high, low}.
inline constexpr std::array<std::array<char, 2>, 256> kLowerHexPairs = [] {
  std::array<std::array<char, 2>, 256> pairs{};
  for (int b = 0; b < 256; ++b) pairs[b] = {kLowerHexDigits[b >> 4], kLowerHexDigits[b & 0xf]};
  return pairs;
}();

}  // namespace larder::base
