// Samples a process's resident set size from a background thread while a
// test drives traffic through it, and keeps the peak. Used to show that a
// transfer streams (DESIGN invariant 8) rather than buffering.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "common/process.h"
#include "common/socket_io.h"

namespace larder::test {

class PeakRssSampler {
 public:
  explicit PeakRssSampler(pid_t pid, Millis interval = 10ms);
  ~PeakRssSampler();
  PeakRssSampler(const PeakRssSampler&) = delete;
  PeakRssSampler& operator=(const PeakRssSampler&) = delete;

  // Stops sampling (takes one last sample) and returns the peak in bytes.
  uint64_t stop();
  uint64_t peakBytes() const;
  size_t sampleCount() const;

 private:
  void run();
  void sample();

  pid_t pid_;
  Millis interval_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t peak_ = 0;
  size_t samples_ = 0;
  std::thread thread_;
};

// True if pid runs with AddressSanitizer or ThreadSanitizer mapped in, whose
// shadow memory makes RSS bounds meaningless.
bool isSanitized(pid_t pid);

}  // namespace larder::test
