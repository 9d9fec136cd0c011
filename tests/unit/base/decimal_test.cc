// base/decimal.h: the length it predicts is what it (and std::to_string)
// writes, at every change of width and at the ends of the type.
#include "base/decimal.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>

using larder::base::appendDecimal;
using larder::base::decimalLength;

TEST_CASE("decimalLength counts the digits std::to_string writes; appendDecimal writes them") {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  struct Row {
    uint64_t value;
    size_t length;
    const char* text;
  };
  const Row rows[] = {
      {0, 1, "0"},
      {9, 1, "9"},
      {10, 2, "10"},
      {99, 2, "99"},
      {100, 3, "100"},
      {999'999'999, 9, "999999999"},
      {1'000'000'000, 10, "1000000000"},
      {kMax - 1, 20, "18446744073709551614"},
      {kMax, 20, "18446744073709551615"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value);
    CHECK(decimalLength(row.value) == row.length);
    CHECK(std::to_string(row.value) == row.text);
    std::string out = "n=";
    appendDecimal(out, row.value);
    CHECK(out == std::string("n=") + row.text);  // appended after what was there
  }
  static_assert(decimalLength(0) == 1 && decimalLength(kMax) == 20);
}

TEST_CASE("decimalLength matches std::to_string at every power of ten and the number before it") {
  uint64_t power = 1;
  for (int digits = 1; digits <= 19; ++digits, power *= 10) {
    CAPTURE(power);
    CHECK(decimalLength(power) == std::to_string(power).size());
    CHECK(decimalLength(power - 1) == std::to_string(power - 1).size());
    CHECK(decimalLength(power * 10 - 1) == std::to_string(power * 10 - 1).size());
  }
}
