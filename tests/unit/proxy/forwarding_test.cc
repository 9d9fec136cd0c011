// proxy::deriveForwardedRequest: the one derivation that gives both the
// forwarded request and the keyed identity (DESIGN invariant 11).
#include "proxy/forwarding.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "cache/key.h"

using namespace larder;
using namespace larder::proxy;

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

base::Result<ForwardedRequest, ForwardRefusal> derive(std::string_view target, http::HeaderMap headers,
                                                      const config::Route* route,
                                                      const config::Config& config = {},
                                                      std::string_view method = "GET") {
  auto parsed = http::parseTarget(target);
  REQUIRE(parsed.has_value());
  return deriveForwardedRequest(method, *parsed, std::move(headers), 1, "10.0.0.1", config, route);
}

// doctest would find proxy::toString by ADL and expect its own String.
std::string refusal(const base::Result<ForwardedRequest, ForwardRefusal>& result) {
  return result.ok() ? std::string("forwarded") : std::string(toString(result.error()));
}

}  // namespace

TEST_CASE("an absolute-form target's authority replaces Host, and the target goes origin-form") {
  const auto route = readRoute();
  auto out = derive("http://Evil.Example/x?a=1", headersOf({{"Host", "victim.example"}}), &route);
  REQUIRE(out.ok());
  CHECK(out->host == "evil.example");
  CHECK(out->target == "/x?a=1");
  CHECK(*out->headers.find("Host") == "evil.example");
  CHECK(out->headers.findAll("Host").size() == 1);
  CHECK(*out->headers.find("X-Forwarded-Host") == "evil.example");
}

TEST_CASE("Host is forwarded as keyed: lower case, default port dropped; invalid ones are refused") {
  auto out = derive("/", headersOf({{"Host", "Victim.Example:80"}}), nullptr);
  REQUIRE(out.ok());
  CHECK(out->host == "victim.example");
  CHECK(*out->headers.find("Host") == "victim.example");
  CHECK(derive("/", headersOf({{"Host", "[::1]:8080"}}), nullptr).ok());

  CHECK(refusal(derive("/", {}, nullptr)) == "missing Host");
  for (const char* bad : {"", " ", "a/b", "a b", "user@host", "a\\b", "h:80x", "h:123456", "[zz]", ":80", "é.example"}) {
    CAPTURE(bad);
    auto refused = derive("/", headersOf({{"Host", bad}}), nullptr);
    REQUIRE_FALSE(refused.ok());
    CHECK(refusal(refused) == "invalid Host");
  }
}

TEST_CASE("Connection cannot remove Host, and fields it names are gone before anything is keyed") {
  auto route = readRoute();
  route.vary = {"accept-language"};
  auto out = derive("/p", headersOf({{"Host", "victim.example"}, {"Accept-Language", "fr"},
                                      {"Connection", "Host, Accept-Language"}}),
                    &route);
  REQUIRE(out.ok());
  CHECK(*out->headers.find("Host") == "victim.example");
  CHECK_FALSE(out->headers.has("Accept-Language"));
  const auto id = cache::buildIdentity("GET", out->host, out->parsed, route, out->headers, "");
  REQUIRE(id.vary.size() == 1);
  CHECK(id.vary[0].second == cache::kAbsentHeader);  // keyed as the upstream sees it: absent
}

TEST_CASE("the path is forwarded normalized; reserved escapes stay encoded") {
  struct Row {
    const char* target;
    const char* forwarded;
  };
  const Row rows[] = {
      {"/x/../api/products", "/api/products"}, {"//api/products", "/api/products"},
      {"/%2e%2e/api/products", "/api/products"}, {"/api/product%73", "/api/products"},
      {"/a%2Fb", "/a%2Fb"}, {"/a%2fb", "/a%2Fb"}, {"/a%3Fb", "/a%3Fb"}, {"/a;x.css", "/a;x.css"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.target);
    auto out = derive(row.target, headersOf({{"Host", "h"}}), nullptr);
    REQUIRE(out.ok());
    CHECK(out->target == row.forwarded);
  }
}

TEST_CASE("on a read route the forwarded query is the keyed one; elsewhere it is forwarded as received") {
  auto keeping = readRoute();
  keeping.query.mode = config::QueryPolicy::Mode::kKeepOnly;
  keeping.query.patterns = {"page"};
  auto out = derive("/p?pag%65=9&x=1&page=1", headersOf({{"Host", "h"}}), &keeping);
  REQUIRE(out.ok());
  CHECK(out->target == "/p?page=9&page=1");
  const auto id = cache::buildIdentity("GET", out->host, out->parsed, keeping, out->headers, "");
  CHECK(id.query == out->parsed.query);

  auto dropped = derive("/p?x=1", headersOf({{"Host", "h"}}), &keeping);
  REQUIRE(dropped.ok());
  CHECK(dropped->target == "/p");

  auto passed = derive("/p?b=2&pag%65=9&&a", headersOf({{"Host", "h"}}), nullptr);
  REQUIRE(passed.ok());
  CHECK(passed->target == "/p?b=2&pag%65=9&&a");
  auto write = derive("/p?b=2&a=1", headersOf({{"Host", "h"}}), &keeping, {}, "POST");
  REQUIRE(write.ok());
  CHECK(write->target == "/p?b=2&a=1");
}

TEST_CASE("unkeyed override fields and names with '_' are stripped unless keyed or configured") {
  const auto route = readRoute();
  const char* stripped[] = {"X-Forwarded-Protocol", "Front-End-Https", "X-Url-Scheme", "X-Forwarded-Uri",
                            "X-Original-Path", "X-Envoy-Original-Path", "X-Real-IP", "True-Client-IP",
                            "X-Original-URL", "Forwarded", "X-HTTP-Method-Override", "Transfer_Encoding",
                            "X_Forwarded_Host", "Accept_Language"};
  http::HeaderMap headers = headersOf({{"Host", "h"}, {"Accept", "text/plain"}});
  for (const char* name : stripped) headers.add(name, "evil");
  auto out = derive("/", headers, &route);
  REQUIRE(out.ok());
  for (const char* name : stripped) {
    CAPTURE(name);
    CHECK_FALSE(out->headers.has(name));
  }
  CHECK(out->headers.has("Accept"));

  auto keying = readRoute();
  keying.vary = {"x-real-ip"};
  auto keyed = derive("/", headersOf({{"Host", "h"}, {"X-Real-IP", "1.2.3.4"}}), &keying);
  REQUIRE(keyed.ok());
  CHECK(*keyed->headers.find("X-Real-IP") == "1.2.3.4");

  config::Config config;
  config.request_headers.strip = {"x-debug"};
  config.request_headers.forward = {"x-real-ip", "x_tenant"};
  auto configured = derive("/", headersOf({{"Host", "h"}, {"X-Debug", "1"}, {"X-Real-IP", "1.2.3.4"},
                                           {"X_Tenant", "a"}, {"X_Other", "b"}}),
                           &route, config);
  REQUIRE(configured.ok());
  CHECK_FALSE(configured->headers.has("X-Debug"));
  CHECK(configured->headers.has("X-Real-IP"));
  CHECK(configured->headers.has("X_Tenant"));
  CHECK_FALSE(configured->headers.has("X_Other"));
}

TEST_CASE("X-Forwarded-For is appended to, X-Forwarded-Proto overwritten, Via appended; upstream.host wins") {
  config::Config config;
  config.upstream.host = "api.internal";
  auto out = derive("/", headersOf({{"Host", "h:8080"}, {"X-Forwarded-For", "1.1.1.1"},
                                    {"X-Forwarded-Proto", "https"}, {"Via", "1.0 fred"}}),
                    nullptr, config);
  REQUIRE(out.ok());
  CHECK(*out->headers.find("X-Forwarded-For") == "1.1.1.1, 10.0.0.1");
  CHECK(*out->headers.find("X-Forwarded-Proto") == "http");
  CHECK(*out->headers.find("X-Forwarded-Host") == "h:8080");
  CHECK(*out->headers.find("Via") == "1.0 fred, 1.1 larder");
  CHECK(*out->headers.find("Host") == "api.internal");
  CHECK(out->host == "h:8080");
}

namespace {

std::string fieldList(const http::HeaderMap& headers) {
  std::string out;
  for (const auto& h : headers) out += h.name + "=" + h.value + "\n";
  return out;
}

}  // namespace

// The exact field list sent upstream, in order: the client's fields as
// kept, then the four larder sets. Whether the client sent none of those
// four (the one-scan path) or some (each set in place, spelling and
// position kept), the order and the values are the same as they always
// were (issue 13 split the two cases).
TEST_CASE("the forwarded fields, exactly and in order, with and without client forwarding fields") {
  auto none = derive("/a", headersOf({{"Accept", "*/*"}, {"host", "H.example"}, {"Expect", "100-continue"},
                                      {"X-Real-IP", "6.6.6.6"}, {"User-Agent", "t"}}),
                     nullptr);
  REQUIRE(none.ok());
  CHECK(fieldList(none->headers) ==
        "Host=h.example\nAccept=*/*\nUser-Agent=t\nX-Forwarded-For=10.0.0.1\nX-Forwarded-Proto=http\n"
        "X-Forwarded-Host=h.example\nVia=1.1 larder\n");

  auto some = derive("/a", headersOf({{"x-forwarded-host", "evil.example"}, {"Host", "h.example"},
                                      {"Accept", "*/*"}, {"X-FORWARDED-HOST", "evil2.example"}}),
                     nullptr);
  REQUIRE(some.ok());
  CHECK(fieldList(some->headers) ==
        "Host=h.example\nx-forwarded-host=h.example\nAccept=*/*\nX-Forwarded-For=10.0.0.1\n"
        "X-Forwarded-Proto=http\nVia=1.1 larder\n");

  auto via_only = derive("/a", headersOf({{"Host", "h.example"}, {"via", "1.1 cdn"}}), nullptr);
  REQUIRE(via_only.ok());
  CHECK(fieldList(via_only->headers) ==
        "Host=h.example\nvia=1.1 cdn, 1.1 larder\nX-Forwarded-For=10.0.0.1\nX-Forwarded-Proto=http\n"
        "X-Forwarded-Host=h.example\n");
}
