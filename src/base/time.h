// Clock vocabulary. Policy code takes `now` as an argument instead of reading
// a clock (STYLE: policy is pure functions).
#pragma once

#include <chrono>
#include <cstdint>

namespace larder::base {

using Duration = std::chrono::milliseconds;
// Wall-clock time: stored in cache entries, since Age must agree across hosts.
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;
// Monotonic time: timeouts and latency measurements.
using MonoClock = std::chrono::steady_clock;
using MonoTime = MonoClock::time_point;

// Monotonic milliseconds, for timestamps shared between threads.
inline uint64_t monoMillis() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(MonoClock::now().time_since_epoch()).count());
}

}  // namespace larder::base
