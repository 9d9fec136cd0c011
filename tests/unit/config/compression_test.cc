// cache.compression: its defaults, its values, and its mistakes.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;
using Algorithm = CompressionConfig::Algorithm;

namespace {

std::string withCompression(const std::string& value) {
  return kUpstreamYaml + "cache:\n  compression: " + value + "\n";
}

}  // namespace

TEST_CASE("compression: off by default; gzip at level 6 from 1 KiB on JSON and text once named") {
  auto defaults = loadConfigString(kUpstreamYaml, "conf.yaml");
  REQUIRE(defaults.ok());
  CHECK((*defaults)->cache.compression.algorithm == Algorithm::kOff);
  auto result = loadConfigString(withCompression("{ algorithm: gzip }"), "conf.yaml");
  REQUIRE(result.ok());
  const CompressionConfig& c = (*result)->cache.compression;
  CHECK(c.algorithm == Algorithm::kGzip);
  CHECK(c.level == 6);
  CHECK(c.min_size == 1024);
  CHECK(c.types.front() == "application/json");
  CHECK(c.types.back() == "text/*");
}

TEST_CASE("compression: values, off, and zstd's own default level") {
  auto result = loadConfigString(
      withCompression("{ algorithm: zstd, min_size: 4KiB, types: [Application/JSON, \"text/*\"] }"), "conf.yaml");
  REQUIRE(result.ok());
  const CompressionConfig& c = (*result)->cache.compression;
  CHECK(c.algorithm == Algorithm::kZstd);
  CHECK(c.level == 3);
  CHECK(c.min_size == 4096);
  CHECK(c.types == std::vector<std::string>{"application/json", "text/*"});

  auto gzip9 = loadConfigString(withCompression("{ algorithm: gzip, level: 9 }"), "conf.yaml");
  REQUIRE(gzip9.ok());
  CHECK((*gzip9)->cache.compression.level == 9);
  auto zstd19 = loadConfigString(withCompression("{ algorithm: zstd, level: 19 }"), "conf.yaml");
  REQUIRE(zstd19.ok());
  CHECK((*zstd19)->cache.compression.level == 19);

  for (const char* off : {"off", "{ algorithm: off }"}) {
    auto result_off = loadConfigString(withCompression(off), "conf.yaml");
    REQUIRE(result_off.ok());
    CHECK((*result_off)->cache.compression.algorithm == Algorithm::kOff);
  }
  auto none = loadConfigString(withCompression("{ types: [] }"), "conf.yaml");
  REQUIRE(none.ok());
  CHECK((*none)->cache.compression.types.empty());
}

TEST_CASE("compression: bad values get an error naming the key, at its line") {
  struct Row {
    std::string yaml;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {withCompression("{ algorithm: brotli }"), "cache.compression.algorithm: expected gzip, zstd or off, got \"brotli\""},
      {withCompression("{ algorithm: \"\" }"), "cache.compression.algorithm"},
      {withCompression("{ algorithm: [gzip] }"), "cache.compression.algorithm"},
      {withCompression("{ level: 0 }"), "cache.compression.level: must be from 1 to 12, got 0"},
      {withCompression("{ level: 13 }"), "cache.compression.level: must be from 1 to 12, got 13"},
      {withCompression("{ algorithm: zstd, level: 20 }"), "cache.compression.level: must be from 1 to 19, got 20"},
      {withCompression("{ level: -1 }"), "cache.compression.level: expected a whole number"},
      {withCompression("{ level: high }"), "cache.compression.level: expected a whole number"},
      {withCompression("{ min_size: lots }"), "cache.compression.min_size"},
      {withCompression("{ min_size: -1KiB }"), "cache.compression.min_size"},
      {withCompression("{ types: application/json }"), "cache.compression.types"},
      {withCompression("{ types: [json] }"), "\"json\" is not a media type"},
      {withCompression("{ types: [\"*/*\"] }"), "\"*/*\" is not a media type"},
      {withCompression("{ types: [\"application/\"] }"), "is not a media type"},
      {withCompression("{ types: [\"text/j*\"] }"), "is not a media type"},
      {withCompression("{ types: [\"a/b/c\"] }"), "is not a media type"},
      {withCompression("{ types: [\"text/html; charset=utf-8\"] }"), "is not a media type"},
      {withCompression("{ algoritm: gzip }"), "unknown key cache.compression.algoritm"},
      {withCompression("on"), "cache.compression: expected off or a mapping"},
      {withCompression("[gzip]"), "cache.compression"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    auto result = loadConfigString(row.yaml, "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() >= 1);
    const ConfigError& error = result.error()[0];
    CAPTURE(error.message);
    CHECK(error.message.find(row.message) != std::string::npos);
    CHECK(error.line == 4);
  }
}
