// Route-labelled metric families (issue 15): every series carries a `route`
// label whose values are route names from the configuration.
//
// Bound: RouteLabels hands out at most kCapacity slots for the life of the
// process. Slot 0 is route="-" (requests that matched no route), slot 1 is
// route="other" (routes past the configured limit, metrics.route_labels, or
// past kCapacity); the rest are route names in the order first seen. A
// configuration with 200k routes therefore costs at most kCapacity label
// values. Slots are resolved when a configuration is loaded
// (config::Route::metric_slot), never per request: an increment is one
// relaxed atomic add at a fixed index.
//
// Storage is allocated once per family, for all kCapacity slots (about
// 190 KiB for the five families of the catalog). Rendering is lazy: a
// series appears once it is not zero, so an idle route or an unused reason
// adds no lines to /metrics.
//
// Threading: slotOf() takes a lock (configuration load); add() and
// observe() from any thread; rendering from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/metrics.h"

namespace larder::base {

class RouteLabels {
 public:
  static constexpr uint32_t kCapacity = 512;
  static constexpr uint32_t kUnrouted = 0;  // route="-"
  static constexpr uint32_t kOther = 1;     // route="other"

  static RouteLabels& instance();

  // The slot of route `name`: its own while fewer than `limit` names (and
  // kCapacity in all) have one, else kOther. A name keeps its slot across
  // reloads.
  uint32_t slotOf(std::string_view name, uint32_t limit);
  // `route="NAME"` of each assigned slot, in slot order (a copy, for rendering).
  std::vector<std::string> rendered() const;

 private:
  RouteLabels();
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> slots_;
  std::vector<std::string> rendered_;  // index = slot
};

// Counters by route and one more label with fixed values.
class RouteCounterFamily : public Metric {
 public:
  RouteCounterFamily(std::string_view name, std::string_view help, std::string_view key,
                     std::vector<std::string_view> values);
  void add(uint32_t slot, size_t index, int64_t delta) {
    if (slot >= RouteLabels::kCapacity) slot = RouteLabels::kOther;
    if (index >= width_) index = width_ - 1;
    values_[slot * width_ + index].fetch_add(delta, std::memory_order_relaxed);
  }
  int64_t value(uint32_t slot, size_t index) const {
    return values_[slot * width_ + index].load(std::memory_order_relaxed);
  }
  void renderSeries(std::string& out) const override;

 private:
  std::vector<std::string> labels_;  // `key="value"`
  size_t width_;
  std::unique_ptr<std::atomic<int64_t>[]> values_;
};

// A latency histogram per route (the buckets of Histogram::latencyBuckets).
class RouteHistogram : public Metric {
 public:
  RouteHistogram(std::string_view name, std::string_view help);
  void observe(uint32_t slot, std::chrono::nanoseconds value);
  uint64_t count(uint32_t slot) const;
  void renderSeries(std::string& out) const override;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> bounds_ns_;
  size_t width_;  // bounds_.size() + 1 (+Inf), then the sum in nanoseconds
  std::unique_ptr<std::atomic<uint64_t>[]> values_;
};

}  // namespace larder::base
