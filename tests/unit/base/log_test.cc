#include <doctest/doctest.h>

#include "base/log.h"
#include "base/result.h"

using namespace larder::base;

TEST_CASE("log levels parse by name and reject unknown names") {
  LogLevel level = LogLevel::kOff;
  CHECK(parseLogLevel("debug", level));
  CHECK(toString(level) == "debug");
  CHECK(parseLogLevel("warn", level));
  CHECK(toString(level) == "warn");
  CHECK_FALSE(parseLogLevel("verbose", level));
  CHECK_FALSE(parseLogLevel("", level));
  CHECK(toString(level) == "warn");
}

TEST_CASE("result holds a value or an error") {
  Result<int, std::string> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int, std::string> bad = Unexpected{std::string("nope")};
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "nope");
}
