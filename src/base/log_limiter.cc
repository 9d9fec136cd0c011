#include "base/log_limiter.h"

namespace larder::base {

LogLimiter::Admission LogLimiter::admit(Clock::time_point now, unsigned limit) {
  std::lock_guard lock(mutex_);
  Admission admission;
  if (!started_ || now - window_start_ >= kWindow) {
    started_ = true;
    window_start_ = now;
    written_ = 0;
    admission.suppressed = suppressed_;
    suppressed_ = 0;
  }
  if (limit == 0 || written_ < limit) {
    ++written_;
    admission.write = true;
    return admission;
  }
  ++suppressed_;
  return admission;
}

uint64_t LogLimiter::takeExpired(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (suppressed_ == 0 || now - window_start_ < kWindow) return 0;
  const uint64_t count = suppressed_;
  suppressed_ = 0;
  return count;
}

uint64_t LogLimiter::takeAll() {
  std::lock_guard lock(mutex_);
  const uint64_t count = suppressed_;
  suppressed_ = 0;
  return count;
}

}  // namespace larder::base
