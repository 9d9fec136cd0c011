#include "http/cache_control.h"

#include <doctest/doctest.h>

#include <ctime>
#include <random>
#include <string>
#include <vector>

using namespace larder::http;
using std::chrono::seconds;

TEST_CASE("Cache-Control directives are parsed from a list") {
  const CacheControl cc = parseCacheControl(
      "public, private, no-cache, no-store, must-revalidate, proxy-revalidate, no-transform, "
      "only-if-cached, max-age=60, s-maxage=120, stale-while-revalidate=30, stale-if-error=300, "
      "min-fresh=5, max-stale=10");
  CHECK(cc.is_public);
  CHECK(cc.is_private);
  CHECK(cc.no_cache);
  CHECK(cc.no_store);
  CHECK(cc.must_revalidate);
  CHECK(cc.proxy_revalidate);
  CHECK(cc.no_transform);
  CHECK(cc.only_if_cached);
  CHECK(cc.max_age == seconds(60));
  CHECK(cc.s_maxage == seconds(120));
  CHECK(cc.stale_while_revalidate == seconds(30));
  CHECK(cc.stale_if_error == seconds(300));
  CHECK(cc.min_fresh == seconds(5));
  CHECK(cc.max_stale == seconds(10));
}

TEST_CASE("Cache-Control edge cases") {
  struct Row {
    const char* value;
    std::optional<seconds> max_age;
    bool is_private;
    bool no_cache;
  };
  const Row rows[] = {
      {"", std::nullopt, false, false},
      {"max-age=0", seconds(0), false, false},
      {"MAX-AGE=10", seconds(10), false, false},
      // RFC 9111 §5.2: no whitespace around "=": the directive is dropped.
      {"max-age = 10", std::nullopt, false, false},
      {"max-age =10", std::nullopt, false, false},
      {"max-age= 10", std::nullopt, false, false},
      {"max-age =1, max-age=20", seconds(20), false, false},
      {"max-age=003600", seconds(3600), false, false},
      {"max-age='3600'", std::nullopt, false, false},
      {"max-age=3600.5", std::nullopt, false, false},         // fractional: not delta-seconds
      {"max-age=3600a", std::nullopt, false, false},
      {"extension=\"max-age=3600\", max-age=1", seconds(1), false, false},
      {"max-age=1, extension=\"max-age=3600\"", seconds(1), false, false},
      {"max-age=\"15\"", seconds(15), false, false},
      {"max-age=abc", std::nullopt, false, false},
      {"max-age=-1", std::nullopt, false, false},
      {"max-age=", std::nullopt, false, false},
      {"max-age", std::nullopt, false, false},
      {"max-age=10, max-age=20", seconds(10), false, false},     // first wins
      {"max-age=bad, max-age=20", std::nullopt, false, false},   // first wins, even malformed
      {"max-age=99999999999999999999", seconds(int64_t{1} << 31), false, false},
      {"private=\"Set-Cookie, X-A\", max-age=5", seconds(5), true, false},
      {"no-cache=\"Set-Cookie\"", std::nullopt, false, true},
      {",,, max-age=7 ,,", seconds(7), false, false},
      {"x-ext=\"a,b\", max-age=8", seconds(8), false, false},
      {"unknown, foo=bar", std::nullopt, false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value);
    const CacheControl cc = parseCacheControl(row.value);
    CHECK(cc.max_age == row.max_age);
    CHECK(cc.is_private == row.is_private);
    CHECK(cc.no_cache == row.no_cache);
  }
}

TEST_CASE("max-stale without a value accepts any staleness") {
  const CacheControl cc = parseCacheControl("max-stale");
  REQUIRE(cc.max_stale.has_value());
  CHECK(*cc.max_stale >= seconds(int64_t{1} << 31));
  CHECK_FALSE(parseCacheControl("max-stale=x").max_stale.has_value());
}

TEST_CASE("every Cache-Control field of a message counts") {
  HeaderMap h;
  h.add("Cache-Control", "max-age=60");
  h.add("cache-control", "private");
  h.add("Pragma", "no-cache");
  const CacheControl cc = parseCacheControl(h);
  CHECK(cc.max_age == seconds(60));
  CHECK(cc.is_private);
  CHECK_FALSE(cc.no_cache);
}

TEST_CASE("HTTP dates parse in all three formats") {
  const auto expected = larder::base::WallClock::from_time_t(784111777);  // 1994-11-06 08:49:37 UTC
  struct Row {
    const char* text;
    bool valid;
  };
  const Row rows[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", true},
      {"Sunday, 06-Nov-94 08:49:37 GMT", true},
      {"Sun Nov  6 08:49:37 1994", true},
      {"Sun Nov 06 08:49:37 1994", true},
      {"Sun, 06 Nov 1994 08:49:37 UTC", false},
      {"Sun, 6 Nov 1994 08:49:37 GMT", false},
      {"Sun, 06 Foo 1994 08:49:37 GMT", false},
      {"Sun, 31 Feb 1994 08:49:37 GMT", false},
      {"Sun, 06 Nov 1994 25:49:37 GMT", false},
      {"Sun, 06 Nov 1994 08:49:37 GMT ", false},
      {"", false},
      {"0", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    const auto parsed = parseHttpDate(row.text);
    CHECK(parsed.has_value() == row.valid);
    if (row.valid && parsed) CHECK(*parsed == expected);
  }
  // RFC 850 two-digit years pivot at 70.
  CHECK(parseHttpDate("Thursday, 01-Jan-70 00:00:00 GMT") == larder::base::WallClock::from_time_t(0));
  CHECK(parseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT") == larder::base::WallClock::from_time_t(946684800));
}

TEST_CASE("HTTP dates are formatted as IMF-fixdate and round-trip") {
  const auto t = larder::base::WallClock::from_time_t(784111777) + std::chrono::milliseconds(999);
  CHECK(formatHttpDate(t) == "Sun, 06 Nov 1994 08:49:37 GMT");
  const auto now = larder::base::WallClock::from_time_t(1700000000);
  CHECK(parseHttpDate(formatHttpDate(now)) == now);
}

// appendHttpDate computes the civil date itself (stored entries rebuild
// their dates with it on every hit): it must agree with the C library's
// gmtime everywhere in its range, leap days and century years included.
TEST_CASE("appendHttpDate agrees with gmtime from 1970 to 9999") {
  const auto reference = [](int64_t seconds) {
    const time_t t = static_cast<time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text);
  };
  std::vector<int64_t> samples = {0, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */,
                                  4107455999, 1709164800 /* 2024-02-29 */, kMaxHttpDateSeconds};
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 20000; ++i) samples.push_back(static_cast<int64_t>(rng() % (kMaxHttpDateSeconds + 1)));
  for (const int64_t seconds : samples) {
    CAPTURE(seconds);
    std::string out = "x";
    appendHttpDate(out, seconds);
    CHECK(out == "x" + reference(seconds));
  }
  CHECK(formatHttpDate(larder::base::WallClock::from_time_t(-5)) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("RFC 9213 §2.1: targeted fields are Structured Field Dictionaries") {
  struct Row {
    const char* value;
    bool valid;
    std::optional<seconds> max_age;
    bool no_store = false;
    bool is_private = false;
    bool no_cache = false;
  };
  const Row rows[] = {
      {"max-age=3600", true, seconds(3600)},
      {"foobar, max-age=3600", true, seconds(3600)},
      {"max-age=2147483648", true, seconds(int64_t{1} << 31)},
      {"max-age=99999999999", true, seconds(int64_t{1} << 31)},
      {"max-age=0", true, seconds(0)},
      {"no-store", true, std::nullopt, true},
      {"no-store=?0", true, std::nullopt, false},
      {"private", true, std::nullopt, false, true},
      {"no-cache=\"set-cookie\"", true, std::nullopt, false, false, true},
      {"no-cache=(\"set-cookie\" \"x\")", true, std::nullopt, false, false, true},
      {"max-age=5;a=1, no-store", true, seconds(5), true},
      {"max-age=5, max-age=7", true, seconds(7)},  // a dictionary: the last wins
      // Invalid: the whole field is ignored.
      {"", false, std::nullopt},
      {"max-age=10000, &&&&&", false, std::nullopt},
      {"max-age=\"10000\"", false, std::nullopt},   // wrong type
      {"max-age=-1", false, std::nullopt},
      {"max-age=1.5", false, std::nullopt},
      {"max-age =100", false, std::nullopt},
      {"max-age= 100", false, std::nullopt},
      {"MaX-aGe=3600", false, std::nullopt},          // keys are lower case
      {"max-age=3600,", false, std::nullopt},
      {"no-store=1", false, std::nullopt},
      {"max-age=1234567890123456", false, std::nullopt},  // 16 digits
      {"a=\"unterminated", false, std::nullopt},
      {"a=:aGk=:, max-age=1", true, seconds(1)},
      {"a=:a?:", false, std::nullopt},
      {"a=?2", false, std::nullopt},
      {"a=(1 2", false, std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value);
    const auto cc = parseTargetedCacheControl(row.value);
    REQUIRE(cc.has_value() == row.valid);
    if (!cc) continue;
    CHECK(cc->max_age == row.max_age);
    CHECK(cc->no_store == row.no_store);
    CHECK(cc->is_private == row.is_private);
    CHECK(cc->no_cache == row.no_cache);
  }
}

TEST_CASE("RFC 9110 §5.6.7: dates far outside the clock's range are clamped, not overflowed") {
  const auto past = parseHttpDate("Sun, 06 Nov 0778 08:49:37 GMT");
  const auto future = parseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT");
  const auto now = parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(past.has_value());
  REQUIRE(future.has_value());
  REQUIRE(now.has_value());
  CHECK(*past < *now);
  CHECK(*future > *now);
}
