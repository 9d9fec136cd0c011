#include "store/redis/invalidation_channel.h"

#include <doctest/doctest.h>

using namespace larder::store;

TEST_CASE("invalidation messages round-trip any bytes in their keys") {
  const std::vector<std::string> keys = {"v1:ns:products", std::string("a:\n0:\0b", 7), "", "x"};
  auto decoded = decodeInvalidationMessage(encodeInvalidationMessage(keys));
  REQUIRE(decoded);
  CHECK(*decoded == keys);
  CHECK(decodeInvalidationMessage(encodeInvalidationMessage({})) == std::vector<std::string>{});
  CHECK(invalidationChannel("v1") == "v1:invalidations");
}

TEST_CASE("malformed invalidation messages are refused, never half-read") {
  for (std::string_view bad : {"", "\n", "x\n", "1", "1\n", "1\n3:ab", "1\n2:abc", "2\n1:a",
                               "1\n:a", "1\n-1:a", "1\n1a:a", "01\n+1:a", "99999999999\n",
                               "10001\n", "1\n4294967296:a", "1\n1:a\n", "00\n", "1\n01:a"}) {
    CAPTURE(bad);
    CHECK_FALSE(decodeInvalidationMessage(bad).has_value());
  }
}
