#include "base/log.h"

#include <ctime>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "base/metric_catalog.h"

namespace larder::base {
namespace {

// A destination is a path plus the fd opened for it; -1 path means a std fd.
struct Sink {
  std::string path;
  int fd;
  int fallback;
};

std::mutex sinks_mutex;
// Call sites that have suppressed a line, for flushSuppressed(). A site is
// pushed once and never removed (sites are static); readers walk from the
// head they loaded, so pushes need no lock.
std::atomic<LogSite*> suppressing_sites{nullptr};
Sink error_sink{"", STDERR_FILENO, STDERR_FILENO};
Sink access_sink{"", STDOUT_FILENO, STDOUT_FILENO};

bool openSink(Sink& sink, const std::string& path) {
  int fd = sink.fallback;
  if (!path.empty()) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return false;
  }
  std::lock_guard lock(sinks_mutex);
  if (sink.fd != sink.fallback) ::close(sink.fd);
  sink.path = path;
  sink.fd = fd;
  return true;
}

void writeLine(const Sink& sink, std::string_view line) {
  // A single write per line keeps lines from different threads whole.
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(sink.fd, data, left);
    if (n <= 0) return;
    data += n;
    left -= static_cast<size_t>(n);
  }
}

std::string_view baseName(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

void writeSummary(const LogSite& site, uint64_t count) {
  Log::write(site.level,
             fmt::format("suppressed {} similar message{} from {}:{} (\"{}\"; log.rate_limit is {} "
                         "per second)",
                         count, count == 1 ? "" : "s", baseName(site.file), site.line, site.format,
                         Log::rateLimit()));
}

void listSite(LogSite& site) {
  if (site.listed.exchange(true)) return;
  LogSite* head = suppressing_sites.load(std::memory_order_acquire);
  do {
    site.next = head;
  } while (!suppressing_sites.compare_exchange_weak(head, &site, std::memory_order_release,
                                                    std::memory_order_acquire));
}

}  // namespace

bool Log::admit(LogSite& site) { return admit(site, LogLimiter::Clock::now()); }

bool Log::admit(LogSite& site, LogLimiter::Clock::time_point now) {
  const LogLimiter::Admission admission = site.limiter.admit(now, rateLimit());
  if (admission.suppressed > 0) writeSummary(site, admission.suppressed);
  if (!admission.write) {
    metrics::log_lines_suppressed.add(metrics::index(site.level), 1);
    listSite(site);
  }
  return admission.write;
}

void Log::flushSuppressed(bool all) { flushSuppressed(LogLimiter::Clock::now(), all); }

void Log::flushSuppressed(LogLimiter::Clock::time_point now, bool all) {
  for (LogSite* site = suppressing_sites.load(std::memory_order_acquire); site != nullptr;
       site = site->next) {
    const uint64_t count = all ? site->limiter.takeAll() : site->limiter.takeExpired(now);
    if (count > 0) writeSummary(*site, count);
  }
}

std::string_view toString(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

bool parseLogLevel(std::string_view text, LogLevel& out) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError,
                     LogLevel::kOff}) {
    if (text == toString(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

bool Log::setErrorLogPath(const std::string& path) { return openSink(error_sink, path); }
bool Log::setAccessLogPath(const std::string& path) { return openSink(access_sink, path); }

bool Log::reopen() {
  std::string error_path, access_path;
  {
    std::lock_guard lock(sinks_mutex);
    error_path = error_sink.path;
    access_path = access_sink.path;
  }
  return openSink(error_sink, error_path) && openSink(access_sink, access_path);
}

std::string rfc3339(WallTime time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::string rfc3339Now() { return rfc3339(std::chrono::system_clock::now()); }

void Log::write(LogLevel level, std::string_view message) {
  std::string line = fmt::format("{} [{}] {}\n", rfc3339Now(), toString(level), message);
  std::lock_guard lock(sinks_mutex);
  writeLine(error_sink, line);
}

void Log::access(std::string_view line) {
  std::string text(line);
  text.push_back('\n');
  std::lock_guard lock(sinks_mutex);
  writeLine(access_sink, text);
}

}  // namespace larder::base
