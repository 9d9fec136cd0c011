// Logging: one line per event, written with a single write(2) so lines from
// worker threads never interleave. The error log goes to stderr by default
// (journald takes it); the access log to stdout or a file.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>
#include <string_view>

namespace larder::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

std::string_view toString(LogLevel level);
// Parses "debug", "info", "warn", "error", "off"; false when unknown.
bool parseLogLevel(std::string_view text, LogLevel& out);

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

  static void write(LogLevel level, std::string_view message);
  static void access(std::string_view line);

 private:
  static inline std::atomic<LogLevel> level_{LogLevel::kInfo};
};

}  // namespace larder::base

#define LARDER_LOG(level, ...)                                              \
  do {                                                                      \
    if (::larder::base::Log::enabled(level))                                \
      ::larder::base::Log::write(level, ::fmt::format(__VA_ARGS__));        \
  } while (0)
#define LOG_DEBUG(...) LARDER_LOG(::larder::base::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) LARDER_LOG(::larder::base::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) LARDER_LOG(::larder::base::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) LARDER_LOG(::larder::base::LogLevel::kError, __VA_ARGS__)
