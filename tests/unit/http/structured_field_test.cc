#include "http/structured_field.h"

#include <doctest/doctest.h>

using namespace larder::http;
using Type = StructuredItem::Type;

TEST_CASE("RFC 8941 §4.2.2: dictionaries keep order; a repeated key overwrites in place") {
  auto dict = parseStructuredDictionary("  a=1, b, c=?0, a=\"x\\\"y\"  ");
  REQUIRE(dict.has_value());
  REQUIRE(dict->size() == 3);
  CHECK((*dict)[0].first == "a");
  CHECK((*dict)[0].second.type == Type::kString);
  CHECK((*dict)[0].second.text == "x\"y");
  CHECK((*dict)[1].second.type == Type::kBoolean);
  CHECK((*dict)[1].second.boolean);
  CHECK_FALSE((*dict)[2].second.boolean);
}

TEST_CASE("RFC 8941 §3.3: bare item types") {
  struct Row {
    const char* value;
    Type type;
  };
  const Row rows[] = {
      {"k=-42", Type::kInteger},      {"k=1.5", Type::kDecimal},  {"k=tok/en:x", Type::kToken},
      {"k=*star", Type::kToken},      {"k=:AAEC:", Type::kBinary}, {"k=?1", Type::kBoolean},
      {"k=(1 2 a)", Type::kInnerList}, {"k=()", Type::kInnerList},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value);
    auto dict = parseStructuredDictionary(row.value);
    REQUIRE(dict.has_value());
    CHECK(dict->front().second.type == row.type);
  }
  CHECK(parseStructuredDictionary("k=-42")->front().second.integer == -42);
  CHECK(parseStructuredDictionary("k=1.5")->front().second.decimal == doctest::Approx(1.5));
}

TEST_CASE("RFC 8941 §4.2: malformed dictionaries are rejected whole") {
  for (const char* bad : {"K=1", "1a=1", "a=1,", "a=1,,b", "a=1 b=2", "a=\"\t\"", "a=\"\\x\"",
                          "a=1.", "a=1.2345", "a=1234567890123.1", "a=?", "a=:abc", "a=(1,2)",
                          "a=1;", "a=1;B=2", "a=&", "a=1\tb", ","}) {
    CAPTURE(bad);
    CHECK_FALSE(parseStructuredDictionary(bad).has_value());
  }
  CHECK(parseStructuredDictionary("")->empty());
  CHECK(parseStructuredDictionary("a;p=1;q, b=(1 2);r=?0")->size() == 2);
}
