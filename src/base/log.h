// Logging: one line per event, written with a single write(2) so lines from
// worker threads never interleave. The error log goes to stderr by default
// (journald takes it); the access log to stdout or a file.
//
// Every LOG_* call site is rate-limited on its own (base/log_limiter.h):
// at most log.rate_limit lines per second pass, the others are counted in
// larder_log_lines_suppressed_total and reported as one "suppressed N
// similar messages" line. Log::write() itself is not limited: it is for
// lists whose every line matters (a rejected reload's errors).
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>
#include <string_view>

#include "base/log_limiter.h"
#include "base/time.h"

namespace larder::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

std::string_view toString(LogLevel level);
// Parses "debug", "info", "warn", "error", "off"; false when unknown.
bool parseLogLevel(std::string_view text, LogLevel& out);

// One LOG_* call site: where it is, its format (named in the summary line),
// its limiter, and a link in the list of sites that have suppressed lines.
struct LogSite {
  constexpr LogSite(const char* file_name, int line_number, const char* format_text,
                    LogLevel site_level)
      : file(file_name), line(line_number), format(format_text), level(site_level) {}
  const char* file;
  int line;
  const char* format;
  LogLevel level;
  LogLimiter limiter;
  std::atomic<bool> listed{false};
  LogSite* next = nullptr;  // written once, before the site is published
};

// A time as RFC 3339 in UTC with milliseconds: "2026-12-06T14:02:34.123Z".
std::string rfc3339(WallTime time);
std::string rfc3339Now();

class Log {
 public:
  static void setLevel(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
  static LogLevel level() { return level_.load(std::memory_order_relaxed); }
  static bool enabled(LogLevel level) { return level >= Log::level(); }
  // Error-log destination: a path, or empty for stderr. Reopened on demand
  // (SIGUSR1) so log rotation works. Returns false if the file cannot open.
  static bool setErrorLogPath(const std::string& path);
  static bool setAccessLogPath(const std::string& path);
  static bool reopen();

  // "2026-12-06T14:02:34.123Z [info] message": RFC 3339 in UTC, readable
  // outside journald too.
  static void write(LogLevel level, std::string_view message);
  static void access(std::string_view line);

  // Lines per second per call site (log.rate_limit); 0 = unlimited.
  static void setRateLimit(unsigned lines) { rate_limit_.store(lines, std::memory_order_relaxed); }
  static unsigned rateLimit() { return rate_limit_.load(std::memory_order_relaxed); }
  // Whether `site` may write a line now; writes the summary of an ended
  // window first, and counts the line when it is suppressed.
  static bool admit(LogSite& site);
  static bool admit(LogSite& site, LogLimiter::Clock::time_point now);
  // Writes the summary of every site whose suppressing window has ended
  // (`all`: whatever the window, at exit). The supervisor calls it every second.
  static void flushSuppressed(bool all = false);
  static void flushSuppressed(LogLimiter::Clock::time_point now, bool all);

 private:
  static inline std::atomic<LogLevel> level_{LogLevel::kInfo};
  static inline std::atomic<unsigned> rate_limit_{10};
};

}  // namespace larder::base

#define LARDER_LOG(level, log_format, ...)                                                  \
  do {                                                                                        \
    if (::larder::base::Log::enabled(level)) {                                                \
      static ::larder::base::LogSite larder_log_site_{__FILE__, __LINE__, log_format, level}; \
      if (::larder::base::Log::admit(larder_log_site_))                                       \
        ::larder::base::Log::write(level,                                                     \
                                   ::fmt::format(log_format __VA_OPT__(, ) __VA_ARGS__));     \
    }                                                                                         \
  } while (0)
#define LOG_DEBUG(...) LARDER_LOG(::larder::base::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) LARDER_LOG(::larder::base::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) LARDER_LOG(::larder::base::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) LARDER_LOG(::larder::base::LogLevel::kError, __VA_ARGS__)
