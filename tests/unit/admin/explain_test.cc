// admin/explain: the admin query's parsing (bad input gets a reason), the
// verdict from the store's answer, and what the renderings may show.
#include "admin/explain.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "cache/entry_codec.h"
#include "config/loader.h"

using namespace larder;
using namespace larder::admin;
using namespace std::chrono_literals;

namespace {

config::ConfigPtr loadConfig() {
  auto result = config::loadConfigString(
      "upstream:\n  servers: [127.0.0.1:9]\n"
      "routes:\n"
      "  - match: GET /products/{id}\n    ttl: 60s\n    stale_while_revalidate: 30s\n"
      "    namespaces: [\"product:{id}\"]\n",
      "test.yaml");
  REQUIRE(result.ok());
  return result.value();
}

// An explanation as explainRequest leaves a read it wants looked up.
Explanation readExplanation(const config::Config& config) {
  Explanation e;
  e.method = "GET";
  e.url = "http://h/products/7";
  e.route = &config.routes.front();
  e.entry_key = "v1:e:0123";
  e.identity = "identity-of-the-request";
  for (std::string name : {"product:7", "uri:h/products/7", "*"})
    e.namespaces.push_back({name, "v1:ns:" + name, std::nullopt, false});
  e.base_namespaces = e.namespaces.size();
  return e;
}

cache::LookupResult answer(const Explanation& e, std::optional<cache::Entry> entry,
                           std::vector<std::optional<std::string>> versions) {
  cache::LookupResult result;
  result.versions = std::move(versions);
  if (entry) result.entry = cache::encodeEntry(*entry);
  (void)e;
  return result;
}

cache::Entry storedEntry(const Explanation& e, base::WallTime stored_at) {
  cache::Entry entry;
  entry.status = 200;
  entry.reason = "OK";
  entry.headers.add("ETag", "\"v7\"");
  entry.headers.add("Last-Modified", "Sun, 06 Dec 2026 10:00:00 GMT");
  entry.body = "hello";
  entry.stored_at = stored_at;
  entry.ttl = 60s;
  entry.identity = e.identity;
  for (const auto& ns : e.namespaces) entry.versions.emplace_back(ns.key, "tok-" + ns.name);
  return entry;
}

std::vector<std::optional<std::string>> tokens(const Explanation& e) {
  std::vector<std::optional<std::string>> out;
  for (const auto& ns : e.namespaces) out.push_back("tok-" + ns.name);
  return out;
}

}  // namespace

TEST_CASE("explain's query: url, h fields, method and format; bad input gets a reason") {
  std::string error;
  auto query = parseExplainQuery("url=http%3A%2F%2Fh%2Fp%3Fa%3D1&h=Accept%3A%20text%2Fhtml&h=X-A:b&method=HEAD", error);
  REQUIRE(query);
  CHECK(query->url == "http://h/p?a=1");
  CHECK(query->method == "HEAD");
  CHECK_FALSE(query->text);
  CHECK(query->headers.size() == 2);
  CHECK(*query->headers.find("Accept") == "text/html");
  CHECK(*query->headers.find("X-A") == "b");
  query = parseExplainQuery("format=text&url=/p", error);
  REQUIRE(query);
  CHECK(query->text);

  struct Row {
    std::string query;
    std::string_view error;
  };
  const std::string huge_url = "url=http://h/" + std::string(kMaxExplainUrl, 'a');
  const std::string huge_field = "url=/&h=X:" + std::string(kMaxExplainField, 'a');
  std::string many_fields = "url=/";
  for (size_t i = 0; i <= kMaxExplainFields; ++i) many_fields += "&h=X:1";
  for (const Row& row : {Row{"", "missing url"}, Row{"url=", "missing url"}, Row{"h=A:1", "missing url"},
                         Row{"url=%zz", "bad %-escape"}, Row{"url=/&h=NoColon", "no colon"},
                         Row{"url=/&h=Bad%20Name:1", "not a token"}, Row{"url=/&h=:1", "not a token"},
                         Row{"url=/&h=A:%0d%0aB:%201", "control characters"}, Row{"url=/&method=G%20T", "bad method"},
                         Row{"url=/&format=xml", "format must be"}, Row{"url=/&x=1", "unknown parameter"},
                         Row{huge_url, "url too long"}, Row{huge_field, "header too long"},
                         Row{many_fields, "too many headers"}}) {
    CAPTURE(row.query.substr(0, 60));
    error.clear();
    CHECK_FALSE(parseExplainQuery(row.query, error));
    CHECK(error.find(row.error) != std::string::npos);
  }
}

TEST_CASE("principal digests: 16 hex digits, equal for equal values, never the value") {
  const std::string a = principalDigest("Bearer alice");
  CHECK(a.size() == 16);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(principalDigest("Bearer alice") == a);
  CHECK(principalDigest("Bearer bob") != a);
  CHECK(a.find("alice") == std::string::npos);
}

TEST_CASE("the store's answer decides the verdict, in the proxy's order") {
  config::ConfigPtr config = loadConfig();
  const base::WallTime now = base::WallClock::now();

  SUBCASE("a fresh entry under the current versions is a HIT, with its age, TTL, windows and validators") {
    Explanation e = readExplanation(*config);
    applyLookup(e, answer(e, storedEntry(e, now - 10s), tokens(e)), *config, now);
    CHECK(e.verdict == "HIT");
    CHECK(e.store == "ok");
    REQUIRE(e.entry);
    CHECK(e.entry->age_seconds == 10);
    CHECK(e.entry->ttl == 60s);
    CHECK(e.entry->stale_while_revalidate == 30s);
    CHECK(e.entry->etag == "\"v7\"");
    CHECK(e.entry->last_modified == "Sun, 06 Dec 2026 10:00:00 GMT");
    CHECK(e.entry->body_bytes == 5);
    CHECK(e.namespaces[0].version == "tok-product:7");
  }
  SUBCASE("expired within stale-while-revalidate is STALE; past it, a MISS") {
    Explanation e = readExplanation(*config);
    applyLookup(e, answer(e, storedEntry(e, now - 70s), tokens(e)), *config, now);
    CHECK(e.verdict == "STALE");
    e = readExplanation(*config);
    applyLookup(e, answer(e, storedEntry(e, now - 100s), tokens(e)), *config, now);
    CHECK(e.verdict == "MISS");
    CHECK(e.reason == "the entry expired");
  }
  SUBCASE("an entry from before an invalidation is a MISS (DESIGN invariant 3)") {
    Explanation e = readExplanation(*config);
    auto versions = tokens(e);
    versions[0] = "a-newer-token";
    applyLookup(e, answer(e, storedEntry(e, now), versions), *config, now);
    CHECK(e.verdict == "MISS");
    CHECK(e.reason.find("invalidated") != std::string::npos);
    CHECK_FALSE(e.entry->versions_hold);
    e = readExplanation(*config);
    versions[0].reset();  // an evicted version key never matches (invariant 4)
    applyLookup(e, answer(e, storedEntry(e, now), versions), *config, now);
    CHECK(e.verdict == "MISS");
  }
  SUBCASE("another request's entry under the same digest is a MISS (DESIGN invariant 7)") {
    Explanation e = readExplanation(*config);
    cache::Entry other = storedEntry(e, now);
    other.identity = "someone-else";
    applyLookup(e, answer(e, other, tokens(e)), *config, now);
    CHECK(e.verdict == "MISS");
    CHECK_FALSE(e.entry->identity_matches);
  }
  SUBCASE("no entry: a MISS, with the last answer's refusal when there is one") {
    Explanation e = readExplanation(*config);
    e.last_decision = cache::StoreDecisionRecord{false, "private", 200, now};
    applyLookup(e, answer(e, std::nullopt, tokens(e)), *config, now);
    CHECK(e.verdict == "MISS");
    CHECK(e.reason == "no entry in the store; the last answer was not stored: private");
  }
  SUBCASE("an honoured client no-cache never gets a HIT") {
    Explanation e = readExplanation(*config);
    e.client_wants_fresh = true;
    applyLookup(e, answer(e, storedEntry(e, now), tokens(e)), *config, now);
    CHECK(e.verdict == "MISS");
    CHECK(e.reason.find("revalidated") != std::string::npos);
  }
  SUBCASE("an unreachable store, or an invalidation not landed yet, is a BYPASS") {
    Explanation e = readExplanation(*config);
    cache::LookupResult down;
    down.status = cache::StoreStatus::kUnavailable;
    applyLookup(e, std::move(down), *config, now);
    CHECK(e.verdict == "BYPASS");
    CHECK(e.reason == "store_unavailable");
    e = readExplanation(*config);
    e.invalidation_pending = true;
    applyLookup(e, answer(e, storedEntry(e, now), tokens(e)), *config, now);
    CHECK(e.verdict == "BYPASS");
    CHECK(e.reason == "invalidation_pending");
  }
}

TEST_CASE("the renderings show digests for principals and private fields, never their values") {
  config::ConfigPtr config = loadConfig();
  Explanation e = readExplanation(*config);
  e.principal_source = "header Authorization";
  e.principal_digest = principalDigest("Bearer alice-secret");
  e.vary.push_back({"cookie", principalDigest("session=alice-secret"), false, true, false});
  e.vary.push_back({"accept-language", "en", false, false, false});
  applyLookup(e, answer(e, storedEntry(e, base::WallClock::now()), tokens(e)), *config, base::WallClock::now());
  for (const std::string& text : {renderExplanationJson(e), renderExplanationText(e)}) {
    CAPTURE(text);
    CHECK(text.find("alice-secret") == std::string::npos);
    CHECK(text.find(*e.principal_digest) != std::string::npos);
    CHECK(text.find("identity-of-the-request") == std::string::npos);
    CHECK(text.find("HIT") != std::string::npos);
    CHECK(text.find("accept-language") != std::string::npos);
  }
  const std::string json = renderExplanationJson(e);
  CHECK(json.find("\"verdict\":\"HIT\"") != std::string::npos);
  CHECK(json.find("\"principal\":{\"source\":\"header Authorization\",\"digest\":\"" + *e.principal_digest + "\"}") !=
        std::string::npos);
  CHECK(json.find("\"etag\":\"\\\"v7\\\"\"") != std::string::npos);
}
