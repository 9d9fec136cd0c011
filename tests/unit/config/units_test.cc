#include "config/units.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace larder::config;
using namespace std::chrono_literals;

TEST_CASE("durations take one whole number and one unit") {
  struct Row {
    std::string_view text;
    bool ok;
    larder::base::Duration expected;
  };
  const Row rows[] = {
      {"250ms", true, 250ms},
      {"30s", true, 30s},
      {"5m", true, 5min},
      {"1h", true, 1h},
      {"1d", true, 24h},
      {"0", true, 0ms},
      {"0s", true, 0ms},
      {"007s", true, 7s},
      {"", false, {}},
      {"5", false, {}},  // a bare number is a missing unit
      {"-5s", false, {}},
      {"+5s", false, {}},
      {"1.5s", false, {}},
      {"5 minutes", false, {}},
      {"5 s", false, {}},
      {"5S", false, {}},
      {"1m30s", false, {}},  // combined units are not supported
      {"s", false, {}},
      {"5us", false, {}},
      {"99999999999999999999s", false, {}},  // does not fit in 64 bits
      {"9223372036854775807d", false, {}},   // fits, but overflows once scaled
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    auto parsed = parseDuration(row.text);
    REQUIRE(parsed.ok() == row.ok);
    if (row.ok) CHECK(*parsed == row.expected);
    if (!row.ok) CHECK_FALSE(parsed.error().empty());
  }
}

TEST_CASE("a missing duration unit is named in the error") {
  auto parsed = parseDuration("300");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().find("missing unit") != std::string::npos);
}

TEST_CASE("sizes are bytes or binary units; KB and friends are refused as ambiguous") {
  struct Row {
    std::string_view text;
    bool ok;
    uint64_t expected;
  };
  const Row rows[] = {
      {"512", true, 512},
      {"0", true, 0},
      {"512B", true, 512},
      {"64KiB", true, 64 * 1024},
      {"1MiB", true, 1024 * 1024},
      {"2GiB", true, 2ull << 30},
      {"1TiB", true, 1ull << 40},
      {"16k", true, 16 * 1024},
      {"16K", true, 16 * 1024},
      {"8m", true, 8 << 20},
      {"1g", true, 1ull << 30},
      {"", false, 0},
      {"64KB", false, 0},
      {"64kB", false, 0},
      {"1MB", false, 0},
      {"1GB", false, 0},
      {"1 MiB", false, 0},
      {"-1", false, 0},
      {"1.5MiB", false, 0},
      {"MiB", false, 0},
      {"1mib", false, 0},
      {"1PiB", false, 0},
      {"18446744073709551615", true, 18446744073709551615ull},
      {"18446744073709551616", false, 0},
      {"17179869184GiB", false, 0},  // 2^34 GiB overflows 64 bits
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    auto parsed = parseSize(row.text);
    REQUIRE(parsed.ok() == row.ok);
    if (row.ok) CHECK(*parsed == row.expected);
  }
  auto ambiguous = parseSize("10MB");
  REQUIRE_FALSE(ambiguous.ok());
  CHECK(ambiguous.error().find("MiB") != std::string::npos);
}

TEST_CASE("addresses are host:port, [v6]:port or a unix socket path") {
  struct Row {
    std::string_view text;
    bool ok;
    Address::Kind kind;
    std::string_view host_or_path;
    uint16_t port;
  };
  using K = Address::Kind;
  const Row rows[] = {
      {"0.0.0.0:8080", true, K::kTcp, "0.0.0.0", 8080},
      {"127.0.0.1:1", true, K::kTcp, "127.0.0.1", 1},
      {"localhost:65535", true, K::kTcp, "localhost", 65535},
      {"api-1.internal:8000", true, K::kTcp, "api-1.internal", 8000},
      {"[::1]:8080", true, K::kTcp, "::1", 8080},
      {"[::]:80", true, K::kTcp, "::", 80},
      {"[fe80::1:2]:443", true, K::kTcp, "fe80::1:2", 443},
      {"unix:/run/larder.sock", true, K::kUnix, "/run/larder.sock", 0},
      {"unix:///run/x.sock", true, K::kUnix, "/run/x.sock", 0},
      {"", false, K::kTcp, "", 0},
      {"127.0.0.1", false, K::kTcp, "", 0},  // missing port
      {"127.0.0.1:", false, K::kTcp, "", 0},
      {":8080", false, K::kTcp, "", 0},  // missing host
      {"127.0.0.1:0", false, K::kTcp, "", 0},
      {"127.0.0.1:65536", false, K::kTcp, "", 0},
      {"127.0.0.1:-1", false, K::kTcp, "", 0},
      {"127.0.0.1:80x", false, K::kTcp, "", 0},
      {"::1:8080", false, K::kTcp, "", 0},  // IPv6 needs brackets
      {"[::1]", false, K::kTcp, "", 0},
      {"[::1]8080", false, K::kTcp, "", 0},
      {"[::1:8080", false, K::kTcp, "", 0},
      {"[localhost]:80", false, K::kTcp, "", 0},
      {"host name:80", false, K::kTcp, "", 0},
      {"http://host:80", false, K::kTcp, "", 0},
      {"unix:", false, K::kUnix, "", 0},
      {"unix:relative.sock", false, K::kUnix, "", 0},
      {"unix://run/x.sock", false, K::kUnix, "", 0},  // "run" would be a host
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    auto parsed = parseAddress(row.text);
    REQUIRE(parsed.ok() == row.ok);
    if (!row.ok) continue;
    CHECK(parsed->kind == row.kind);
    if (row.kind == K::kTcp) {
      CHECK(parsed->host == row.host_or_path);
      CHECK(parsed->port == row.port);
    } else {
      CHECK(parsed->path == row.host_or_path);
    }
  }
  CHECK_FALSE(parseAddress("unix:/" + std::string(200, 'a')).ok());
}

TEST_CASE("redis URLs give address, database and user; a password in them is refused") {
  struct Row {
    std::string_view text;
    bool ok;
    std::string_view address;
    unsigned database;
    std::string_view username;
  };
  const Row rows[] = {
      {"redis://127.0.0.1:6379/0", true, "127.0.0.1:6379", 0, ""},
      {"redis://127.0.0.1", true, "127.0.0.1:6379", 0, ""},
      {"redis://cache.internal/3", true, "cache.internal:6379", 3, ""},
      {"redis://larder@10.0.0.5:6380/2", true, "10.0.0.5:6380", 2, "larder"},
      {"redis://[::1]:6379/1", true, "[::1]:6379", 1, ""},
      {"redis://[::1]", true, "[::1]:6379", 0, ""},
      {"redis://host:6379/", true, "host:6379", 0, ""},
      {"unix:///run/redis/redis.sock", true, "unix:/run/redis/redis.sock", 0, ""},
      {"unix:///run/redis/redis.sock?db=4", true, "unix:/run/redis/redis.sock", 4, ""},
      {"redis://user:secret@host:6379/0", false, "", 0, ""},
      {"redis://:secret@host:6379/0", false, "", 0, ""},
      {"rediss://host:6379", false, "", 0, ""},
      {"http://host:6379", false, "", 0, ""},
      {"127.0.0.1:6379", false, "", 0, ""},
      {"redis://", false, "", 0, ""},
      {"redis://@host", false, "", 0, ""},
      {"redis://host:0", false, "", 0, ""},
      {"redis://host/db1", false, "", 0, ""},
      {"redis://host/1/2", false, "", 0, ""},
      {"unix:///run/redis.sock?database=1", false, "", 0, ""},
      {"unix:///run/redis.sock?db=", false, "", 0, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    auto parsed = parseRedisUrl(row.text);
    REQUIRE(parsed.ok() == row.ok);
    if (!row.ok) continue;
    CHECK(parsed->address.toString() == row.address);
    CHECK(parsed->database == row.database);
    CHECK(parsed->username == row.username);
  }
  auto secret = parseRedisUrl("redis://u:hunter2@host/0");
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().find("password_file") != std::string::npos);
  CHECK(secret.error().find("hunter2") == std::string::npos);
}
