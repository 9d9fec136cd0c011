// GET /explain and `larder explain` against the real binary, a real Redis
// and a fake upstream: a HIT, a MISS, an answer refused for being private,
// and a per-user route (issue 15 item 2); the token; and bad input.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/temp_dir.h"
#include "harness/admin_fixture.h"
#include "harness/gate.h"
#include "harness/proxy_fixture.h"
#include "harness/redis_server.h"

namespace larder::test {
namespace {

constexpr std::string_view kRoutes =
    "routes:\n"
    "  - match: GET /products/{id}\n"
    "    ttl: 1h\n"
    "    stale_while_revalidate: 30s\n"
    "    namespaces: [\"product:{id}\"]\n"
    "    query: { keep: [page] }\n"
    "  - match: GET /account/{id}\n"
    "    ttl: 1h\n"
    "  - match: GET /me\n"
    "    ttl: 5m\n"
    "    per_user: { header: Authorization }\n"
    "  - match: PUT|DELETE /products/{id}\n"
    "    invalidates: [products, \"product:{id}\"]\n";

constexpr std::string_view kToken = "explain-admin-token";
constexpr std::string_view kAlice = "Bearer alice-secret-token";

// Fixture members in start order: Redis, the upstream, then larder.
struct ExplainProxy {
  explicit ExplainProxy(std::string_view token_file = {})
      : admin_port(freePort()),
        larder(proxyConfig(upstream.port(),
                           fmt::format("store:\n  redis:\n    url: {}\n    timeout: 500ms\n", redis.url()) +
                               std::string(kRoutes) + adminSection(admin_port, token_file))) {
    upstream.setHandler([hold = held_fetch](const RecordedRequest& request) {
      FakeResponse response;
      if (request.method == "GET" && request.target == "/products/5") response.hold = hold;
      response.headers.emplace_back("ETag", "\"e1\"");
      response.headers.emplace_back("Last-Modified", "Sun, 06 Dec 2026 10:00:00 GMT");
      // The account page is the user's own: the upstream says so.
      if (request.target.starts_with("/account/")) response.headers.emplace_back("Cache-Control", "private");
      response.body = "answer for " + request.target;
      return response;
    });
  }

  std::string cacheStatus(std::string_view target, Headers headers = {}) {
    HttpClient client(larder.port());
    auto response = client.get(target, headers);
    return response ? response->header("X-Cache") : "no response";
  }
  std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", larder.port(), path); }

  // GET /explain once the admin's own store connection is up.
  HttpResponse explain(std::string_view query, std::string_view token = {}) {
    std::optional<HttpResponse> response;
    waitUntil([&] {
      response = adminRequest(admin_port, "GET", "/explain?" + std::string(query), token);
      return response && response->body.find("\"store\":\"unavailable\"") == std::string::npos;
    }, 5s);
    REQUIRE(response);
    return *response;
  }
  CommandResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), "explain");
    args.push_back("--admin");
    args.push_back(fmt::format("127.0.0.1:{}", admin_port));
    return runLarder(args);
  }

  RedisServer redis;
  // Holds the upstream's answer to GET /products/5 until opened.
  std::shared_ptr<Gate> held_fetch = std::make_shared<Gate>();
  FakeUpstream upstream;
  uint16_t admin_port;
  LarderProcess larder;
};

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::string encoded(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("explain a HIT: route, key parts, namespace versions, the entry and the last answer") {
  ExplainProxy proxy;
  REQUIRE(waitUntil([&] { return proxy.cacheStatus("/products/7?page=2&utm=a") == "HIT"; }, 5s));
  // A dropped parameter does not change the key: the same entry answers.
  auto response = proxy.explain("url=" + encoded(proxy.url("/products/7?utm=zzz&page=2")));
  CHECK(response.status == 200);
  const std::string& json = response.body;
  CAPTURE(json);
  CHECK(has(json, "\"verdict\":\"HIT\""));
  CHECK(has(json, "\"match\":\"GET /products/{id}\""));
  CHECK(has(json, "\"params\":{\"id\":\"7\"}"));
  CHECK(has(json, "\"target\":\"/products/7?page=2\""));
  CHECK(has(json, "\"kept\":[\"page\"],\"dropped\":[\"utm\"]"));
  CHECK(has(json, "{\"name\":\"product:7\",\"key\":\"v1:ns:product:7\",\"version\":\""));
  CHECK(has(json, "\"store\":\"ok\""));
  CHECK(has(json, "\"status\":200"));
  CHECK(has(json, "\"etag\":\"\\\"e1\\\"\""));
  CHECK(has(json, "\"last_modified\":\"Sun, 06 Dec 2026 10:00:00 GMT\""));
  CHECK(has(json, "\"ttl\":3600.000"));
  CHECK(has(json, "\"stale_while_revalidate\":30.000"));
  CHECK(has(json, "\"last_answer\":{\"stored\":true,\"reason\":\"stored\",\"status\":200"));
  // The entry key explain names is the one in Redis.
  const size_t at = json.find("\"entry\":\"v1:e:");
  REQUIRE(at != std::string::npos);
  const std::string key = json.substr(at + 9, json.find('"', at + 9) - (at + 9));
  CHECK(proxy.redis.command({"EXISTS", key}).integer == 1);

  auto cli = proxy.cli({proxy.url("/products/7?page=2")});
  CHECK(cli.exit_code == 0);
  CHECK(has(cli.stdout_text, "verdict:      HIT (fresh entry)"));
  CHECK(has(cli.stdout_text, "route:        GET /products/{id}"));
  CHECK(has(cli.stdout_text, "validators: ETag \"e1\""));
  CHECK(has(cli.stdout_text, "last answer:  stored, status 200"));
  auto raw = proxy.cli({proxy.url("/products/7?page=2"), "--json"});
  CHECK(raw.exit_code == 0);
  CHECK(has(raw.stdout_text, "\"verdict\":\"HIT\""));
}

TEST_CASE("explain a MISS: nothing stored yet, then an entry invalidated by a write") {
  ExplainProxy proxy;
  auto cli = proxy.cli({proxy.url("/products/8")});
  CHECK(cli.exit_code == 0);
  CHECK(has(cli.stdout_text, "verdict:      MISS (no entry in the store)"));
  CHECK(has(cli.stdout_text, "entry:        none"));
  CHECK(has(cli.stdout_text, "last answer:  nothing recorded"));

  REQUIRE(waitUntil([&] { return proxy.cacheStatus("/products/8") == "HIT"; }, 5s));
  HttpClient client(proxy.larder.port());
  auto write = client.request("PUT", "/products/8", {}, "{}");
  REQUIRE(write);
  CHECK(write->status == 200);
  auto json = proxy.explain("url=" + encoded(proxy.url("/products/8"))).body;
  CAPTURE(json);
  CHECK(has(json, "\"verdict\":\"MISS\""));
  CHECK(has(json, "invalidated: a namespace version changed"));
  CHECK(has(json, "\"versions_hold\":false"));
  CHECK(proxy.cacheStatus("/products/8") == "MISS");  // as explained

  auto what_a_write_does = proxy.cli({proxy.url("/products/8"), "-X", "PUT"});
  CHECK(what_a_write_does.exit_code == 0);
  CHECK(has(what_a_write_does.stdout_text, "verdict:      WRITE"));
  CHECK(has(what_a_write_does.stdout_text, "invalidates:\n  products\n  product:8\n  uri:127.0.0.1:"));
}

TEST_CASE("explain names an answer the store refused because a write landed during its fetch") {
  ExplainProxy proxy;
  REQUIRE(waitUntil([&] { return proxy.cacheStatus("/products/1") == "HIT"; }, 5s));  // Redis is up
  const size_t before = proxy.upstream.requestCount();
  HttpClient reader(proxy.larder.port());
  REQUIRE(reader.send(fmt::format("GET /products/5 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", proxy.larder.port())));
  REQUIRE(proxy.upstream.waitForRequests(before + 1, 5s));
  HttpClient writer(proxy.larder.port());
  auto write = writer.request("PUT", "/products/5", {}, "{}");
  REQUIRE(write);
  CHECK(write->status == 200);
  proxy.held_fetch->open();
  auto read = reader.readResponse();
  REQUIRE(read);
  CHECK(read->header("X-Cache") == "MISS");
  // DESIGN invariant 3: the answer fetched before the write is not stored,
  // and explain says why (recorded once the store has refused it).
  std::string json;
  CHECK(waitUntil([&] {
    json = proxy.explain("url=" + encoded(proxy.url("/products/5"))).body;
    return has(json, "\"reason\":\"written_during_fetch\"");
  }, 5s));
  CAPTURE(json);
  CHECK(has(json, "\"last_answer\":{\"stored\":false,\"reason\":\"written_during_fetch\""));
  CHECK(has(json, "\"verdict\":\"MISS\""));
}

TEST_CASE("explain an answer refused because it is private (Cache-Control: private)") {
  ExplainProxy proxy;
  CHECK(proxy.cacheStatus("/account/1") == "MISS");
  CHECK(proxy.cacheStatus("/account/1") == "MISS");  // never stored (DESIGN invariant 6)
  auto json = proxy.explain("url=" + encoded(proxy.url("/account/1"))).body;
  CAPTURE(json);
  CHECK(has(json, "\"verdict\":\"MISS\""));
  CHECK(has(json, "the last answer was not stored: private"));
  CHECK(has(json, "\"last_answer\":{\"stored\":false,\"reason\":\"private\",\"status\":200"));
  auto cli = proxy.cli({proxy.url("/account/1")});
  CHECK(cli.exit_code == 0);
  CHECK(has(cli.stdout_text, "last answer:  not stored (private), status 200"));
  // A cookie on a shared route bypasses the cache before any key is made.
  auto cookie = proxy.cli({proxy.url("/account/1"), "-H", "Cookie: session=abc"});
  CHECK(has(cookie.stdout_text, "verdict:      BYPASS (cookie)"));
}

TEST_CASE("explain a per-user route: the principal only as a digest") {
  ExplainProxy proxy;
  REQUIRE(waitUntil([&] { return proxy.cacheStatus("/me", {{"Authorization", std::string(kAlice)}}) == "HIT"; }, 5s));
  auto cli = proxy.cli({proxy.url("/me"), "-H", "Authorization: " + std::string(kAlice)});
  CHECK(cli.exit_code == 0);
  CHECK(has(cli.stdout_text, "verdict:      HIT"));
  CHECK(has(cli.stdout_text, "principal:    header Authorization: digest "));
  CHECK_FALSE(has(cli.stdout_text, "alice-secret"));
  auto json = proxy.explain("url=" + encoded(proxy.url("/me")) + "&h=" + encoded("Authorization: " + std::string(kAlice))).body;
  CHECK(has(json, "\"principal\":{\"source\":\"header Authorization\",\"digest\":\""));
  CHECK_FALSE(has(json, "alice-secret"));
  // Bob's key is another: nothing of Alice's answers him.
  auto bob = proxy.cli({proxy.url("/me"), "-H", "Authorization: Bearer bob"});
  CHECK(has(bob.stdout_text, "verdict:      MISS"));
  auto anonymous = proxy.cli({proxy.url("/me")});
  CHECK(has(anonymous.stdout_text, "verdict:      BYPASS (no_principal)"));
}

TEST_CASE("explain needs the admin token when one is set") {
  TempDir dir;
  auto token_file = dir.writeFile("admin.token", std::string(kToken) + "\n");
  ExplainProxy proxy(token_file.string());
  auto anonymous = adminRequest(proxy.admin_port, "GET", "/explain?url=" + encoded(proxy.url("/products/1")));
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
  CHECK(proxy.explain("url=" + encoded(proxy.url("/products/1")), kToken).status == 200);
  auto cli = proxy.cli({proxy.url("/products/1")});
  CHECK(cli.exit_code == 1);
  CHECK(has(cli.stderr_text, "401"));
  cli = runLarder({"explain", proxy.url("/products/1"), "-c", proxy.larder.configPath().string()});
  CHECK(cli.exit_code == 0);
  CHECK(has(cli.stdout_text, "verdict:      MISS"));
  auto post = adminRequest(proxy.admin_port, "POST", "/explain?url=x", kToken);
  REQUIRE(post);
  CHECK(post->status == 405);
}

TEST_CASE("bad input to explain gets a 4xx with a reason") {
  ExplainProxy proxy;
  struct Row {
    std::string query;
    int status;
    std::string_view reason;
  };
  for (const Row& row : {Row{"", 400, "missing url"}, Row{"url=" + encoded("http://h/a b"), 400, "malformed url"},
                         Row{"url=%2", 400, "bad %-escape"}, Row{"url=/p", 400, "missing Host"},
                         Row{"url=/p&h=NoColon", 400, "no colon"}, Row{"url=/p&h=A%20B:1", 400, "not a token"},
                         Row{"url=/p&h=A:%0d%0aB:1", 400, "control characters"},
                         Row{"url=/p&verbose=1", 400, "unknown parameter"},
                         Row{"url=http://h/" + std::string(9000, 'a'), 400, "url too long"},
                         Row{"url=http://h/" + std::string(20000, 'a'), 431, ""}}) {
    CAPTURE(row.query.substr(0, 60));
    auto response = adminRequest(proxy.admin_port, "GET", "/explain?" + row.query);
    REQUIRE(response);
    CHECK(response->status == row.status);
    CHECK(has(response->body, "\"ok\":false"));
    CHECK(has(response->body, row.reason));
  }
  auto cli = proxy.cli({proxy.url("/p"), "-H", "NoColon"});
  CHECK(cli.exit_code == 2);
  cli = proxy.cli({});
  CHECK(cli.exit_code == 2);
  cli = proxy.cli({"/p"});
  CHECK(cli.exit_code == 1);
  CHECK(has(cli.stderr_text, "missing Host"));
  cli = runLarder({"explain", proxy.url("/p"), "--admin", fmt::format("127.0.0.1:{}", freePort())});
  CHECK(cli.exit_code == 1);
  CHECK(has(cli.stderr_text, "cannot connect"));
}

}  // namespace larder::test
