// Shared load generator of the fault-injection tests (fault_*_test.cc): a
// few client threads issue requests back to back, each on its own keep-alive
// connection (reconnecting when larder closes it), and record every request's
// start time, latency, status and X-Cache. The test injects a fault while the
// load runs, marks the phases (before, during, after) with Clock time points,
// and reads the figures of each phase: requests sent, failed (no complete
// response), statuses, hits, p50/p99/max latency.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/harness_error.h"
#include "common/process.h"
#include "harness/gate.h"
#include "harness/http_client.h"

namespace larder::test {

struct LoadSample {
  Clock::time_point start;
  std::chrono::microseconds latency{0};
  int status = 0;  // 0: no complete response (a failure)
  bool hit = false;
};

struct PhaseStats {
  size_t sent = 0;
  size_t failed = 0;      // no complete response within the request timeout
  size_t non_200 = 0;     // answered, but not 200
  size_t status_502 = 0;
  size_t hits = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;

  std::string describe(std::string_view name) const {
    return fmt::format("{}: sent {}, failed {}, non-200 {} (502: {}), hits {}, p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms",
                       name, sent, failed, non_200, status_502, hits, p50_ms, p99_ms, max_ms);
  }
};

class LoadRunner {
 public:
  // target(thread, i) names the i-th request of a thread.
  using Target = std::function<std::string(size_t thread, size_t i)>;

  LoadRunner(uint16_t port, size_t threads, Target target, Millis request_timeout = 10s)
      : port_(port), target_(std::move(target)), request_timeout_(request_timeout) {
    for (size_t t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
  }
  ~LoadRunner() { stop(); }
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;

  // Joins the threads; their connections are closed when this returns.
  void stop() {
    stopping_ = true;
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
  }

  size_t sampleCount() const {
    std::lock_guard lock(mutex_);
    return samples_.size();
  }

  // Figures of the requests that started in [from, to).
  PhaseStats stats(Clock::time_point from, Clock::time_point to) const {
    std::vector<double> latencies;
    PhaseStats stats;
    std::lock_guard lock(mutex_);
    for (const auto& sample : samples_) {
      if (sample.start < from || sample.start >= to) continue;
      ++stats.sent;
      if (sample.status == 0) {
        ++stats.failed;
      } else if (sample.status != 200) {
        ++stats.non_200;
      }
      if (sample.status == 502) ++stats.status_502;
      if (sample.hit) ++stats.hits;
      latencies.push_back(double(sample.latency.count()) / 1000.0);
    }
    if (!latencies.empty()) {
      std::sort(latencies.begin(), latencies.end());
      auto at = [&](double q) { return latencies[std::min(latencies.size() - 1, size_t(q * double(latencies.size())))]; };
      stats.p50_ms = at(0.50);
      stats.p99_ms = at(0.99);
      stats.max_ms = latencies.back();
    }
    return stats;
  }

 private:
  void run(size_t thread) {
    std::unique_ptr<HttpClient> client;
    for (size_t i = 0; !stopping_; ++i) {
      LoadSample sample;
      sample.start = Clock::now();
      try {
        if (!client) client = std::make_unique<HttpClient>(port_, 2s);
        auto response = client->get(target_(thread, i), {}, request_timeout_);
        if (response) {
          sample.status = response->status;
          sample.hit = response->header("X-Cache") == "HIT";
          std::string connection = response->header("Connection");
          if (connection == "close" || connection == "Close") client.reset();
        } else {
          client.reset();
        }
      } catch (const HarnessError&) {
        client.reset();  // could not connect: a failure, counted below
      }
      sample.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sample.start);
      std::lock_guard lock(mutex_);
      samples_.push_back(sample);
    }
  }

  uint16_t port_;
  Target target_;
  Millis request_timeout_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<LoadSample> samples_;
  std::vector<std::thread> threads_;
};

// Open file descriptors of a process once the count has held still for a
// few polls (connections just closed by a client are gone): a baseline.
inline size_t stableFdCount(Process& process, Millis timeout = 3s) {
  size_t last = process.openFdCount().value_or(0);
  int same = 0;
  waitUntil(
      [&] {
        const size_t now = process.openFdCount().value_or(0);
        same = now == last ? same + 1 : 0;
        last = now;
        return same >= 3;
      },
      timeout, 50ms);
  return last;
}

// Open file descriptors of a process, waiting up to timeout for the count to
// come back to at most `baseline`; the last count seen.
inline size_t settledFdCount(Process& process, size_t baseline, Millis timeout = 5s) {
  size_t count = 0;
  waitUntil(
      [&] {
        count = process.openFdCount().value_or(0);
        return count <= baseline;
      },
      timeout, 20ms);
  return count;
}

}  // namespace larder::test
