#include "base/route_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace larder::base {
namespace {

// Prometheus label values escape backslash, double quote and newline
// (config validation keeps them out of route names anyway).
std::string routeLabel(std::string_view value) {
  std::string out = "route=\"";
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

void appendSeries(std::string& out, std::string_view name, std::string_view route,
                  std::string_view other) {
  out += name;
  out += '{';
  out += route;
  if (!other.empty()) {
    out += ',';
    out += other;
  }
  out += '}';
}

}  // namespace

RouteLabels::RouteLabels() {
  rendered_.push_back(routeLabel("-"));
  rendered_.push_back(routeLabel("other"));
  slots_.emplace("-", kUnrouted);
  slots_.emplace("other", kOther);
}

RouteLabels& RouteLabels::instance() {
  static RouteLabels labels;
  return labels;
}

uint32_t RouteLabels::slotOf(std::string_view name, uint32_t limit) {
  std::lock_guard lock(mutex_);
  auto found = slots_.find(std::string(name));
  if (found != slots_.end()) return found->second;
  // Slots 0 and 1 are "-" and "other": `limit` counts named routes only.
  const size_t named = rendered_.size() - 2;
  if (named >= limit || rendered_.size() >= kCapacity) return kOther;
  const auto slot = static_cast<uint32_t>(rendered_.size());
  rendered_.push_back(routeLabel(name));
  slots_.emplace(std::string(name), slot);
  return slot;
}

std::vector<std::string> RouteLabels::rendered() const {
  std::lock_guard lock(mutex_);
  return rendered_;
}

RouteCounterFamily::RouteCounterFamily(std::string_view name, std::string_view help,
                                       std::string_view key, std::vector<std::string_view> values)
    : Metric(name, help, MetricType::kCounter),
      width_(values.size()),
      values_(std::make_unique<std::atomic<int64_t>[]>(RouteLabels::kCapacity * values.size())) {
  for (auto value : values) labels_.push_back(fmt::format("{}=\"{}\"", key, value));
  for (size_t i = 0; i < RouteLabels::kCapacity * width_; ++i) values_[i].store(0, std::memory_order_relaxed);
}

void RouteCounterFamily::renderSeries(std::string& out) const {
  const std::vector<std::string> routes = RouteLabels::instance().rendered();
  for (size_t slot = 0; slot < routes.size(); ++slot) {
    for (size_t i = 0; i < width_; ++i) {
      const int64_t v = values_[slot * width_ + i].load(std::memory_order_relaxed);
      if (v == 0) continue;
      appendSeries(out, name(), routes[slot], labels_[i]);
      out += fmt::format(" {}\n", v);
    }
  }
}

RouteHistogram::RouteHistogram(std::string_view name, std::string_view help)
    : Metric(name, help, MetricType::kHistogram),
      bounds_(Histogram::latencyBuckets()),
      width_(bounds_.size() + 2),
      values_(std::make_unique<std::atomic<uint64_t>[]>(RouteLabels::kCapacity * width_)) {
  for (double bound : bounds_) bounds_ns_.push_back(static_cast<int64_t>(bound * 1e9));
  for (size_t i = 0; i < RouteLabels::kCapacity * width_; ++i) values_[i].store(0, std::memory_order_relaxed);
}

void RouteHistogram::observe(uint32_t slot, std::chrono::nanoseconds value) {
  if (slot >= RouteLabels::kCapacity) slot = RouteLabels::kOther;
  const int64_t ns = std::max<int64_t>(0, value.count());
  size_t i = 0;
  while (i < bounds_ns_.size() && ns > bounds_ns_[i]) ++i;
  std::atomic<uint64_t>* series = &values_[slot * width_];
  series[i].fetch_add(1, std::memory_order_relaxed);
  series[width_ - 1].fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

uint64_t RouteHistogram::count(uint32_t slot) const {
  uint64_t total = 0;
  for (size_t i = 0; i + 1 < width_; ++i) total += values_[slot * width_ + i].load(std::memory_order_relaxed);
  return total;
}

void RouteHistogram::renderSeries(std::string& out) const {
  const std::vector<std::string> routes = RouteLabels::instance().rendered();
  for (size_t slot = 0; slot < routes.size(); ++slot) {
    if (count(static_cast<uint32_t>(slot)) == 0) continue;
    const std::atomic<uint64_t>* series = &values_[slot * width_];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += series[i].load(std::memory_order_relaxed);
      std::string le = i < bounds_.size() ? fmt::format("le=\"{}\"", bounds_[i]) : std::string("le=\"+Inf\"");
      out += name();
      out += "_bucket";
      appendSeries(out, "", routes[slot], le);
      out += fmt::format(" {}\n", cumulative);
    }
    out += name();
    out += "_sum";
    appendSeries(out, "", routes[slot], "");
    out += fmt::format(" {}\n", series[width_ - 1].load(std::memory_order_relaxed) / 1e9);
    out += name();
    out += "_count";
    appendSeries(out, "", routes[slot], "");
    out += fmt::format(" {}\n", cumulative);
  }
}

}  // namespace larder::base
