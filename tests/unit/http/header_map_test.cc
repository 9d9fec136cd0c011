#include "http/header_map.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("header lookups ignore case and keep the original spelling") {
  HeaderMap h;
  h.add("Content-Type", "text/plain");
  h.add("X-Multi", "a");
  h.add("x-multi", "b");
  CHECK(h.has("content-type"));
  CHECK(*h.find("CONTENT-TYPE") == "text/plain");
  CHECK(h.find("missing") == nullptr);
  CHECK(h.findAll("X-MULTI") == std::vector<std::string_view>{"a", "b"});
  CHECK(h.joined("x-multi") == "a, b");
  CHECK(h.joined("missing").empty());
  CHECK(h.fields()[0].name == "Content-Type");
  CHECK(equalsIgnoreCase("ABC", "abc"));
  CHECK_FALSE(equalsIgnoreCase("abc", "abd"));
  CHECK_FALSE(equalsIgnoreCase("abc", "ab"));
}

TEST_CASE("set replaces every field of a name in place; remove counts") {
  HeaderMap h;
  h.add("A", "1");
  h.add("B", "2");
  h.add("a", "3");
  h.set("a", "9");
  REQUIRE(h.size() == 2);
  CHECK(h.fields()[0].name == "A");
  CHECK(h.fields()[0].value == "9");
  CHECK(h.fields()[1].name == "B");
  h.set("C", "new");
  CHECK(h.fields().back().name == "C");
  CHECK(h.remove("c") == 1);
  CHECK(h.remove("c") == 0);
  h.clear();
  CHECK(h.empty());
}

TEST_CASE("hasToken finds a token in comma-separated lists across fields") {
  HeaderMap h;
  h.add("Connection", "keep-alive , Upgrade");
  h.add("Connection", "X-Foo");
  CHECK(h.hasToken("connection", "upgrade"));
  CHECK(h.hasToken("connection", "x-foo"));
  CHECK(h.hasToken("connection", "KEEP-ALIVE"));
  CHECK_FALSE(h.hasToken("connection", "close"));
  CHECK_FALSE(h.hasToken("connection", "keep"));
  CHECK_FALSE(h.hasToken("other", "upgrade"));
}
