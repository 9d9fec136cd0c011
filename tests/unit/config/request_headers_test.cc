// `request_headers:` (config/config.h RequestHeaderConfig): which request
// fields never reach the upstream unless a route keys them (invariant 11).
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;

TEST_CASE("request_headers: strip adds to the default list, forward takes off it") {
  auto result = loadConfigString(kUpstreamYaml +
                                     "request_headers:\n"
                                     "  strip: [X-Debug, x-debug, X-Tenant-Override]\n"
                                     "  forward: [X-Real-IP, X_Legacy_Token]\n",
                                 "conf.yaml");
  REQUIRE(result.ok());
  const RequestHeaderConfig& headers = (*result)->request_headers;
  CHECK(headers.strip == std::vector<std::string>{"x-debug", "x-tenant-override"});
  CHECK(headers.forward == std::vector<std::string>{"x-real-ip", "x_legacy_token"});
  CHECK(headers.strips("X-DEBUG"));
  CHECK(headers.strips("True-Client-IP"));  // still on the default list
  CHECK_FALSE(headers.strips("X-Real-IP"));
  CHECK_FALSE(headers.strips("X_Legacy_Token"));
  CHECK(headers.strips("X_Other"));
  CHECK_FALSE(headers.strips("Accept-Language"));
}

TEST_CASE("the defaults strip the override fields and names with '_'") {
  RequestHeaderConfig defaults;
  for (const char* name : {"X-Forwarded-Protocol", "front-end-https", "X-Url-Scheme", "X-Forwarded-Uri",
                           "X-Original-Path", "X-Envoy-Original-Path", "X-Real-IP", "True-Client-IP",
                           "Forwarded", "X-Original-URL", "X-HTTP-Method-Override", "Transfer_Encoding"}) {
    CAPTURE(name);
    CHECK(defaults.strips(name));
  }
  for (const char* name : {"Host", "Accept", "Authorization", "Cookie", "X-Forwarded-For", "User-Agent"}) {
    CAPTURE(name);
    CHECK_FALSE(defaults.strips(name));
  }
}

TEST_CASE("request_headers: mistakes are errors naming the key") {
  struct Row {
    const char* yaml;
    const char* message;
  };
  const Row rows[] = {
      {"request_headers:\n  strip: [Host]\n", "request_headers.strip: \"Host\" cannot be stripped"},
      {"request_headers:\n  strip: [Content-Length]\n", "cannot be stripped"},
      {"request_headers:\n  strip: [\"bad name\"]\n", "is not a valid header name"},
      {"request_headers:\n  forward: [Accept-Language]\n", "request_headers.forward: \"Accept-Language\" is not stripped"},
      {"request_headers:\n  strip: X-Debug\n", "request_headers.strip"},
      {"request_headers:\n  strip: [X-Real-IP]\n  forward: [X-Real-IP]\n", "both strip and forward"},
      {"request_headers:\n  keep: [X-Real-IP]\n", "unknown key request_headers.keep"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    const std::string errors = loadErrors(kUpstreamYaml + row.yaml);
    INFO(errors);
    CHECK(errors.find(row.message) != std::string::npos);
  }
}
