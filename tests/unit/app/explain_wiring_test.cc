// app::explainDeps: explain derives keys with the proxy's own forwarding
// derivation (DESIGN invariant 11), so its key is the proxy's key.
#include "app/explain_wiring.h"

#include <doctest/doctest.h>

#include "cache/key.h"
#include "config/loader.h"
#include "proxy/forwarding.h"

using namespace larder;

namespace {

constexpr const char* kConfig =
    "upstream:\n  servers: [127.0.0.1:9]\n"
    "routes:\n"
    "  - match: GET /products/{id}\n    ttl: 60s\n    namespaces: [\"product:{id}\"]\n"
    "    query: { keep: [page] }\n    vary: [Accept-Language]\n"
    "  - match: GET /me\n    ttl: 60s\n    per_user: { header: Authorization }\n"
    "  - match: GET /news\n    ttl: 60s\n    client_no_cache: honour\n"
    "  - match: PUT|DELETE /products/{id}\n    invalidates: [products, \"product:{id}\"]\n";

struct Fixture {
  Fixture() {
    auto result = config::loadConfigString(kConfig, "test.yaml");
    REQUIRE(result.ok());
    config = result.value();
    shared.memory = nullptr;
    deps = app::explainDeps(shared);
  }
  admin::Explanation explain(std::string method, std::string url,
                             std::initializer_list<std::pair<const char*, const char*>> fields = {}) {
    admin::ExplainQuery query;
    query.method = std::move(method);
    query.url = std::move(url);
    for (const auto& [name, value] : fields) query.headers.add(name, value);
    auto result = admin::explainRequest(query, *config, deps);
    REQUIRE(result.ok());
    return std::move(result).value();
  }
  // The key the proxy computes for the same request (proxy/exchange_cache.cc).
  std::string proxyKey(std::string_view url, http::HeaderMap headers, std::vector<std::string> vary = {}) {
    auto target = http::parseTarget(url);
    config::Params params;
    const config::Route* route = config->matchRoute("GET", target->path, params);
    auto forwarded = proxy::deriveForwardedRequest("GET", *target, std::move(headers), 1, "10.0.0.1", *config, route);
    std::string principal;
    if (route->per_user) principal = *cache::extractPrincipal(*route->per_user, forwarded->headers);
    return cache::entryKey("v1", cache::buildIdentity("GET", forwarded->host, forwarded->parsed, *route,
                                                      forwarded->headers, principal, vary));
  }

  config::ConfigPtr config;
  app::SharedState shared;
  admin::ExplainDeps deps;
};

http::HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::HeaderMap headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

}  // namespace

TEST_CASE("a read: the route, the query kept and dropped, the vary values, and the proxy's key") {
  Fixture f;
  auto e = f.explain("GET", "http://API.example:80/products/7?utm=x&page=2&pag%65=3",
                     {{"Accept-Language", "en"}});
  REQUIRE(e.route == &f.config->routes[0]);
  CHECK(e.params == config::Params{{"id", "7"}});
  CHECK(e.host == "api.example");
  CHECK(e.forwarded_target == "/products/7?page=2&page=3");
  CHECK(e.query_kept == std::vector<std::string>{"page"});
  CHECK(e.query_dropped == std::vector<std::string>{"utm"});
  REQUIRE(e.vary.size() == 1);
  CHECK(e.vary[0].name == "accept-language");
  CHECK(e.vary[0].value == "en");
  CHECK(e.verdict.empty());  // the store decides
  CHECK(e.needsLookup());
  CHECK(e.entry_key == f.proxyKey("http://API.example:80/products/7?utm=x&page=2&pag%65=3",
                                  headersOf({{"Accept-Language", "en"}})));
  std::vector<std::string> names;
  for (const auto& ns : e.namespaces) names.push_back(ns.name);
  CHECK(names == std::vector<std::string>{"product:7", "uri:api.example/products/7", "*"});
  CHECK(admin::lookupKeys(e).front() == "v1:ns:product:7");
}

TEST_CASE("the upstream's Vary, once learnt, moves explain to the variant the proxy reads") {
  Fixture f;
  auto first = f.explain("GET", "http://h/products/1", {{"X-Tenant", "acme"}});
  f.shared.vary_memo.remember(first.primary_key, {"x-tenant"});
  f.shared.surrogate_memo.remember(f.proxyKey("http://h/products/1", headersOf({{"X-Tenant", "acme"}}), {"x-tenant"}),
                                   {"v1:ns:sk:catalog"});
  auto e = f.explain("GET", "http://h/products/1", {{"X-Tenant", "acme"}});
  CHECK(e.primary_key == first.primary_key);
  CHECK(e.entry_key != e.primary_key);
  CHECK(e.entry_key == f.proxyKey("http://h/products/1", headersOf({{"X-Tenant", "acme"}}), {"x-tenant"}));
  REQUIRE(e.vary.size() == 2);
  CHECK(e.vary[1].name == "x-tenant");
  CHECK(e.vary[1].from_upstream);
  REQUIRE(e.namespaces.size() == 4);
  CHECK(e.namespaces[3].name == "sk:catalog");
  CHECK(e.namespaces[3].surrogate);
  CHECK(e.base_namespaces == 3);
}

TEST_CASE("per-user: the principal only as a digest; without one, or on a shared route, a BYPASS") {
  Fixture f;
  auto e = f.explain("GET", "http://h/me", {{"Authorization", "Bearer alice-token"}});
  CHECK(e.principal_source == "header Authorization");
  REQUIRE(e.principal_digest);
  CHECK(*e.principal_digest == admin::principalDigest("Bearer alice-token"));
  CHECK(e.entry_key == f.proxyKey("http://h/me", headersOf({{"Authorization", "Bearer alice-token"}})));
  CHECK(admin::renderExplanationJson(e).find("alice-token") == std::string::npos);
  CHECK(admin::renderExplanationText(e).find("alice-token") == std::string::npos);

  auto anonymous = f.explain("GET", "http://h/me");
  CHECK(anonymous.verdict == "BYPASS");
  CHECK(anonymous.reason == "no_principal");
  CHECK_FALSE(anonymous.needsLookup());
  auto shared = f.explain("GET", "http://h/products/1", {{"Authorization", "Bearer alice-token"}});
  CHECK(shared.verdict == "BYPASS");
  CHECK(shared.reason == "authorization");
}

TEST_CASE("a client's no-cache counts only on routes that honour it") {
  Fixture f;
  CHECK(f.explain("GET", "http://h/news", {{"Cache-Control", "no-cache"}}).client_wants_fresh);
  CHECK_FALSE(f.explain("GET", "http://h/news").client_wants_fresh);
  CHECK_FALSE(f.explain("GET", "http://h/products/1", {{"Cache-Control", "no-cache"}}).client_wants_fresh);
}

TEST_CASE("a write lists what it invalidates; an unrouted request passes; a bad Host is refused") {
  Fixture f;
  auto write = f.explain("PUT", "http://h/products/7");
  CHECK(write.verdict == "WRITE");
  CHECK(write.invalidates == std::vector<std::string>{"products", "product:7", "uri:h/products/7"});
  auto unrouted = f.explain("POST", "http://h/orders");
  CHECK(unrouted.verdict == "WRITE");
  CHECK(unrouted.route == nullptr);
  CHECK(unrouted.invalidates == std::vector<std::string>{"uri:h/orders"});
  auto pass = f.explain("GET", "http://h/nothing");
  CHECK(pass.verdict == "PASS");
  CHECK(pass.reason.find("no route matches") != std::string::npos);
  auto other_method = f.explain("PATCH", "http://h/products/7");
  CHECK(other_method.route == nullptr);
  CHECK(other_method.method_mismatches.size() == 2);  // the GET and the PUT|DELETE routes

  admin::ExplainQuery query;
  query.url = "/products/7";  // origin-form without Host
  auto refused = admin::explainRequest(query, *f.config, f.deps);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("missing Host") != std::string::npos);
  query.url = "/products/7";
  query.headers.add("Host", "a/b");
  refused = admin::explainRequest(query, *f.config, f.deps);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("invalid Host") != std::string::npos);
  query.url = "http://h/a b";
  refused = admin::explainRequest(query, *f.config, f.deps);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("malformed url") != std::string::npos);
}
