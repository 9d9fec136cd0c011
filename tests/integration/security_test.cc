// Cache poisoning, smuggling and deception against cached routes (DESIGN
// invariants 6 and 10), with the memory store:
//  - unkeyed inputs (X-Forwarded-Host, X-Original-URL, Forwarded,
//    X-HTTP-Method-Override, ...) are overwritten or dropped before they
//    reach the upstream, unless the route puts them in its key (`vary`), so
//    a client cannot make the upstream build a shared entry from them;
//  - ambiguous framing on a cached route gets 400, reaches no upstream and
//    stores no entry;
//  - private answers on paths that look static (/api/me/profile.css,
//    /api/me;x.css) are never served to another user.
// The admin API's refusal on the public listener is in admin_purge_test.cc.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/fake_upstream.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {
namespace {

using namespace std::string_literals;

// One worker, the memory store, a cached page route, a route that keys on
// two of the override fields, and a broad route over /api/ that a cache
// deception attack aims at.
struct SecurityFixture {
  SecurityFixture() {
    upstream.setHandler([this](const RecordedRequest& request) { return respond(request); });
    larder = std::make_unique<LarderProcess>(fmt::format(
        "workers: 1\n"
        "upstream: {{ servers: [127.0.0.1:{}], connect_timeout: 500ms, response_timeout: 5s }}\n"
        "store: {{ memory: {{ max_size: 16MiB }} }}\n"
        "cache: {{ status_header: X-Cache }}\n"
        "routes:\n"
        "  - match: GET /page/{{id}}\n"
        "    ttl: 1m\n"
        "  - match: GET /smuggle/{{id}}\n"
        "    ttl: 1m\n"
        "  - match: GET /varied/{{id}}\n"
        "    ttl: 1m\n"
        "    vary: [X-Forwarded-Prefix, X-HTTP-Method-Override]\n"
        "  - match: GET /api/*\n"
        "    ttl: 1m\n"
        "log: {{ level: warn }}\n",
        upstream.port()));
  }

  // Like a framework that trusts what it is given: the page is built from
  // the override fields when present, so a forwarded one would show.
  FakeResponse respond(const RecordedRequest& request) {
    FakeResponse response;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = fmt::format("{} {} host={} proto={} prefix={} method={} original={} forwarded={}", request.method,
                                request.target, request.header("X-Forwarded-Host"), request.header("X-Forwarded-Proto"),
                                request.header("X-Forwarded-Prefix"), request.header("X-HTTP-Method-Override"),
                                request.header("X-Original-URL"), request.header("Forwarded"));
    if (request.target == "/api/me/profile.css") {
      response.headers.emplace_back("Cache-Control", "private, max-age=60");
      response.body += " for " + request.header("Authorization");
    } else if (request.target == "/api/me;x.css") {
      response.headers.emplace_back("Set-Cookie", "session=" + request.header("X-User"));
      response.body += " for " + request.header("X-User");
    } else if (request.target == "/api/me/avatar.css") {
      response.body += " for " + request.header("Cookie");  // no cache headers at all
    }
    return response;
  }

  HttpClient client() { return HttpClient(larder->port()); }

  FakeUpstream upstream;
  std::unique_ptr<LarderProcess> larder;
};

HttpResponse mustGet(HttpClient& client, std::string_view target, const Headers& headers = {}) {
  auto response = client.get(target, headers);
  REQUIRE_MESSAGE(response.has_value(), "no response to GET ", target);
  return *response;
}

const Headers kPoison = {
    {"X-Forwarded-Host", "evil.example"},
    {"X-Forwarded-Proto", "https"},
    {"X-Forwarded-Port", "8443"},
    {"X-Forwarded-Prefix", "/evil"},
    {"X-Forwarded-Scheme", "https"},
    {"X-Forwarded-Server", "evil.example"},
    {"X-Forwarded-Ssl", "on"},
    {"X-Original-URL", "/admin"},
    {"X-Rewrite-URL", "/admin"},
    {"X-Original-Host", "evil.example"},
    {"X-Host", "evil.example"},
    {"Forwarded", "for=1.2.3.4;host=evil.example;proto=https"},
    {"X-HTTP-Method-Override", "DELETE"},
    {"X-HTTP-Method", "DELETE"},
    {"X-Method-Override", "DELETE"},
};

const char* const kDropped[] = {"X-Forwarded-Port",  "X-Forwarded-Prefix", "X-Forwarded-Scheme", "X-Forwarded-Server",
                                "X-Forwarded-Ssl",   "X-Original-URL",     "X-Rewrite-URL",      "X-Original-Host",
                                "X-Host",            "Forwarded",          "X-HTTP-Method-Override",
                                "X-HTTP-Method",     "X-Method-Override"};

TEST_CASE("unkeyed override fields never reach the upstream, so they cannot poison a shared entry") {
  SecurityFixture fixture;
  HttpClient attacker = fixture.client();
  HttpResponse poisoned = mustGet(attacker, "/page/1", kPoison);
  CHECK(poisoned.status == 200);
  CHECK(poisoned.header("X-Cache") == "MISS");
  REQUIRE(fixture.upstream.requestCount() == 1);
  const RecordedRequest seen = fixture.upstream.requests().front();
  const std::string host = fmt::format("127.0.0.1:{}", fixture.larder->port());
  CHECK(seen.header("X-Forwarded-Host") == host);  // from the keyed Host, not the client's field
  CHECK(seen.header("X-Forwarded-Proto") == "http");
  CHECK(seen.headerValues("X-Forwarded-Host").size() == 1);
  CHECK(seen.headerValues("X-Forwarded-Proto").size() == 1);
  for (const char* name : kDropped) {
    CAPTURE(name);
    CHECK_FALSE(seen.hasHeader(name));
  }
  CHECK(seen.method == "GET");
  CHECK(seen.target == "/page/1");

  // Another user gets the shared entry, built from nothing the attacker chose.
  HttpClient victim = fixture.client();
  HttpResponse served = mustGet(victim, "/page/1");
  CHECK(served.header("X-Cache") == "HIT");
  CHECK(served.body == poisoned.body);
  CHECK(served.body.find("evil") == std::string::npos);
  CHECK(served.body.find("DELETE") == std::string::npos);
  CHECK(served.body.find("/admin") == std::string::npos);
  CHECK(served.body.find("https") == std::string::npos);

  // Uncached (pass-through) requests are cleaned the same way.
  HttpResponse passed = mustGet(attacker, "/elsewhere", kPoison);
  CHECK(passed.status == 200);
  REQUIRE(fixture.upstream.requestCount() == 2);
  const RecordedRequest pass_seen = fixture.upstream.requests().back();
  for (const char* name : kDropped) {
    CAPTURE(name);
    CHECK_FALSE(pass_seen.hasHeader(name));
  }
}

TEST_CASE("an override field that a route keys on (vary) reaches the upstream and splits the entry") {
  SecurityFixture fixture;
  HttpClient client = fixture.client();
  HttpResponse prefixed = mustGet(client, "/varied/1", {{"X-Forwarded-Prefix", "/shop"}, {"X-Original-URL", "/admin"}});
  CHECK(prefixed.header("X-Cache") == "MISS");
  REQUIRE(fixture.upstream.requestCount() == 1);
  const RecordedRequest seen = fixture.upstream.requests().front();
  CHECK(seen.header("X-Forwarded-Prefix") == "/shop");
  CHECK_FALSE(seen.hasHeader("X-Original-URL"));  // not in this route's vary

  HttpResponse plain = mustGet(client, "/varied/1");
  CHECK(plain.header("X-Cache") == "MISS");
  CHECK(plain.body.find("/shop") == std::string::npos);
  CHECK(fixture.upstream.requestCount() == 2);
  CHECK(mustGet(client, "/varied/1", {{"X-Forwarded-Prefix", "/shop"}}).body == prefixed.body);
  CHECK(fixture.upstream.requestCount() == 2);
}

struct SmugglingRow {
  const char* name;
  std::string request;
};

// Each attack is a GET of /smuggle/<n>a on a cached route whose body, if it
// were taken as one, would hide GET /smuggle/<n>b.
std::vector<SmugglingRow> smugglingRows() {
  using Build = std::function<std::string(const std::string& get, const std::string& hidden, int n)>;
  const std::vector<std::pair<const char*, Build>> builders = {
      {"CL.TE",
       [](auto& get, auto& hidden, int) {
         return get + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"TE.CL",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" +
                fmt::format("{:x}\r\n", hidden.size()) + hidden + "\r\n0\r\n\r\n";
       }},
      {"TE.TE: chunked then identity",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"TE.TE: chunked not last",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"TE.TE: xchunked",
       [](auto& get, auto& hidden, int) { return get + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + hidden; }},
      {"TE.TE: space before the colon",
       [](auto& get, auto& hidden, int) { return get + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + hidden; }},
      {"TE.TE: vertical tab before the value",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: \x0b" "chunked\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"TE.TE: obs-fold",
       [](auto& get, auto& hidden, int) {
         return get + "X-A: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"TE.TE: quoted value",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + hidden;
       }},
      {"LF-only line ends",
       [](auto&, auto& hidden, int n) { return fmt::format("GET /smuggle/{}a HTTP/1.1\nHost: x\n\n", n) + hidden; }},
      {"LF-only line end after the request line",
       [](auto&, auto& hidden, int n) {
         return fmt::format("GET /smuggle/{}a HTTP/1.1\nHost: x\r\n\r\n", n) + hidden;
       }},
      {"chunk size overflowing 64 bits",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: chunked\r\n\r\n1FFFFFFFFFFFFFFFF\r\n" + hidden + "\r\n0\r\n\r\n";
       }},
      {"chunk size with a sign",
       [](auto& get, auto& hidden, int) {
         return get + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n" + hidden;
       }},
      {"two Content-Length values",
       [](auto& get, auto& hidden, int) {
         return get + "Content-Length: 0\r\nContent-Length: " + std::to_string(hidden.size()) + "\r\n\r\n" + hidden;
       }},
      {"NUL in a header value", [](auto& get, auto& hidden, int) { return get + "X-Nul: a\0b\r\n\r\n"s + hidden; }},
      {"NUL in a header name", [](auto& get, auto& hidden, int) { return get + "X-N\0ul: a\r\n\r\n"s + hidden; }},
      {"NUL in the target",
       [](auto&, auto& hidden, int n) {
         return "GET /smuggle/" + std::to_string(n) + "a\0 HTTP/1.1\r\nHost: x\r\n\r\n"s + hidden;
       }},
  };
  std::vector<SmugglingRow> rows;
  for (const auto& [name, build] : builders) {
    const int n = static_cast<int>(rows.size());
    rows.push_back({name, build(fmt::format("GET /smuggle/{}a HTTP/1.1\r\nHost: x\r\n", n),
                                fmt::format("GET /smuggle/{}b HTTP/1.1\r\nHost: x\r\n\r\n", n), n)});
  }
  return rows;
}

TEST_CASE("smuggling on a cached route: 400, nothing reaches the upstream, no entry is stored") {
  SecurityFixture fixture;
  const std::vector<SmugglingRow> rows = smugglingRows();
  for (size_t n = 0; n < rows.size(); ++n) {
    CAPTURE(rows[n].name);
    HttpClient client = fixture.client();
    REQUIRE(client.send(rows[n].request));
    auto response = client.readResponse(5s);
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(client.isClosedByPeer(2s));
  }
  CHECK(fixture.upstream.requestCount() == 0);
  // No entry from any of them: each path is a MISS, fetched upstream once.
  HttpClient client = fixture.client();
  for (size_t n = 0; n < rows.size(); ++n) {
    CAPTURE(rows[n].name);
    for (const char* part : {"a", "b"}) {
      HttpResponse follow_up = mustGet(client, fmt::format("/smuggle/{}{}", n, part));
      CHECK(follow_up.status == 200);
      CHECK(follow_up.header("X-Cache") == "MISS");
    }
  }
  CHECK(fixture.upstream.requestCount() == 2 * rows.size());
}

TEST_CASE("cache deception: a private answer on a static-looking path is never served to another user") {
  SecurityFixture fixture;
  HttpClient alice = fixture.client();
  HttpClient bob = fixture.client();

  SUBCASE("Cache-Control: private on /api/me/profile.css") {
    HttpResponse mine = mustGet(alice, "/api/me/profile.css", {{"Authorization", "Bearer alice"}});
    CHECK(mine.body.find("alice") != std::string::npos);
    // Even without credentials, the next request is not served Alice's page.
    HttpResponse other = mustGet(bob, "/api/me/profile.css");
    CHECK(other.header("X-Cache") != "HIT");
    CHECK(other.body.find("alice") == std::string::npos);
    CHECK(fixture.upstream.requestCount() == 2);
  }
  SUBCASE("Set-Cookie on /api/me;x.css") {
    HttpResponse mine = mustGet(alice, "/api/me;x.css", {{"X-User", "alice"}});
    CHECK(mine.body.find("alice") != std::string::npos);
    HttpResponse other = mustGet(bob, "/api/me;x.css", {{"X-User", "bob"}});
    CHECK(other.header("X-Cache") != "HIT");
    CHECK(other.body.find("alice") == std::string::npos);
    CHECK(other.body.find("bob") != std::string::npos);
    CHECK(fixture.upstream.requestCount() == 2);
  }
  SUBCASE("a request with a Cookie on /api/me/avatar.css, answered without any cache header") {
    HttpResponse mine = mustGet(alice, "/api/me/avatar.css", {{"Cookie", "session=alice"}});
    CHECK(mine.body.find("alice") != std::string::npos);
    HttpResponse other = mustGet(bob, "/api/me/avatar.css");
    CHECK(other.header("X-Cache") != "HIT");
    CHECK(other.body.find("alice") == std::string::npos);
    CHECK(fixture.upstream.requestCount() == 2);
  }
}

}  // namespace
}  // namespace larder::test
