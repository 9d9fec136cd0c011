#include "http/message.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("safe and idempotent methods follow RFC 9110 §9.2") {
  struct Row {
    const char* method;
    bool safe;
    bool idempotent;
  };
  const Row rows[] = {
      {"GET", true, true},     {"HEAD", true, true},     {"OPTIONS", true, true},
      {"TRACE", true, true},   {"PUT", false, true},     {"DELETE", false, true},
      {"POST", false, false},  {"PATCH", false, false},  {"CONNECT", false, false},
      {"get", false, false},   {"", false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.method);
    CHECK(isSafeMethod(row.method) == row.safe);
    CHECK(isIdempotentMethod(row.method) == row.idempotent);
  }
}

TEST_CASE("interim responses are 1xx") {
  ResponseHead head;
  head.status = 100;
  CHECK(head.isInterim());
  head.status = 200;
  CHECK_FALSE(head.isInterim());
}
