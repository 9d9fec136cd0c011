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

TEST_CASE("error log timestamps are RFC 3339 in UTC with milliseconds") {
  const std::string now = rfc3339Now();
  CAPTURE(now);
  REQUIRE(now.size() == 24);
  for (size_t i : {4u, 7u}) CHECK(now[i] == '-');
  CHECK(now[10] == 'T');
  for (size_t i : {13u, 16u}) CHECK(now[i] == ':');
  CHECK(now[19] == '.');
  CHECK(now[23] == 'Z');
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u, 20u, 21u, 22u})
    CHECK((now[i] >= '0' && now[i] <= '9'));
  CHECK(now.substr(0, 2) == "20");
}
