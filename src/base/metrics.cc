#include "base/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace larder::base {
namespace {

// Constant-initialized, so a Metric constructed during static
// initialization of any translation unit finds it ready. Metrics are only
// constructed before threads start (static storage), so no lock.
constinit const Metric* g_first = nullptr;

std::mutex& collectorsMutex() {
  static std::mutex mutex;
  return mutex;
}

std::map<MetricCollectors::Id, std::function<void()>>& collectors() {
  static std::map<MetricCollectors::Id, std::function<void()>> map;
  return map;
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// HELP text escapes backslash and newline (exposition format 0.0.4).
void appendEscapedHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void appendSeriesName(std::string& out, std::string_view name, std::string_view labels) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
}

}  // namespace

Metric::Metric(std::string_view name, std::string_view help, MetricType type)
    : name_(name), help_(help), type_(type), next_(g_first) {
  g_first = this;
}

const Metric* Metric::first() { return g_first; }

LabelSets labelSets(std::string_view key, const std::vector<std::string_view>& values) {
  LabelSets sets;
  sets.reserve(values.size());
  for (auto value : values) sets.push_back(fmt::format("{}=\"{}\"", key, value));
  return sets;
}

LabelSets labelSets(std::string_view key1, const std::vector<std::string_view>& values1,
                    std::string_view key2, const std::vector<std::string_view>& values2) {
  LabelSets sets;
  sets.reserve(values1.size() * values2.size());
  for (auto v1 : values1)
    for (auto v2 : values2) sets.push_back(fmt::format("{}=\"{}\",{}=\"{}\"", key1, v1, key2, v2));
  return sets;
}

CounterFamily::CounterFamily(std::string_view name, std::string_view help, LabelSets labels,
                             MetricType type)
    : Metric(name, help, type),
      labels_(labels.empty() ? LabelSets{""} : std::move(labels)),
      size_(labels_.size()),
      values_(std::make_unique<std::atomic<int64_t>[]>(size_)) {
  for (size_t i = 0; i < size_; ++i) values_[i].store(0, std::memory_order_relaxed);
}

void CounterFamily::renderSeries(std::string& out) const {
  for (size_t i = 0; i < size_; ++i) {
    appendSeriesName(out, name(), labels_[i]);
    out += fmt::format(" {}\n", values_[i].load(std::memory_order_relaxed));
  }
}

KeyedFamily::KeyedFamily(std::string_view name, std::string_view help, std::string_view key,
                         MetricType type)
    : Metric(name, help, type), key_(key) {}

size_t KeyedFamily::indexOf(std::string_view value) {
  // Prometheus label values escape backslash, double quote and newline.
  std::string escaped;
  for (char c : value) {
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') escaped += '\\';
    escaped += c;
  }
  std::string label = fmt::format("{}=\"{}\"", key_, escaped);
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] == label) return i;
  if (labels_.size() + 1 < kMaxSeries) {
    labels_.push_back(std::move(label));
    return labels_.size() - 1;
  }
  if (labels_.size() + 1 == kMaxSeries) labels_.push_back(fmt::format("{}=\"other\"", key_));
  return kMaxSeries - 1;
}

void KeyedFamily::renderSeries(std::string& out) const {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < labels_.size(); ++i) {
    appendSeriesName(out, name(), labels_[i]);
    out += fmt::format(" {}\n", values_[i].load(std::memory_order_relaxed));
  }
}

Histogram::Histogram(std::string_view name, std::string_view help, std::vector<double> bounds, LabelSets labels)
    : Metric(name, help, MetricType::kHistogram), bounds_(std::move(bounds)), labels_(std::move(labels)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (double bound : bounds_) bounds_ns_.push_back(static_cast<int64_t>(bound * 1e9));
  const size_t series = std::max<size_t>(1, labels_.size());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(series * width());
  sums_ns_ = std::make_unique<std::atomic<uint64_t>[]>(series);
  for (size_t i = 0; i < series * width(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < series; ++i) sums_ns_[i].store(0, std::memory_order_relaxed);
}

std::vector<double> Histogram::latencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Histogram::requestBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

void Histogram::observe(size_t series, std::chrono::nanoseconds value) {
  series = std::min(series, std::max<size_t>(1, labels_.size()) - 1);  // clamps, as CounterFamily::add does
  int64_t ns = std::max<int64_t>(0, value.count());
  size_t i = 0;
  while (i < bounds_ns_.size() && ns > bounds_ns_[i]) ++i;
  buckets_[series * width() + i].fetch_add(1, std::memory_order_relaxed);
  sums_ns_[series].fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

uint64_t Histogram::count(size_t series) const {
  uint64_t total = 0;
  for (size_t i = 0; i < width(); ++i) total += buckets_[series * width() + i].load(std::memory_order_relaxed);
  return total;
}

void Histogram::renderSeries(std::string& out) const {
  const size_t series = std::max<size_t>(1, labels_.size());
  for (size_t s = 0; s < series; ++s) {
    // `key="value",` before le=, and `{key="value"}` on _sum and _count.
    const std::string prefix = labels_.empty() ? std::string() : labels_[s] + ",";
    const std::string braces = labels_.empty() ? std::string() : "{" + labels_[s] + "}";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < width(); ++i) {
      cumulative += buckets_[s * width() + i].load(std::memory_order_relaxed);
      std::string le = i < bounds_.size() ? fmt::format("{}", bounds_[i]) : std::string("+Inf");
      out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name(), prefix, le, cumulative);
    }
    out += fmt::format("{}_sum{} {}\n", name(), braces, sums_ns_[s].load(std::memory_order_relaxed) / 1e9);
    out += fmt::format("{}_count{} {}\n", name(), braces, cumulative);
  }
}

MetricCollectors::Id MetricCollectors::add(std::function<void()> collect) {
  static Id next = 0;
  std::lock_guard lock(collectorsMutex());
  Id id = ++next;
  collectors().emplace(id, std::move(collect));
  return id;
}

void MetricCollectors::remove(Id id) {
  std::lock_guard lock(collectorsMutex());
  collectors().erase(id);
}

void MetricCollectors::runAll() {
  std::lock_guard lock(collectorsMutex());
  for (auto& [id, collect] : collectors()) collect();
}

std::string renderMetrics() {
  MetricCollectors::runAll();
  std::vector<const Metric*> metrics;
  for (const Metric* metric = Metric::first(); metric != nullptr; metric = metric->next())
    metrics.push_back(metric);
  std::sort(metrics.begin(), metrics.end(),
            [](const Metric* a, const Metric* b) { return a->name() < b->name(); });
  std::string out;
  out.reserve(metrics.size() * 256);
  for (const Metric* metric : metrics) {
    out += "# HELP ";
    out += metric->name();
    out += ' ';
    appendEscapedHelp(out, metric->help());
    out += "\n# TYPE ";
    out += metric->name();
    out += ' ';
    out += typeName(metric->type());
    out += '\n';
    metric->renderSeries(out);
  }
  return out;
}

}  // namespace larder::base
