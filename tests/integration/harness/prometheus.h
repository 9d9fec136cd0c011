// A strict reader of the Prometheus text exposition format (0.0.4), for
// checking larder's /metrics: every sample must belong to a family declared
// by a preceding # HELP and # TYPE, names and labels must be well-formed,
// counters end in _total, histogram buckets are cumulative and end with
// le="+Inf" equal to _count. parsePrometheus() throws HarnessError naming
// the first offending line.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace larder::test {

struct PrometheusText {
  // "name{labels}" exactly as rendered (labels in their order) -> value.
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|...

  // The value of a series; 0 when absent (a counter not yet incremented).
  double value(const std::string& series) const;
  bool has(const std::string& series) const { return samples.count(series) != 0; }
};

PrometheusText parsePrometheus(std::string_view text);

}  // namespace larder::test
