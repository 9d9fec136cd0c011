#include "cache/key.h"

#include "cache/digest.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace larder;
using namespace larder::cache;

namespace {

http::HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::HeaderMap headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

config::Route readRoute() {
  config::Route route;
  route.methods = {"GET"};
  route.ttl = std::chrono::minutes(5);
  return route;
}

http::Target targetOf(std::string_view text) {
  auto target = http::parseTarget(text);
  REQUIRE(target.has_value());
  return *target;
}

std::string keyFor(std::string_view method, std::string_view host, std::string_view target,
                   const config::Route& route, const http::HeaderMap& headers = {},
                   std::string principal = {}) {
  return entryKey("v1", buildIdentity(method, host, targetOf(target), route, headers, std::move(principal)));
}

constexpr const char* kJwtHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

std::string jwt(std::string_view payload) { return std::string(kJwtHeader) + "." + std::string(payload) + ".c2ln"; }

}  // namespace

// A jwt_claim principal is "<claim>\0<token digest>"; tables compare the claim.
std::optional<std::string> claimOf(const std::optional<std::string>& principal) {
  if (!principal) return std::nullopt;
  return principal->substr(0, principal->find('\0'));
}

TEST_CASE("GET and HEAD share a key; other methods do not") {
  const auto route = readRoute();
  CHECK(keyFor("GET", "example.com", "/a", route) == keyFor("HEAD", "example.com", "/a", route));
  CHECK(keyFor("GET", "example.com", "/a", route) != keyFor("POST", "example.com", "/a", route));
  CHECK(buildIdentity("HEAD", "h", targetOf("/"), route, {}, "").method_class == "GET");
}

TEST_CASE("query parameter order does not split keys") {
  const auto route = readRoute();
  CHECK(keyFor("GET", "h", "/p?b=2&a=1", route) == keyFor("GET", "h", "/p?a=1&b=2", route));
  CHECK(keyFor("GET", "h", "/p?a=%2f", route) == keyFor("GET", "h", "/p?a=%2F", route));
  CHECK(keyFor("GET", "h", "/p?a=1", route) != keyFor("GET", "h", "/p?a=2", route));
  CHECK(keyFor("GET", "h", "/p", route) != keyFor("GET", "h", "/p?a", route));
}

TEST_CASE("query names are keyed decoded, and a repeated name keeps its values' order") {
  const auto route = readRoute();
  CHECK(keyFor("GET", "h", "/p?pag%65=9", route) == keyFor("GET", "h", "/p?page=9", route));
  CHECK(keyFor("GET", "h", "/p?q=a+b", route) == keyFor("GET", "h", "/p?q=a%20b", route));
  CHECK(keyFor("GET", "h", "/p?q=a%2Bb", route) != keyFor("GET", "h", "/p?q=a+b", route));
  CHECK(keyFor("GET", "h", "/p?page=9&page=1", route) != keyFor("GET", "h", "/p?page=1&page=9", route));
  CHECK(keyFor("GET", "h", "/p?k=1;page=9", route) != keyFor("GET", "h", "/p?k=1", route));

  auto keeping = readRoute();
  keeping.query.mode = config::QueryPolicy::Mode::kKeepOnly;
  keeping.query.patterns = {"page"};
  // A cloaked "page" is page: keyed, not dropped as an unknown name.
  CHECK(keyFor("GET", "h", "/p?pag%65=9", keeping) != keyFor("GET", "h", "/p", keeping));
  CHECK(buildIdentity("GET", "h", targetOf("/p?pag%65=9&x=1"), keeping, {}, "").query == "page=9");
}

TEST_CASE("the route's query policy decides which parameters are keyed") {
  auto ignoring = readRoute();
  ignoring.query.mode = config::QueryPolicy::Mode::kIgnore;
  ignoring.query.patterns = {"utm_*", "fbclid"};
  CHECK(keyFor("GET", "h", "/p?id=1&utm_source=x&fbclid=9", ignoring) == keyFor("GET", "h", "/p?id=1", ignoring));
  CHECK(keyFor("GET", "h", "/p?id=1&utm_source=x", ignoring) != keyFor("GET", "h", "/p?id=2", ignoring));
  CHECK(buildIdentity("GET", "h", targetOf("/p?z=1&utm_a=2&a=3"), ignoring, {}, "").query == "a=3&z=1");

  auto keeping = readRoute();
  keeping.query.mode = config::QueryPolicy::Mode::kKeepOnly;
  keeping.query.patterns = {"page"};
  CHECK(keyFor("GET", "h", "/p?page=2&session=abc", keeping) == keyFor("GET", "h", "/p?page=2", keeping));
  CHECK(keyFor("GET", "h", "/p?page=2", keeping) != keyFor("GET", "h", "/p?page=3", keeping));
}

TEST_CASE("host is keyed case-insensitively and without the default port") {
  struct Row {
    const char* in;
    const char* out;
  };
  const Row rows[] = {
      {"Example.COM", "example.com"},
      {"example.com:80", "example.com"},
      {"example.com:", "example.com"},
      {"example.com:8080", "example.com:8080"},
      {"[::1]:80", "[::1]"},
      {"[::1]", "[::1]"},
      {"[::1]:8080", "[::1]:8080"},
      {"::80", "::80"},  // not a host:port; kept as is
      {"a:b:80", "a:b:80"},
      {"[::1]x:80", "[::1]x"},
      {"[A::1]:80]", "[a::1]:80]"},
      {":80", ""},
      {"EXAMPLE.com:080", "example.com:080"},
      {"", ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.in);
    CHECK(normalizeHost(row.in) == row.out);
    std::string appended = "uri:";  // appended after what is there, which stays
    appendNormalizedHost(appended, row.in);
    CHECK(appended == std::string("uri:") + row.out);
  }
  const auto route = readRoute();
  CHECK(keyFor("GET", "EXAMPLE.com:80", "/a", route) == keyFor("GET", "example.com", "/a", route));
  CHECK(keyFor("GET", "a.example", "/a", route) != keyFor("GET", "b.example", "/a", route));
}

TEST_CASE("normalized paths share a key") {
  const auto route = readRoute();
  CHECK(keyFor("GET", "h", "/a/./b/../c", route) == keyFor("GET", "h", "/a/c", route));
  CHECK(keyFor("GET", "h", "/%7Euser", route) == keyFor("GET", "h", "/~user", route));
  CHECK(keyFor("GET", "h", "/a", route) != keyFor("GET", "h", "/a/", route));
}

TEST_CASE("vary headers split keys; absent differs from empty") {
  auto route = readRoute();
  route.vary = {"accept-language", "x-tenant"};
  const auto en = headersOf({{"Accept-Language", "en"}});
  const auto de = headersOf({{"accept-language", "de"}});
  const auto empty = headersOf({{"Accept-Language", ""}});
  CHECK(keyFor("GET", "h", "/a", route, en) != keyFor("GET", "h", "/a", route, de));
  CHECK(keyFor("GET", "h", "/a", route, en) == keyFor("GET", "h", "/a", route, headersOf({{"ACCEPT-LANGUAGE", "en"}})));
  CHECK(keyFor("GET", "h", "/a", route, {}) != keyFor("GET", "h", "/a", route, empty));
  // Headers that the route does not vary on are not keyed.
  CHECK(keyFor("GET", "h", "/a", route, en) ==
        keyFor("GET", "h", "/a", route, headersOf({{"Accept-Language", "en"}, {"User-Agent", "x"}})));

  http::HeaderMap with_nul;
  with_nul.add("Accept-Language", std::string(1, '\0'));
  const auto absent_id = buildIdentity("GET", "h", targetOf("/a"), route, {}, "");
  const auto nul_id = buildIdentity("GET", "h", targetOf("/a"), route, with_nul, "");
  const auto empty_id = buildIdentity("GET", "h", targetOf("/a"), route, empty, "");
  REQUIRE(absent_id.vary.size() == 2);
  CHECK(absent_id.vary[0] == std::pair<std::string, std::string>("accept-language", std::string(kAbsentHeader)));
  CHECK(empty_id.vary[0].second.empty());
  CHECK(nul_id.vary[0].second == std::string(2, '\0'));
  CHECK(absent_id.serialize() != nul_id.serialize());
  CHECK(absent_id.serialize() != empty_id.serialize());

  // Repeated fields are joined in order (then normalized, cache/vary.h).
  const auto repeated = buildIdentity("GET", "h", targetOf("/a"), route,
                                      headersOf({{"Accept-Language", "en"}, {"accept-language", "de"}}), "");
  CHECK(repeated.vary[0].second == "en,de");
}

TEST_CASE("different principals get different keys") {
  auto route = readRoute();
  route.per_user = config::PrincipalSource{config::PrincipalSource::Kind::kHeader, "X-User", ""};
  CHECK(keyFor("GET", "h", "/me", route, {}, "alice") != keyFor("GET", "h", "/me", route, {}, "bob"));
  CHECK(keyFor("GET", "h", "/me", route, {}, "alice") == keyFor("GET", "h", "/me", route, {}, "alice"));
  CHECK(keyFor("GET", "h", "/me", route, {}, "alice") != keyFor("GET", "h", "/me", route, {}, ""));
}

TEST_CASE("identity serialization is unambiguous when fields contain separators") {
  auto route = readRoute();
  route.vary = {"x-a", "x-b"};
  std::set<std::string> seen;
  std::vector<RequestIdentity> ids;
  auto make = [](std::string host, std::string path, std::string query, std::string a, std::string b,
                 std::string principal) {
    RequestIdentity id;
    id.method_class = "GET";
    id.host = std::move(host);
    id.path = std::move(path);
    id.query = std::move(query);
    id.vary = {{"x-a", std::move(a)}, {"x-b", std::move(b)}};
    id.principal = std::move(principal);
    return id;
  };
  // Each pair moves bytes between adjacent fields, or spells a separator.
  ids.push_back(make("h", "/a", "", "1", "2", ""));
  ids.push_back(make("h/", "a", "", "1", "2", ""));
  ids.push_back(make("h", "/a1:", "", "", "2", ""));
  ids.push_back(make("h", "/a", "1:", "", "2", ""));
  ids.push_back(make("h", "/a", "", "12", "", ""));
  ids.push_back(make("h", "/a", "", "1", "", "2"));
  ids.push_back(make("h", "/a", "", "1", "2;", ""));
  ids.push_back(make("h", "/a", "", "1#1:x", "2", ""));
  ids.push_back(make("1:h", "/a", "", "1", "2", ""));
  ids.push_back(make("h", "/a", "", std::string(kAbsentHeader), "2", ""));
  for (const auto& id : ids) {
    CAPTURE(id.serialize());
    CHECK(seen.insert(id.serialize()).second);
  }
  RequestIdentity fewer_vary = make("h", "/a", "", "1", "2", "");
  fewer_vary.vary.pop_back();
  CHECK(seen.insert(fewer_vary.serialize()).second);
  CHECK(seen.insert(RequestIdentity{}.serialize()).second);
}

TEST_CASE("entry, namespace and uri keys have their documented shapes") {
  const auto route = readRoute();
  const std::string key = keyFor("GET", "h", "/a", route);
  REQUIRE(key.size() == 5 + 32);
  CHECK(key.substr(0, 5) == "v1:e:");
  CHECK(key.substr(5).find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(namespaceKey("v1", "product:7") == "v1:ns:product:7");
  CHECK(uriNamespace("Example.com:80", "/api/p") == "uri:example.com/api/p");
  CHECK(entryKey("v2", buildIdentity("GET", "h", targetOf("/a"), route, {}, "")) != key);
}

// Stored entries outlive a release: their keys digest this text and the
// entry holds it, so its layout is pinned here byte for byte (it was
// rewritten to be built with one allocation, issue 13).
TEST_CASE("the serialized identity and the entry key keep their exact layout") {
  RequestIdentity id;
  id.method_class = "GET";
  id.host = "example.com";
  id.path = "/a";
  id.query = "b=1&c=";
  id.vary = {{"accept-language", "en"}, {"x", std::string(kAbsentHeader)}};
  std::string expected = "id1;3:GET11:example.com2:/a6:b=1&c=2#15:accept-language2:en1:x1:";
  expected += '\0';  // kAbsentHeader
  expected += "0:";
  CHECK(id.serialize() == expected);
  CHECK(entryKey("v1", id) == "v1:e:" + digestHex(id.serialize()));
  CHECK(entryKeyOf("v1", id.serialize()) == entryKey("v1", id));
  // Lengths, and a vary count, of several digits.
  RequestIdentity wide;
  wide.path = "/" + std::string(123, 'p');
  wide.principal = std::string(10, 'u');
  for (int i = 0; i < 12; ++i) wide.vary.emplace_back("h" + std::to_string(i), "");
  std::string wide_expected = "id1;0:0:124:" + wide.path + "0:12#";
  for (int i = 0; i < 12; ++i) wide_expected += std::to_string(i >= 10 ? 3 : 2) + ":h" + std::to_string(i) + "0:";
  wide_expected += "10:uuuuuuuuuu";
  CHECK(wide.serialize() == wide_expected);
  CHECK(RequestIdentity{}.serialize() == "id1;0:0:0:0:0#0:");
}

TEST_CASE("version tokens are 32 hex digits and do not repeat") {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) {
    const std::string token = newVersionToken();
    REQUIRE(token.size() == 32);
    CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
    tokens.insert(token);
  }
  CHECK(tokens.size() == 1000);
}

TEST_CASE("principal from a header") {
  const config::PrincipalSource source{config::PrincipalSource::Kind::kHeader, "X-User", ""};
  struct Row {
    http::HeaderMap headers;
    std::optional<std::string> principal;
  };
  const Row rows[] = {
      {headersOf({{"X-User", "alice"}}), "alice"},
      {headersOf({{"x-user", "  bob \t"}}), "bob"},
      {headersOf({{"X-User", "a"}, {"X-User", "b"}}), "a, b"},
      {headersOf({{"X-User", ""}}), std::nullopt},
      {headersOf({{"X-User", "   "}}), std::nullopt},
      {headersOf({{"X-Other", "alice"}}), std::nullopt},
      {headersOf({}), std::nullopt},
  };
  for (const Row& row : rows) {
    CHECK(extractPrincipal(source, row.headers) == row.principal);
  }
}

TEST_CASE("principal from a cookie") {
  const config::PrincipalSource source{config::PrincipalSource::Kind::kCookie, "sid", ""};
  struct Row {
    http::HeaderMap headers;
    std::optional<std::string> principal;
  };
  const Row rows[] = {
      {headersOf({{"Cookie", "sid=abc"}}), "abc"},
      {headersOf({{"Cookie", "a=1; sid=abc; b=2"}}), "abc"},
      {headersOf({{"Cookie", "a=1;sid=abc"}}), "abc"},
      {headersOf({{"Cookie", "a=1"}, {"cookie", "sid=xyz"}}), "xyz"},
      {headersOf({{"Cookie", "sid=a=b"}}), "a=b"},
      {headersOf({{"Cookie", "sid=abc; sid=abc"}}), "abc"},
      {headersOf({{"Cookie", "sid=abc; sid=def"}}), std::nullopt},  // ambiguous
      {headersOf({{"Cookie", "sid=abc"}, {"Cookie", "sid=def"}}), std::nullopt},
      {headersOf({{"Cookie", "SID=abc"}}), std::nullopt},  // names are case-sensitive
      {headersOf({{"Cookie", "xsid=abc; sidx=def"}}), std::nullopt},
      {headersOf({{"Cookie", "sid="}}), std::nullopt},
      {headersOf({{"Cookie", "sid"}}), std::nullopt},
      {headersOf({{"Cookie", ";;; ; ="}}), std::nullopt},
      {headersOf({{"Cookie", ""}}), std::nullopt},
      {headersOf({}), std::nullopt},
  };
  for (const Row& row : rows) {
    CHECK(extractPrincipal(source, row.headers) == row.principal);
  }
}

TEST_CASE("principal from a JWT claim, malformed tokens rejected") {
  const config::PrincipalSource source{config::PrincipalSource::Kind::kJwtClaim, "Authorization", "sub"};
  struct Row {
    const char* name;
    std::string authorization;
    std::optional<std::string> principal;
  };
  const Row rows[] = {
      {"string claim", "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9"), "user-42"},
      {"scheme is case-insensitive", "bearer   " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9"), "user-42"},
      {"no scheme", jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9"), "user-42"},
      {"number claim", "Bearer " + jwt("eyJpYXQiOjE1MTYyMzkwMjIsInN1YiI6MTIzNDV9"), "12345"},
      {"number with exponent", "Bearer " + jwt("eyJzdWIiOi0xLjVlKzN9"), "-1.5e+3"},
      {"escapes decoded", "Bearer " + jwt("eyJzdWIiOiJhXCJiXFxjXHUwMGU5XHVkODNkXHVkZTAwIn0"),
       "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80"},
      {"padded payload", "Bearer " + jwt("eyJzdWIiOiJhXCJiXFxjXHUwMGU5XHVkODNkXHVkZTAwIn0="),
       "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80"},
      {"nested claim of the same name ignored",
       "Bearer " + jwt("eyJ4Ijp7InN1YiI6ImlubmVyIiwiYSI6WzEsMix7ImIiOm51bGx9XX0sInN1YiI6Im91dGVyIiwidCI6dHJ1ZSwiZiI6ZmFsc2V9"),
       "outer"},
      {"whitespace around JSON", "Bearer " + jwt("IAp7ICJzdWIiIDogIndzIiB9IAk"), "ws"},
      {"duplicate claim", "Bearer " + jwt("eyJzdWIiOiJhIiwic3ViIjoiYiJ9"), std::nullopt},
      {"boolean claim", "Bearer " + jwt("eyJzdWIiOnRydWV9"), std::nullopt},
      {"null claim", "Bearer " + jwt("eyJzdWIiOm51bGx9"), std::nullopt},
      {"object claim", "Bearer " + jwt("eyJzdWIiOnsiaWQiOjF9fQ"), std::nullopt},
      {"missing claim", "Bearer " + jwt("eyJ1aWQiOiJ4In0"), std::nullopt},
      {"empty claim", "Bearer " + jwt("eyJzdWIiOiIifQ"), std::nullopt},
      {"array payload", "Bearer " + jwt("WyJzdWIiLCJ4Il0"), std::nullopt},
      {"trailing garbage", "Bearer " + jwt("eyJzdWIiOiJhIn14"), std::nullopt},
      {"unterminated string", "Bearer " + jwt("eyJzdWIiOiJh"), std::nullopt},
      {"bad escape", "Bearer " + jwt("eyJzdWIiOiJhXHEifQ"), std::nullopt},
      {"lone surrogate", "Bearer " + jwt("eyJzdWIiOiJcdWQ4MDAifQ"), std::nullopt},
      {"leading zero", "Bearer " + jwt("eyJzdWIiOjAxfQ"), std::nullopt},
      {"control byte in string", "Bearer " + jwt("eyJzdWIiOiJhASJ9"), std::nullopt},
      {"nesting too deep",
       "Bearer " + jwt("eyJhIjpbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXSwic3ViIjoiZGVlcCJ9"),
       std::nullopt},
      {"not JSON", "Bearer " + jwt("aGVsbG8"), std::nullopt},
      {"standard base64 alphabet", "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9+/"), std::nullopt},
      {"impossible base64 length", "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9A"), std::nullopt},
      {"misplaced padding", "Bearer " + jwt("eyJzdWIiOiIifQ="), std::nullopt},
      {"two parts", "Bearer " + std::string(kJwtHeader) + ".eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9", std::nullopt},
      {"four parts", "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9") + ".x", std::nullopt},
      {"space inside token", "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQy IiwibmFtZSI6IkFubiJ9"), std::nullopt},
      {"other scheme", "Basic dXNlcjpwYXNz", std::nullopt},
      {"scheme only", "Bearer", std::nullopt},
      {"empty", "", std::nullopt},
      {"dots only", "Bearer ..", std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    http::HeaderMap headers;
    headers.add("Authorization", row.authorization);
    CHECK(claimOf(extractPrincipal(source, headers)) == row.principal);
  }
}

TEST_CASE("JWT claim: a forged signature never yields the real token's principal") {
  const config::PrincipalSource source{config::PrincipalSource::Kind::kJwtClaim, "", "sub"};
  const std::string payload = "eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9";
  http::HeaderMap real, forged, again;
  real.add("Authorization", "Bearer " + std::string(kJwtHeader) + "." + payload + ".c2lnbmVk");
  forged.add("Authorization", "Bearer " + std::string(kJwtHeader) + "." + payload + ".Zm9yZ2Vk");
  again.add("Authorization", "Bearer " + std::string(kJwtHeader) + "." + payload + ".c2lnbmVk");
  auto real_principal = extractPrincipal(source, real);
  auto forged_principal = extractPrincipal(source, forged);
  REQUIRE(real_principal);
  REQUIRE(forged_principal);
  CHECK(claimOf(real_principal) == claimOf(forged_principal));  // same claimed user
  CHECK(*real_principal != *forged_principal);                 // never the same entries
  CHECK(extractPrincipal(source, again) == real_principal);    // the same token hits
}

TEST_CASE("JWT claim: header defaults to Authorization, exactly one field required") {
  const std::string token = "Bearer " + jwt("eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkFubiJ9");
  const config::PrincipalSource default_header{config::PrincipalSource::Kind::kJwtClaim, "", "sub"};
  http::HeaderMap one;
  one.add("authorization", token);
  CHECK(claimOf(extractPrincipal(default_header, one)) == std::optional<std::string>("user-42"));

  const config::PrincipalSource custom{config::PrincipalSource::Kind::kJwtClaim, "X-Token", "name"};
  http::HeaderMap custom_headers;
  custom_headers.add("X-Token", token);
  CHECK(claimOf(extractPrincipal(custom, custom_headers)) == std::optional<std::string>("Ann"));

  http::HeaderMap two = one;
  two.add("Authorization", token);
  CHECK_FALSE(extractPrincipal(default_header, two).has_value());
  CHECK_FALSE(extractPrincipal(default_header, http::HeaderMap{}).has_value());
}

TEST_CASE("an entry's namespaces: the route's expanded, the URI's, then everything; a write's: its own and the URI's") {
  config::Route route = readRoute();
  config::Template item, list;
  std::string error;
  REQUIRE(config::Template::parse("product:{id}", {"id"}, item, error));
  REQUIRE(config::Template::parse("products", {"id"}, list, error));
  route.namespaces = {item};
  config::Params params{{"id", "7"}};
  CHECK(entryNamespaces(route, params, "api.example", "/products/7") ==
        std::vector<std::string>{"product:7", "uri:api.example/products/7", "*"});
  // What a lookup reads: the same names as store keys, in the same order.
  for (const char* host : {"api.example", "API.Example:80", "[::1]:80", "h:8080"}) {
    CAPTURE(host);
    std::vector<std::string> expected;
    for (const auto& ns : entryNamespaces(route, params, host, "/products/7"))
      expected.push_back(namespaceKey("pfx", ns));
    std::vector<std::string> keys{"kept"};
    appendEntryNamespaceKeys("pfx", route, params, host, "/products/7", keys);
    expected.insert(expected.begin(), "kept");
    CHECK(keys == expected);
  }
  std::vector<std::string> keys;
  appendEntryNamespaceKeys("p", route, params, "API.example", "/products/7", keys);
  CHECK(keys == std::vector<std::string>{"p:ns:product:7", "p:ns:uri:api.example/products/7", "p:ns:*"});
  config::Route write;
  write.methods = {"PUT"};
  write.invalidates = {list, item};
  CHECK(writeNamespaces(&write, params, "api.example", "/products/7") ==
        std::vector<std::string>{"products", "product:7", "uri:api.example/products/7"});
  CHECK(writeNamespaces(nullptr, {}, "api.example", "/x") == std::vector<std::string>{"uri:api.example/x"});
}
