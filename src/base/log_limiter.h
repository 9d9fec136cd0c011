// LogLimiter: the rate limit of one place in the code that logs. While the
// upstream is down, every failed request would otherwise log the same
// warning (94,897 lines in a 3 s outage under load, issue #10 item 16).
//
// Fixed windows of one second: the first `limit` lines of a window pass,
// the rest are counted. The count is reported once, as one "suppressed N
// similar messages" line, by the first line that passes in a later window,
// or by takeExpired() (the supervisor asks every second) once the window
// has ended, so a burst that stops is still accounted for. A limit of 0
// lets everything through.
//
// Thread-safe (worker threads share a call site); `now` is an argument, so
// tests drive it without sleeping. Constant-initialized, so a function-local
// static costs no guard.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace larder::base {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kWindow{1};

  struct Admission {
    bool write = false;       // this line passes
    uint64_t suppressed = 0;  // report this many before it (an ended window's count)
  };

  constexpr LogLimiter() = default;
  LogLimiter(const LogLimiter&) = delete;
  LogLimiter& operator=(const LogLimiter&) = delete;

  Admission admit(Clock::time_point now, unsigned limit);
  // The count of a window that has ended, reset to zero; 0 while the
  // current window may still suppress, or when nothing was suppressed.
  uint64_t takeExpired(Clock::time_point now);
  // The count so far, whatever the window (at exit).
  uint64_t takeAll();

 private:
  std::mutex mutex_;
  Clock::time_point window_start_{};
  bool started_ = false;
  unsigned written_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace larder::base
