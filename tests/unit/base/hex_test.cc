// base/hex.h: every byte value, the 22 hex digits and what borders them.
#include "base/hex.h"

#include <doctest/doctest.h>

#include <string_view>

using larder::base::hexValue;

TEST_CASE("hexValue: digits of either case, and -1 for every other byte") {
  constexpr std::string_view kLower = "0123456789abcdef";
  constexpr std::string_view kUpper = "0123456789ABCDEF";
  for (int i = 0; i < 16; ++i) {
    CHECK(hexValue(kLower[i]) == i);
    CHECK(hexValue(kUpper[i]) == i);
  }
  // The neighbours of each range, a NUL, a space, and bytes above 0x7f
  // (negative as char).
  for (char c : {'/', ':', '@', 'G', '`', 'g', 'x', 'X', ' ', '%', '\0', '\x7f', '\x80', '\xff'}) {
    CAPTURE(static_cast<int>(static_cast<unsigned char>(c)));
    CHECK(hexValue(c) == -1);
  }
  int digits = 0;
  for (int b = 0; b < 256; ++b) digits += hexValue(static_cast<char>(b)) >= 0;
  CHECK(digits == 22);
  static_assert(hexValue('f') == 15 && hexValue('F') == 15 && hexValue('g') == -1);
}
