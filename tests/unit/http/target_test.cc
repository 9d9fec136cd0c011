#include "http/target.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("request targets are normalized") {
  struct Row {
    const char* target;
    std::optional<const char*> path;  // nullopt: rejected
    const char* query;
  };
  const Row rows[] = {
      {"/", "/", ""},
      {"/a/b", "/a/b", ""},
      {"/%7E", "/~", ""},
      {"/%7euser", "/~user", ""},
      {"/%41%62%2d", "/Ab-", ""},
      {"/a%2fb", "/a%2Fb", ""},
      {"/a%2Fb", "/a%2Fb", ""},
      {"/%c3%a9", "/%C3%A9", ""},
      {"/\xc3\xa9", "/%C3%A9", ""},
      {"/a{b}", "/a%7Bb%7D", ""},
      {"/a/./b/../c", "/a/c", ""},
      {"/a/b/..", "/a/", ""},
      {"/a/b/.", "/a/b/", ""},
      {"/..", "/", ""},
      {"/../../a", "/a", ""},
      {"/%2e%2e/a", "/a", ""},
      {"/a/%2E/b", "/a/b", ""},
      {"//a", "/a", ""},
      {"/a//b///c/", "/a/b/c/", ""},
      {"/a/", "/a/", ""},
      // Segments that start with a dot without being "." or "..".
      {"/.well-known/x", "/.well-known/x", ""},
      {"/a/.b/..c/...", "/a/.b/..c/...", ""},
      {"/a/..", "/", ""},
      {"/a/b%2F%2Fc", "/a/b%2F%2Fc", ""},
      {"/%2F/b", "/%2F/b", ""},
      {"/a\"b", "/a%22b", ""},
      {"/a;p=1:@!$&'()*+,=", "/a;p=1:@!$&'()*+,=", ""},
      {"/p?b=2&a=1", "/p", "b=2&a=1"},
      {"/p?", "/p", ""},
      {"/p?x=%zz", std::nullopt, ""},
      {"/%zz", std::nullopt, ""},
      {"/%4", std::nullopt, ""},
      {"/%", std::nullopt, ""},
      {"*", std::nullopt, ""},
      {"", std::nullopt, ""},
      {"example.com:443", std::nullopt, ""},
      {"a/b", std::nullopt, ""},
      {"/a#frag", std::nullopt, ""},
      {"/a?b#frag", std::nullopt, ""},
      {"/a b", std::nullopt, ""},
      {"/a\tb", std::nullopt, ""},
      {"/a\x01", std::nullopt, ""},
      {"/a\x7f", std::nullopt, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.target);
    const auto parsed = parseTarget(row.target);
    REQUIRE(parsed.has_value() == row.path.has_value());
    if (!parsed) continue;
    CHECK(parsed->path == *row.path);
    CHECK(parsed->query == row.query);
    CHECK(parsed->authority.empty());
  }
}

TEST_CASE("absolute-form targets give the authority") {
  auto t = parseTarget("http://Example.COM:8080/a/../b?q=1");
  REQUIRE(t.has_value());
  CHECK(t->authority == "example.com:8080");
  CHECK(t->path == "/b");
  CHECK(t->query == "q=1");
  CHECK(t->has_query);

  auto bare = parseTarget("HTTPS://host");
  REQUIRE(bare.has_value());
  CHECK(bare->authority == "host");
  CHECK(bare->path == "/");
  CHECK_FALSE(bare->has_query);

  auto query_only = parseTarget("http://host?x");
  REQUIRE(query_only.has_value());
  CHECK(query_only->path == "/");
  CHECK(query_only->query == "x");

  CHECK_FALSE(parseTarget("http://").has_value());
  CHECK_FALSE(parseTarget("http:///path").has_value());
  CHECK_FALSE(parseTarget("http://user@host/").has_value());
  CHECK_FALSE(parseTarget("ftp://host/").has_value());
  CHECK_FALSE(parseTarget("http://host#f").has_value());
}

TEST_CASE("has_query distinguishes an empty query from none") {
  CHECK_FALSE(parseTarget("/p")->has_query);
  CHECK(parseTarget("/p?")->has_query);
}

TEST_CASE("normalizing a normalized path changes nothing") {
  const char* targets[] = {"/a/./b/../c", "/%7e%2f%c3%a9", "//x//y/", "/a{b}", "/..%2e/x"};
  for (const char* target : targets) {
    CAPTURE(target);
    const auto once = parseTarget(target);
    REQUIRE(once.has_value());
    const auto twice = parseTarget(once->path);
    REQUIRE(twice.has_value());
    CHECK(twice->path == once->path);
  }
}

TEST_CASE("queries split into ordered pairs with normalized escapes") {
  const QueryParams params = parseQuery("b=2&a=1&&b&c=%2f%41&=v&d=");
  const QueryParams expected = {{"b", "2"}, {"a", "1"}, {"b", ""}, {"c", "%2F%41"}, {"", "v"}, {"d", ""}};
  CHECK(params == expected);
  CHECK(parseQuery("").empty());
  CHECK(parseQuery("&&&").empty());
}

TEST_CASE("decodeQuery decodes names and values as form decoders do; only '&' separates") {
  const QueryParams params = decodeQuery("pag%65=9&a+b=c%20d&&flag&x=%2f%41&=v&s=1;t=2&bad=%zz&plus=%2B");
  const QueryParams expected = {{"page", "9"}, {"a b", "c d"}, {"flag", ""}, {"x", "/A"},
                                {"", "v"},     {"s", "1;t=2"}, {"bad", "%zz"}, {"plus", "+"}};
  CHECK(params == expected);
  CHECK(decodeQuery("").empty());
  CHECK(decodeQuery("&&&").empty());
}

TEST_CASE("canonical queries sort by name only, keeping the order of a repeated name's values") {
  struct Row {
    const char* query;
    const char* canonical;
  };
  const Row rows[] = {
      {"b=2&a=1&b=1", "a=1&b=2&b=1"},
      {"page=9&page=1", "page=9&page=1"},
      {"page=1&page=9", "page=1&page=9"},
      {"pag%65=9", "page=9"},                 // cloaked name: the upstream decodes it to "page"
      {"z&y=%2f", "y=/&z"},
      {"q=a+b&q=a%20b", "q=a+b&q=a+b"},        // '+' and %20 are one space
      {"q=%2B", "q=%2B"},                      // a literal plus stays encoded
      {"a%3Db=1", "a%3Db=1"},                  // '=' in a name stays encoded
      {"a=b=c", "a=b=c"},                      // '=' in a value does not
      {"k=1;page=9", "k=1;page=9"},            // ';' is data, kept as sent
      {"n=%e2%82%ac", "n=%E2%82%AC"},
      {"flag=&flag", "flag&flag"},
      {"=", ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.query);
    const std::string canonical = canonicalQuery(decodeQuery(row.query));
    CHECK(canonical == row.canonical);
    CHECK(canonicalQuery(decodeQuery(canonical)) == canonical);  // a fixed point
  }
  CHECK(canonicalQuery({}).empty());
  CHECK(canonicalQuery(decodeQuery("a=1&b=2")) == canonicalQuery(decodeQuery("b=2&a=1")));
  CHECK(canonicalQuery(decodeQuery("page=9&page=1")) != canonicalQuery(decodeQuery("page=1&page=9")));
}
