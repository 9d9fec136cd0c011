#include "http/parse_error.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("each parse error has a name and a status") {
  struct Row {
    ParseError error;
    std::string_view name;
    int status;
  };
  const Row rows[] = {
      {ParseError::kMalformed, "malformed", 400},
      {ParseError::kHeadersTooLarge, "headers_too_large", 431},
      {ParseError::kBodyTooLarge, "body_too_large", 413},
      {ParseError::kTruncated, "truncated", 400},
      {ParseError::kUnsupported, "unsupported", 505},
  };
  for (const Row& row : rows) {
    CHECK(toString(row.error) == row.name);
    CHECK(statusFor(row.error) == row.status);
  }
  CHECK(toString(ParseError::kNone) == "none");
}
