// TestClock: a wall clock for larder that the test moves, so that a TTL test
// advances time instead of sleeping past a max-age (STYLE T4, T5).
//
// larder is started with env() in its environment: Debian's libfaketime is
// preloaded (libfaketimeMT, the variant for threaded programs: larder's
// workers read the clock at once) and reads its offset from a file on every
// clock call (FAKETIME_NO_CACHE). Only the wall clock (CLOCK_REALTIME, time(),
// gettimeofday) moves: freshness and Age are computed on it (base::WallClock,
// RFC 9111 §4.2). Monotonic time is left alone (FAKETIME_DONT_FAKE_MONOTONIC),
// so libuv's timers, upstream and Redis timeouts and the memory tier's
// expiry run in real time. Redis is not preloaded: its key expiry stays real
// time too, as in production, where a key outlives freshness for revalidation.
//
// If libfaketime is not installed the constructor throws HarnessError
// (CI installs it: apt-get install libfaketime).
#pragma once

#include <chrono>
#include <filesystem>

#include "common/process.h"
#include "common/temp_dir.h"

namespace larder::test {

class TestClock {
 public:
  TestClock();
  TestClock(const TestClock&) = delete;
  TestClock& operator=(const TestClock&) = delete;

  // The environment of a process whose wall clock this clock drives. Under
  // AddressSanitizer, ASAN_OPTIONS gains verify_asan_link_order=0: the
  // preloaded libfaketime comes before the ASan runtime, which only
  // intercepts what libfaketime does not.
  EnvVars env() const;
  // Moves the wall clock of every process started with env() forward by
  // `by`, at once (the offset accumulates).
  void advance(std::chrono::milliseconds by);
  std::chrono::milliseconds offset() const { return offset_; }

 private:
  void write() const;

  TempDir dir_;
  std::filesystem::path file_;
  std::filesystem::path library_;
  std::chrono::milliseconds offset_{0};
};

}  // namespace larder::test
