// How doctest prints harness values in failed assertions, e.g.
// CHECK(larder.waitExit(5s) == 0) shows "nullopt == 0" rather than "{?}".
#pragma once

#include <optional>

#include <doctest/doctest.h>

namespace doctest {

template <typename T>
struct StringMaker<std::optional<T>> {
  static String convert(const std::optional<T>& value) {
    if (!value) return "nullopt";
    return toString(*value);
  }
};

}  // namespace doctest
