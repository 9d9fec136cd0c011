// The poisoning matrix (issue 10; DESIGN invariant 11): every attack on the
// identity of a cached request goes through larder to a virtual-hosting
// origin (identity_support.h) that answers differently per host, path,
// query and field. After each attack, the victim's own request, and a
// second one, must get exactly the answer for the victim's request: never
// the attacker's. Each row uses its own resource, so rows cannot mask each
// other.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "identity_support.h"

namespace larder::test {
namespace {

struct Attack {
  const char* name;
  std::string request;      // raw bytes; {p} is the row's resource path
  std::string victim_path;  // the victim's target ({p} as well)
  Headers victim_headers;
  std::string expected_page;
  std::string expected_lang;
};

std::vector<Attack> attacks() {
  const std::string h = "Host: victim.example\r\n";
  return {
      {"absolute-form authority", "GET http://evil.example{p} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"absolute-form, https scheme", "GET https://evil.example{p} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"dot segments", "GET /x/..{p} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"encoded dot segments", "GET /x/%2e%2e{p} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"double slash", "GET /{p} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"percent-encoded unreserved byte", "GET {e} HTTP/1.1\r\n" + h + "\r\n", "{p}", {}, "", ""},
      {"Connection: Host", "GET {p} HTTP/1.1\r\n" + h + "Connection: Host\r\n\r\n", "{p}", {}, "", ""},
      {"Connection: Host, keep-alive", "GET {p} HTTP/1.1\r\n" + h + "Connection: keep-alive, host\r\n\r\n", "{p}", {}, "", ""},
      {"Connection names the varied field", "GET {v} HTTP/1.1\r\n" + h + "Accept-Language: en\r\nConnection: Accept-Language\r\n\r\n",
       "{v}", {{"Accept-Language", "en"}}, "", "en"},
      {"cloaked query name", "GET {k}?pag%65=9 HTTP/1.1\r\n" + h + "\r\n", "{k}", {}, "", ""},
      {"cloaked query name, other byte", "GET {k}?page=1&%70age=9&pag%45=2 HTTP/1.1\r\n" + h + "\r\n", "{k}?page=1", {}, "1", ""},
      {"repeated name, other order", "GET {k}?page=1&page=9 HTTP/1.1\r\n" + h + "\r\n", "{k}?page=9&page=1", {}, "1", ""},
      {"';' hides a parameter", "GET {k}?x=1;page=9 HTTP/1.1\r\n" + h + "\r\n", "{k}", {}, "", ""},
      {"X-Forwarded-Protocol", "GET {p} HTTP/1.1\r\n" + h + "X-Forwarded-Protocol: https\r\n\r\n", "{p}", {}, "", ""},
      {"Front-End-Https", "GET {p} HTTP/1.1\r\n" + h + "Front-End-Https: on\r\n\r\n", "{p}", {}, "", ""},
      {"X-Url-Scheme", "GET {p} HTTP/1.1\r\n" + h + "X-Url-Scheme: https\r\n\r\n", "{p}", {}, "", ""},
      {"X-Forwarded-Uri", "GET {p} HTTP/1.1\r\n" + h + "X-Forwarded-Uri: /admin\r\n\r\n", "{p}", {}, "", ""},
      {"X-Original-Path", "GET {p} HTTP/1.1\r\n" + h + "X-Original-Path: /admin\r\n\r\n", "{p}", {}, "", ""},
      {"X-Envoy-Original-Path", "GET {p} HTTP/1.1\r\n" + h + "X-Envoy-Original-Path: /admin\r\n\r\n", "{p}", {}, "", ""},
      {"X-Real-IP", "GET {p} HTTP/1.1\r\n" + h + "X-Real-IP: 10.0.0.9\r\n\r\n", "{p}", {}, "", ""},
      {"True-Client-IP", "GET {p} HTTP/1.1\r\n" + h + "True-Client-IP: 10.0.0.9\r\n\r\n", "{p}", {}, "", ""},
      {"X-Original-URL", "GET {p} HTTP/1.1\r\n" + h + "X-Original-URL: /admin\r\n\r\n", "{p}", {}, "", ""},
      {"Forwarded", "GET {p} HTTP/1.1\r\n" + h + "Forwarded: host=evil.example\r\n\r\n", "{p}", {}, "", ""},
      {"X-Forwarded-Host", "GET {p} HTTP/1.1\r\n" + h + "X-Forwarded-Host: evil.example\r\n\r\n", "{p}", {}, "", ""},
      {"underscore spelling of X-Forwarded-Host", "GET {p} HTTP/1.1\r\n" + h + "X_Forwarded_Host: evil.example\r\n\r\n",
       "{p}", {}, "", ""},
      {"underscore spelling of X-Real-IP", "GET {p} HTTP/1.1\r\n" + h + "X_Real_IP: 10.0.0.9\r\n\r\n", "{p}", {}, "", ""},
      {"fat GET (Content-Length)", "GET {p} HTTP/1.1\r\n" + h + "Content-Length: 4\r\n\r\nevil", "{p}", {}, "", ""},
      {"fat GET (chunked)", "GET {p} HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n", "{p}", {}, "", ""},
      {"fat HEAD", "HEAD {p} HTTP/1.1\r\n" + h + "Content-Length: 4\r\n\r\nevil", "{p}", {}, "", ""},
      {"HTTP/0.9 request line", "GET {p}\r\n\r\n", "{p}", {}, "", ""},
      {"HTTP/1.0 without Host", "GET {p} HTTP/1.0\r\n\r\n", "{p}", {}, "", ""},
      {"Host with a path", "GET {p} HTTP/1.1\r\nHost: victim.example/x\r\n\r\n", "{p}", {}, "", ""},
  };
}

std::string fill(std::string text, int row) {
  auto replace = [&](std::string_view token, const std::string& value) {
    for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size()))
      text.replace(at, token.size(), value);
  };
  replace("{p}", fmt::format("/api/plain/{}", 100 + row));
  replace("{k}", fmt::format("/api/kept/{}", 100 + row));
  replace("{e}", fmt::format("/api/pl%61in/{}", 100 + row));
  replace("{v}", fmt::format("/api/varied/{}", 100 + row));
  return text;
}

TEST_CASE("poisoning matrix: no victim ever receives an attacker's answer") {
  VhostFixture fixture;
  const std::vector<Attack> rows = attacks();
  for (size_t n = 0; n < rows.size(); ++n) {
    const Attack& row = rows[n];
    const std::string attack = row.name;
    CAPTURE(attack);
    const int id = static_cast<int>(n);
    {
      HttpClient attacker = fixture.client();
      REQUIRE(attacker.send(fill(row.request, id)));
      (void)attacker.readResponse(5s);  // whatever it gets, it is the attacker's
    }
    const std::string victim_target = fill(row.victim_path, id);
    const std::string victim_path = victim_target.substr(0, victim_target.find('?'));
    const std::string expected =
        expectedBody("victim.example", victim_path, row.expected_page, row.expected_lang);
    for (int attempt = 0; attempt < 2; ++attempt) {
      CAPTURE(attempt);
      HttpResponse victim = victimGet(fixture, victim_target, row.victim_headers);
      CHECK(victim.status == 200);
      CHECK(victim.body == expected);
    }
  }
}

}  // namespace
}  // namespace larder::test
