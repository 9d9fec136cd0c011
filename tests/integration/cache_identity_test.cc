// Keyed = forwarded (DESIGN invariant 11), one case per way the key and the
// forwarded request used to disagree (issue 10, items 1-7), against a
// virtual-hosting origin that answers differently per host, path, query and
// field (identity_support.h). Each case failed before the forwarded request
// and the key were derived together (proxy/forwarding.h).
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "identity_support.h"

namespace larder::test {
namespace {

RecordedRequest lastSeen(VhostFixture& fixture) {
  auto requests = fixture.upstream.requests();
  REQUIRE_FALSE(requests.empty());
  return requests.back();
}

TEST_CASE("an absolute-form target goes upstream origin-form, with its authority as Host, and is keyed on it") {
  VhostFixture fixture;
  auto attack = fixture.raw("GET http://evil.example/api/plain/1 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
  REQUIRE(attack);
  CHECK(attack->status == 200);
  CHECK(attack->body == expectedBody("evil.example", "/api/plain/1"));
  const RecordedRequest seen = lastSeen(fixture);
  CHECK(seen.target == "/api/plain/1");
  CHECK(seen.header("Host") == "evil.example");
  CHECK(seen.headerValues("Host").size() == 1);

  HttpResponse victim = victimGet(fixture, "/api/plain/1");
  CHECK(victim.header("X-Cache") == "MISS");
  CHECK(victim.body == expectedBody("victim.example", "/api/plain/1"));
  // And the absolute form is a hit for its own host.
  auto again = fixture.raw("GET http://EVIL.example:80/api/plain/1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
  REQUIRE(again);
  CHECK(again->header("X-Cache") == "HIT");
  CHECK(again->body == expectedBody("evil.example", "/api/plain/1"));
}

TEST_CASE("an odd path form is forwarded as the normalized path it is keyed on, both ways") {
  VhostFixture fixture;
  // Raw odd forms: the upstream sees exactly the keyed path, so they share
  // the canonical entry.
  const char* forms[] = {"/api/x/../plain/2", "//api/plain/2", "/api/%70lain/2", "/api/plain/%32", "/api/./plain/2"};
  for (const char* form : forms) {
    CAPTURE(form);
    auto response = fixture.raw(fmt::format("GET {} HTTP/1.1\r\nHost: victim.example\r\n\r\n", form));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == expectedBody("victim.example", "/api/plain/2"));
    CHECK(lastSeen(fixture).target == "/api/plain/2");
  }
  CHECK(fixture.upstream.requestCount() == 1);
  HttpResponse canonical = victimGet(fixture, "/api/plain/2");
  CHECK(canonical.header("X-Cache") == "HIT");
  CHECK(canonical.status == 200);

  // A 404 on an odd form belongs to the path it normalizes to, never to
  // the canonical one.
  auto odd = fixture.raw("GET /api/plain/3/.. HTTP/1.1\r\nHost: victim.example\r\n\r\n");
  REQUIRE(odd);
  CHECK(odd->status == 404);
  CHECK(lastSeen(fixture).target == "/api/plain/");
  HttpResponse real = victimGet(fixture, "/api/plain/3");
  CHECK(real.status == 200);
  CHECK(real.header("X-Cache") == "MISS");
  CHECK(real.body == expectedBody("victim.example", "/api/plain/3"));
  // Encoded reserved characters are not decoded: %2F stays a byte of its segment.
  auto slash = fixture.raw("GET /api/plain%2F4 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
  REQUIRE(slash);
  CHECK(lastSeen(fixture).target == "/api/plain%2F4");
  CHECK(victimGet(fixture, "/api/plain/4").body == expectedBody("victim.example", "/api/plain/4"));
}

TEST_CASE("Connection cannot strip Host, and a keyed field it names is keyed as absent") {
  VhostFixture fixture;
  auto no_host = fixture.raw("GET /api/plain/5 HTTP/1.1\r\nHost: victim.example\r\nConnection: Host\r\n\r\n");
  REQUIRE(no_host);
  CHECK(lastSeen(fixture).header("Host") == "victim.example");
  HttpResponse victim = victimGet(fixture, "/api/plain/5");
  CHECK(victim.body == expectedBody("victim.example", "/api/plain/5"));

  auto no_lang = fixture.raw(
      "GET /api/varied/5 HTTP/1.1\r\nHost: victim.example\r\nAccept-Language: en\r\n"
      "Connection: Accept-Language\r\n\r\n");
  REQUIRE(no_lang);
  CHECK_FALSE(lastSeen(fixture).hasHeader("Accept-Language"));
  CHECK(no_lang->body == expectedBody("victim.example", "/api/varied/5"));
  HttpResponse english = victimGet(fixture, "/api/varied/5", {{"Accept-Language", "en"}});
  CHECK(english.header("X-Cache") == "MISS");
  CHECK(english.body == expectedBody("victim.example", "/api/varied/5", "", "en"));
}

TEST_CASE("Connection naming the principal's field leaves the request without one: not cached for that user") {
  VhostFixture fixture;
  auto stripped = fixture.raw(
      "GET /api/mine/1 HTTP/1.1\r\nHost: victim.example\r\nX-User: alice\r\nConnection: X-User\r\n\r\n");
  REQUIRE(stripped);
  CHECK_FALSE(lastSeen(fixture).hasHeader("X-User"));
  CHECK(stripped->header("X-Cache") == "BYPASS");  // no principal as forwarded: nothing keyed per user
  HttpResponse alice = victimGet(fixture, "/api/mine/1", {{"X-User", "alice"}});
  CHECK(alice.header("X-Cache") == "MISS");
  CHECK(alice.body == expectedBody("victim.example", "/api/mine/1", "", "", "[user=alice]"));
}

TEST_CASE("query names are keyed decoded, repeated names keep their order, and unkeyed parameters are not forwarded") {
  VhostFixture fixture;
  SUBCASE("a percent-encoded name is the name the upstream decodes") {
    auto attack = fixture.raw("GET /api/kept/6?pag%65=9 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
    REQUIRE(attack);
    CHECK(lastSeen(fixture).target == "/api/kept/6?page=9");
    HttpResponse victim = victimGet(fixture, "/api/kept/6");
    CHECK(victim.header("X-Cache") == "MISS");
    CHECK(victim.body == expectedBody("victim.example", "/api/kept/6"));
  }
  SUBCASE("page=1&page=9 and page=9&page=1 are different requests") {
    auto attack = fixture.raw("GET /api/kept/7?page=1&page=9 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
    REQUIRE(attack);
    CHECK(attack->body == expectedBody("victim.example", "/api/kept/7", "9"));
    HttpResponse victim = victimGet(fixture, "/api/kept/7?page=9&page=1");
    CHECK(victim.header("X-Cache") == "MISS");
    CHECK(victim.body == expectedBody("victim.example", "/api/kept/7", "1"));
  }
  SUBCASE("';' is not a separator: a parameter the route does not keep is not forwarded either") {
    auto attack = fixture.raw("GET /api/kept/8?x=1;page=9 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
    REQUIRE(attack);
    CHECK(lastSeen(fixture).target == "/api/kept/8");
    HttpResponse victim = victimGet(fixture, "/api/kept/8");
    CHECK(victim.body == expectedBody("victim.example", "/api/kept/8"));
  }
  SUBCASE("';' inside a keyed parameter is keyed and forwarded exactly") {
    auto attack = fixture.raw("GET /api/plain/9?a=1;page=9 HTTP/1.1\r\nHost: victim.example\r\n\r\n");
    REQUIRE(attack);
    CHECK(lastSeen(fixture).target == "/api/plain/9?a=1;page=9");
    HttpResponse victim = victimGet(fixture, "/api/plain/9?a=1");
    CHECK(victim.header("X-Cache") == "MISS");
    CHECK(victim.body == expectedBody("victim.example", "/api/plain/9"));
  }
}

TEST_CASE("override fields that frameworks trust, and names with '_', never reach the upstream") {
  VhostFixture fixture("request_headers: { strip: [X-Debug-Mode], forward: [X-Cluster-Client-IP] }\n");
  const char* fields[] = {"X-Forwarded-Protocol: https", "Front-End-Https: on", "X-Url-Scheme: https",
                          "X-Forwarded-Uri: /admin", "X-Original-Path: /admin", "X-Envoy-Original-Path: /admin",
                          "X-Real-IP: 10.9.9.9", "True-Client-IP: 10.9.9.9", "X_Forwarded_Host: evil.example",
                          "Transfer_Encoding: chunked", "X-Debug-Mode: 1"};
  int id = 10;
  for (const char* field : fields) {
    CAPTURE(field);
    const std::string path = fmt::format("/api/plain/{}", id++);
    auto attack = fixture.raw(fmt::format("GET {} HTTP/1.1\r\nHost: victim.example\r\n{}\r\n\r\n", path, field));
    REQUIRE(attack);
    const RecordedRequest seen = lastSeen(fixture);
    const std::string name(std::string_view(field).substr(0, std::string_view(field).find(':')));
    CHECK_FALSE(seen.hasHeader(name));
    HttpResponse victim = victimGet(fixture, path);
    CHECK(victim.body == expectedBody("victim.example", path));
  }
  // An operator's `forward:` lets a default-stripped field through.
  auto allowed = fixture.raw("GET /api/plain/30 HTTP/1.1\r\nHost: victim.example\r\nX-Cluster-Client-IP: 1.2.3.4\r\n\r\n");
  REQUIRE(allowed);
  CHECK(lastSeen(fixture).header("X-Cluster-Client-IP") == "1.2.3.4");
}

TEST_CASE("a GET with a body is forwarded with it but never stored, nor answered from the cache") {
  VhostFixture fixture;
  HttpResponse warm = victimGet(fixture, "/api/plain/41");
  CHECK(warm.header("X-Cache") == "MISS");
  auto fat = fixture.raw("GET /api/plain/40 HTTP/1.1\r\nHost: victim.example\r\nContent-Length: 4\r\n\r\nevil");
  REQUIRE(fat);
  CHECK(fat->header("X-Cache") == "BYPASS");
  CHECK(fat->body == expectedBody("victim.example", "/api/plain/40", "", "", "[body=evil]"));
  HttpResponse victim = victimGet(fixture, "/api/plain/40");
  CHECK(victim.header("X-Cache") == "MISS");
  CHECK(victim.body == expectedBody("victim.example", "/api/plain/40"));
  auto chunked = fixture.raw(
      "GET /api/plain/41 HTTP/1.1\r\nHost: victim.example\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n");
  REQUIRE(chunked);
  CHECK(chunked->header("X-Cache") == "BYPASS");  // not the stored entry
  CHECK(chunked->body == expectedBody("victim.example", "/api/plain/41", "", "", "[body=evil]"));
  CHECK(victimGet(fixture, "/api/plain/41").body == warm.body);
}

TEST_CASE("an HTTP/0.9 request line, or a request without any Host, is refused and never forwarded") {
  VhostFixture fixture;
  {
    HttpClient client = fixture.client();
    REQUIRE(client.send("GET /api/plain/50\r\n\r\n"));
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status == 505);
    CHECK(client.isClosedByPeer(2s));
  }
  {
    HttpClient client = fixture.client();
    REQUIRE(client.send("GET /api/plain/51 HTTP/1.0\r\n\r\n"));
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(client.isClosedByPeer(2s));
  }
  for (const char* host : {"victim.example/evil", "a b", "user@victim.example"}) {
    CAPTURE(host);
    auto response = fixture.raw(fmt::format("GET /api/plain/52 HTTP/1.1\r\nHost: {}\r\n\r\n", host));
    REQUIRE(response);
    CHECK(response->status == 400);
  }
  CHECK(fixture.upstream.requestCount() == 0);
}

}  // namespace
}  // namespace larder::test
