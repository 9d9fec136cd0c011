#include "harness/gate.h"

#include <thread>

namespace larder::test {

void Gate::open() {
  {
    std::lock_guard lock(mutex_);
    open_ = true;
  }
  cv_.notify_all();
}

bool Gate::isOpen() const {
  std::lock_guard lock(mutex_);
  return open_;
}

bool Gate::wait(Millis timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return open_; });
}

bool waitUntil(const std::function<bool()>& predicate, Millis timeout, Millis poll_interval) {
  Deadline deadline = deadlineIn(timeout);
  for (;;) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace larder::test
