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

TEST_CASE("equalsIgnoreCase folds ASCII letters only") {
  CHECK(equalsIgnoreCase("X-Forwarded-FOR", "x-forwarded-for"));
  CHECK(equalsIgnoreCase("", ""));
  // Pairs that differ in bit 0x20 only, but are not letters, stay distinct.
  CHECK_FALSE(equalsIgnoreCase("@", "`"));
  CHECK_FALSE(equalsIgnoreCase("[", "{"));
  CHECK_FALSE(equalsIgnoreCase("^", "~"));
  CHECK_FALSE(equalsIgnoreCase("\x0d", "-"));
  CHECK_FALSE(equalsIgnoreCase("a-b", "a\rb"));
  // Bytes past ASCII compare exactly (no locale): 0xC9 and 0xE9 are É and é
  // in Latin-1.
  CHECK_FALSE(equalsIgnoreCase("\xC9", "\xE9"));
  CHECK(equalsIgnoreCase("\xE9", "\xE9"));
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

TEST_CASE("set collapses several same-name fields into the first, keeping the others' order") {
  HeaderMap h;
  h.add("Via", "1");
  h.add("X-Cache", "MISS");
  h.add("Age", "3");
  h.add("x-cache", "STALE");
  h.add("Date", "d");
  h.add("X-CACHE", "HIT");
  h.set("X-Cache", "BYPASS");
  REQUIRE(h.size() == 4);
  CHECK(h.fields()[0].name == "Via");
  CHECK(h.fields()[1].name == "X-Cache");  // the first field's spelling and place
  CHECK(h.fields()[1].value == "BYPASS");
  CHECK(h.fields()[2].name == "Age");
  CHECK(h.fields()[2].value == "3");
  CHECK(h.fields()[3].name == "Date");
  CHECK(h.fields()[3].value == "d");
  CHECK(h.findAll("x-cache") == std::vector<std::string_view>{"BYPASS"});
}

TEST_CASE("set appends a field that is absent, with the given spelling, and replaces it later") {
  HeaderMap h;
  h.set("Age", "1");  // empty map
  REQUIRE(h.size() == 1);
  h.add("Date", "d");
  h.set("Cache-Status", "larder; hit");
  REQUIRE(h.size() == 3);
  CHECK(h.fields()[2].name == "Cache-Status");
  CHECK(h.fields()[2].value == "larder; hit");
  h.set("AGE", "2");  // same name, another case: replaced, not added
  REQUIRE(h.size() == 3);
  CHECK(h.fields()[0].name == "Age");
  CHECK(h.fields()[0].value == "2");
  // A name that only shares a prefix or a length is another field.
  h.set("Ag", "x");
  h.set("Abc", "y");
  REQUIRE(h.size() == 5);
  CHECK(*h.find("age") == "2");
  CHECK(*h.find("ag") == "x");
  CHECK(*h.find("abc") == "y");
}

TEST_CASE("set on a map holding only that name leaves one field") {
  HeaderMap h;
  h.add("set-cookie", "a");
  h.add("Set-Cookie", "b");
  h.add("SET-COOKIE", "c");
  h.set("Set-Cookie", "z");
  REQUIRE(h.size() == 1);
  CHECK(h.fields()[0].name == "set-cookie");
  CHECK(h.fields()[0].value == "z");
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
