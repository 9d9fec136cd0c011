// Hex digits in text that larder parses (percent-encoding, chunk sizes) and
// writes (keys, digests, chunk sizes, stored tokens).
#pragma once

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

}  // namespace larder::base
