// Drives a real uv loop in the unit tests (STYLE T4) until a condition
// holds. A Redis or upstream connection keeps the loop alive forever, so
// "run to completion" means "until the awaited callbacks ran".
#pragma once

#include <chrono>
#include <functional>

#include "net/loop.h"
#include "net/timer.h"

namespace larder::test {

// Returns whether `done` became true within `timeout`.
inline bool runUntil(net::Loop& loop, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  // A ticking timer so a loop with nothing else to do still wakes up to
  // check the clock.
  net::Timer tick(loop);
  tick.startRepeating(std::chrono::milliseconds(5), [] {});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  return true;
}

// Runs the loop for a while, whatever happens.
inline void runFor(net::Loop& loop, std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  runUntil(
      loop, [&] { return std::chrono::steady_clock::now() >= until; }, duration * 2);
}

}  // namespace larder::test
