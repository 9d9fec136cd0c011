// The per-call-site log rate limit (issue #10 item 16), driven by an
// injected clock: no sleeps.
#include "base/log_limiter.h"

#include <doctest/doctest.h>

#include <string>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "common/captured_log.h"

using namespace larder::base;
using namespace std::chrono_literals;
using larder::test::CapturedLog;

namespace {

using Clock = LogLimiter::Clock;
const Clock::time_point kStart = Clock::time_point{} + 1000s;

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("the first `limit` lines of a window pass; the rest are counted and reported once, later") {
  LogLimiter limiter;
  for (int i = 0; i < 3; ++i) {
    const auto admission = limiter.admit(kStart + std::chrono::milliseconds(i), 3);
    CHECK(admission.write);
    CHECK(admission.suppressed == 0);
  }
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(limiter.admit(kStart + 500ms, 3).write);
  CHECK_FALSE(limiter.admit(kStart + 999ms, 3).write);
  // The next window: the first line passes and carries the count.
  auto next = limiter.admit(kStart + 1000ms, 3);
  CHECK(next.write);
  CHECK(next.suppressed == 1001);
  next = limiter.admit(kStart + 1001ms, 3);
  CHECK(next.write);
  CHECK(next.suppressed == 0);  // reported once only
}

TEST_CASE("an ended window's count is taken once by takeExpired; a running window keeps it") {
  LogLimiter limiter;
  CHECK(limiter.admit(kStart, 1).write);
  CHECK_FALSE(limiter.admit(kStart + 10ms, 1).write);
  CHECK_FALSE(limiter.admit(kStart + 20ms, 1).write);
  CHECK(limiter.takeExpired(kStart + 900ms) == 0);  // the window may still suppress
  CHECK(limiter.takeExpired(kStart + 1000ms) == 2);
  CHECK(limiter.takeExpired(kStart + 5000ms) == 0);
  const auto later = limiter.admit(kStart + 6000ms, 1);
  CHECK(later.write);
  CHECK(later.suppressed == 0);  // already reported
  CHECK_FALSE(limiter.admit(kStart + 6001ms, 1).write);
  CHECK(limiter.takeAll() == 1);
}

TEST_CASE("a limit of 0 lets every line through") {
  LogLimiter limiter;
  for (int i = 0; i < 10000; ++i) CHECK(limiter.admit(kStart, 0).write);
  CHECK(limiter.takeAll() == 0);
}

TEST_CASE("a call site writes its summary line and counts what it suppressed in the metric") {
  CapturedLog log;
  Log::setRateLimit(2);
  static LogSite site{"src/proxy/exchange.cc", 289, "upstream {} for {} {}", LogLevel::kWarn};
  const int64_t before = metrics::log_lines_suppressed.value(metrics::index(LogLevel::kWarn));
  int written = 0;
  for (int i = 0; i < 50; ++i) written += Log::admit(site, kStart + std::chrono::milliseconds(i)) ? 1 : 0;
  CHECK(written == 2);
  CHECK(metrics::log_lines_suppressed.value(metrics::index(LogLevel::kWarn)) - before == 48);
  CHECK(log.text().empty());  // admit() itself writes only summaries

  Log::flushSuppressed(kStart + 500ms, false);
  CHECK(log.text().empty());
  Log::flushSuppressed(kStart + 1500ms, false);
  const std::string text = log.text();
  CHECK(lines(text) == 1);
  CHECK(text.find("[warn] suppressed 48 similar messages from exchange.cc:289 (\"upstream {} for {} {}\"; "
                  "log.rate_limit is 2 per second)") != std::string::npos);
  Log::flushSuppressed(kStart + 2500ms, false);
  CHECK(lines(log.text()) == 1);  // nothing left to report
  Log::setRateLimit(10);
}

TEST_CASE("LOG_WARN in a tight loop writes at most two windows' worth of lines and a summary") {
  CapturedLog log;
  Log::setRateLimit(5);
  for (int i = 0; i < 10000; ++i) LOG_WARN("upstream down, request {}", i);
  Log::flushSuppressed(true);
  const std::string text = log.text();
  // The loop may straddle one window boundary: 5 + 5 lines, and a summary
  // for each window that suppressed.
  CHECK(lines(text) >= 6);
  CHECK(lines(text) <= 12);
  CHECK(text.find("request 0\n") != std::string::npos);
  CHECK(text.find("request 9999\n") == std::string::npos);
  CHECK(text.find("similar messages from log_limiter_test.cc:") != std::string::npos);
  Log::setRateLimit(10);
}
