#include "harness/rss_sampler.h"

#include <fstream>
#include <string>

#include <fmt/format.h>

namespace larder::test {

bool isSanitized(pid_t pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libasan") != std::string::npos || line.find("libtsan") != std::string::npos) return true;
  }
  return false;
}

PeakRssSampler::PeakRssSampler(pid_t pid, Millis interval) : pid_(pid), interval_(interval) {
  sample();
  thread_ = std::thread([this] { run(); });
}

PeakRssSampler::~PeakRssSampler() { stop(); }

uint64_t PeakRssSampler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    sample();
  }
  return peakBytes();
}

uint64_t PeakRssSampler::peakBytes() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

size_t PeakRssSampler::sampleCount() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

void PeakRssSampler::sample() {
  std::optional<uint64_t> rss = residentBytesOf(pid_);
  if (!rss) return;
  std::lock_guard lock(mutex_);
  ++samples_;
  if (*rss > peak_) peak_ = *rss;
}

void PeakRssSampler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    sample();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace larder::test
