// The access-log line (proxy/access_log.h) in both formats: the fields of
// issue 15 (RFC 3339 time, route, cache outcome), and JSON that parses
// whatever bytes the target holds.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "proxy/access_log.h"

// Shared with the integration test of the access log.
#include "../../integration/harness/flat_json.h"

using namespace larder::proxy;
using Format = larder::config::LogConfig::AccessFormat;
using larder::test::FlatJson;

namespace {

AccessRecord sample() {
  AccessRecord r;
  r.time = "2026-12-06T14:02:34.123Z";
  r.client = "10.0.0.7";
  r.method = "GET";
  r.target = "/products/7?x=1";
  r.version_minor = 1;
  r.status = 200;
  r.bytes = 512;
  r.upstream_seconds = 0.0123;
  r.cache = "MISS";
  r.route = "GET /products/{id}";
  r.total_seconds = 0.0134;
  return r;
}

}  // namespace

TEST_CASE("text access line: RFC 3339 time first, then route and cache outcome") {
  CHECK(formatAccessLine(sample(), Format::kText) ==
        "2026-12-06T14:02:34.123Z 10.0.0.7 \"GET /products/7?x=1 HTTP/1.1\" 200 512 upstream=0.012 "
        "cache=MISS route=\"GET /products/{id}\" time=0.013");
  AccessRecord none = sample();
  none.upstream_seconds = -1;
  none.route = "-";
  none.cache = "-";
  none.shadow = "";
  CHECK(formatAccessLine(none, Format::kText).find("upstream=- cache=- route=\"-\" time=") != std::string::npos);
  AccessRecord shadow = sample();
  shadow.shadow = "would_hit";
  CHECK(formatAccessLine(shadow, Format::kText).ends_with(" time=0.013 shadow=would_hit"));
}

TEST_CASE("json access line parses and carries every field") {
  std::map<std::string, std::string> fields;
  const std::string line = formatAccessLine(sample(), Format::kJson);
  REQUIRE(FlatJson(line).parse(fields));
  CHECK(fields["time"] == "2026-12-06T14:02:34.123Z");
  CHECK(fields["client"] == "10.0.0.7");
  CHECK(fields["method"] == "GET");
  CHECK(fields["target"] == "/products/7?x=1");
  CHECK(fields["protocol"] == "HTTP/1.1");
  CHECK(fields["status"] == "200");
  CHECK(fields["bytes"] == "512");
  CHECK(fields["upstream"] == "0.012");
  CHECK(fields["cache"] == "MISS");
  CHECK(fields["route"] == "GET /products/{id}");
  CHECK(fields["duration"] == "0.013");
  CHECK(fields.count("shadow") == 0);
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("json access line stays valid JSON for hostile targets and names") {
  AccessRecord r = sample();
  const std::string target = std::string("/a\"b\\c\x01\x7f") + "\xc3\xa9" + "\n";
  r.target = target;
  r.route = "quote\"route";
  r.upstream_seconds = -1;
  r.shadow = "mismatch";
  std::map<std::string, std::string> fields;
  const std::string line = formatAccessLine(r, Format::kJson);
  REQUIRE(FlatJson(line).parse(fields));
  CHECK(fields["target"].substr(0, 6) == "/a\"b\\c");
  CHECK(fields["route"] == "quote\"route");
  CHECK(fields["upstream"] == "null");
  CHECK(fields["shadow"] == "mismatch");
  CHECK(line.find('\n') == std::string::npos);
}
