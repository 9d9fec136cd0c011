// Metrics: process-wide counters, gauges and histograms, rendered in the
// Prometheus text format (version 0.0.4) by the admin thread.
//
// Model: every metric is a global object with static storage, constructed
// before main() (or at first use of its translation unit), never destroyed
// while threads run. Each one links itself into one registry list at
// construction; the list head is constant-initialized, so construction order
// across translation units does not matter. Labels are fixed at construction:
// a labelled family is an array of series indexed by an enum or a small
// integer, so an increment on the hot path is one relaxed atomic add, with no
// lookup and no allocation.
//
// Threading: increments from any thread (relaxed atomics); render() from any
// thread. A rendering sees each series at some recent value; a histogram's
// _count is derived from its own buckets, so the two always agree.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace larder::base {

enum class MetricType { kCounter, kGauge, kHistogram };

class Metric {
 public:
  Metric(std::string_view name, std::string_view help, MetricType type);
  virtual ~Metric() = default;
  Metric(const Metric&) = delete;
  Metric& operator=(const Metric&) = delete;

  std::string_view name() const { return name_; }
  std::string_view help() const { return help_; }
  MetricType type() const { return type_; }
  // Appends the series lines (no HELP/TYPE).
  virtual void renderSeries(std::string& out) const = 0;

  const Metric* next() const { return next_; }
  static const Metric* first();

 private:
  std::string_view name_;
  std::string_view help_;
  MetricType type_;
  const Metric* next_ = nullptr;
};

// Label sets of a family, each pre-rendered as `key="value",...`.
using LabelSets = std::vector<std::string>;
// One label: {key="v0"}, {key="v1"}, ...
LabelSets labelSets(std::string_view key, const std::vector<std::string_view>& values);
// The product of two labels: index = first * second_values.size() + second.
LabelSets labelSets(std::string_view key1, const std::vector<std::string_view>& values1,
                    std::string_view key2, const std::vector<std::string_view>& values2);

// A monotonic counter, or a family of them. `kind` may be kGauge for
// values that go both ways (Gauge below is the friendlier name).
class CounterFamily : public Metric {
 public:
  CounterFamily(std::string_view name, std::string_view help, LabelSets labels,
                MetricType type = MetricType::kCounter);
  // Series `index` (0 for an unlabelled metric). Out-of-range indexes clamp
  // to the last series rather than write out of bounds.
  void add(size_t index, int64_t delta) {
    values_[index < size_ ? index : size_ - 1].fetch_add(delta, std::memory_order_relaxed);
  }
  void set(size_t index, int64_t value) {
    values_[index < size_ ? index : size_ - 1].store(value, std::memory_order_relaxed);
  }
  int64_t value(size_t index) const {
    return values_[index < size_ ? index : size_ - 1].load(std::memory_order_relaxed);
  }
  size_t size() const { return size_; }
  void renderSeries(std::string& out) const override;

 private:
  LabelSets labels_;
  size_t size_;
  std::unique_ptr<std::atomic<int64_t>[]> values_;
};

class Counter : public CounterFamily {
 public:
  Counter(std::string_view name, std::string_view help)
      : CounterFamily(name, help, LabelSets{""}) {}
  void inc(uint64_t n = 1) { add(0, static_cast<int64_t>(n)); }
  // For counters mirrored from elsewhere (a collector copies them in).
  void setTotal(uint64_t n) { set(0, static_cast<int64_t>(n)); }
  int64_t value() const { return CounterFamily::value(0); }
};

class Gauge : public CounterFamily {
 public:
  Gauge(std::string_view name, std::string_view help)
      : CounterFamily(name, help, LabelSets{""}, MetricType::kGauge) {}
  void inc(int64_t n = 1) { add(0, n); }
  void dec(int64_t n = 1) { add(0, -n); }
  void set(int64_t n) { CounterFamily::set(0, n); }
  int64_t value() const { return CounterFamily::value(0); }
};

// A family with one label whose values are learned at run time (upstream
// servers named by the configuration). At most kMaxSeries values get their
// own series; later ones share the last, labelled "other", so a long-running
// process with many reloads stays bounded. indexOf() takes a lock (call it
// when the configuration is applied, not per request); add() is one relaxed
// atomic add. A series, once added, is rendered for the life of the process.
class KeyedFamily : public Metric {
 public:
  static constexpr size_t kMaxSeries = 64;
  KeyedFamily(std::string_view name, std::string_view help, std::string_view key,
              MetricType type = MetricType::kCounter);
  size_t indexOf(std::string_view value);
  void add(size_t index, int64_t delta) {
    values_[index < kMaxSeries ? index : kMaxSeries - 1].fetch_add(delta, std::memory_order_relaxed);
  }
  void set(size_t index, int64_t value) {
    values_[index < kMaxSeries ? index : kMaxSeries - 1].store(value, std::memory_order_relaxed);
  }
  int64_t value(size_t index) const {
    return values_[index < kMaxSeries ? index : kMaxSeries - 1].load(std::memory_order_relaxed);
  }
  void renderSeries(std::string& out) const override;

 private:
  std::string_view key_;
  mutable std::mutex mutex_;
  std::vector<std::string> labels_;  // rendered `key="value"`, guarded by mutex_
  std::array<std::atomic<int64_t>, kMaxSeries> values_{};
};

// A latency histogram with fixed bucket upper bounds in seconds; with label
// sets, a family of them, one series per set (observe(index, ...); an
// out-of-range index clamps to the last series, as in CounterFamily).
class Histogram : public Metric {
 public:
  Histogram(std::string_view name, std::string_view help, std::vector<double> bounds, LabelSets labels = {});
  void observe(std::chrono::nanoseconds value) { observe(0, value); }
  void observe(size_t series, std::chrono::nanoseconds value);
  uint64_t count(size_t series = 0) const;
  void renderSeries(std::string& out) const override;

  // 0.5 ms .. 10 s, roughly 1-2.5-5 per decade.
  static std::vector<double> latencyBuckets();
  // 100 µs .. 30 s: a whole request, cache hits (tens of µs) included.
  static std::vector<double> requestBuckets();

 private:
  size_t width() const { return bounds_.size() + 1; }

  std::vector<int64_t> bounds_ns_;
  std::vector<double> bounds_;
  LabelSets labels_;  // empty: one unlabelled series
  // Per series: bounds_.size() + 1 buckets (the last is +Inf).
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::unique_ptr<std::atomic<uint64_t>[]> sums_ns_;
};

// Collectors copy values kept elsewhere (store sizes, backlog length) into
// gauges just before a rendering. Register from any thread, typically at
// startup; a collector must stay valid until it is removed.
class MetricCollectors {
 public:
  using Id = uint64_t;
  static Id add(std::function<void()> collect);
  static void remove(Id id);
  static void runAll();
};

// The whole registry, HELP and TYPE lines included, families sorted by name.
// Runs the collectors first.
std::string renderMetrics();

}  // namespace larder::base
