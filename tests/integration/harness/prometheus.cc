#include "harness/prometheus.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "common/harness_error.h"

namespace larder::test {
namespace {

const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
const std::regex kLabel(R"lbl(^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$)lbl");

[[noreturn]] void fail(size_t line_number, std::string_view line, std::string_view why) {
  throw HarnessError(fmt::format("/metrics line {}: {}: '{}'", line_number, why, line));
}

// Splits a label list on commas outside quotes.
std::vector<std::string> splitLabels(const std::string& labels) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (size_t i = 0; i < labels.size(); ++i) {
    char c = labels[i];
    if (c == '\\' && quoted && i + 1 < labels.size()) {
      current += c;
      current += labels[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      out.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

bool parseValue(const std::string& text, double& out) {
  if (text == "+Inf") { out = INFINITY; return true; }
  if (text == "-Inf") { out = -INFINITY; return true; }
  if (text == "NaN") { out = NAN; return true; }
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0';
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

double PrometheusText::value(const std::string& series) const {
  auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

PrometheusText parsePrometheus(std::string_view text) {
  PrometheusText result;
  std::set<std::string> helped;
  std::string current_family;
  std::map<std::string, double> bucket_last;  // histogram -> last cumulative bucket
  std::map<std::string, double> bucket_inf;
  size_t line_number = 0;
  size_t at = 0;
  if (!text.empty() && text.back() != '\n') throw HarnessError("/metrics does not end with a newline");
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line(text.substr(at, end - at));
    at = end + 1;
    ++line_number;
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      if (!std::regex_match(name, kName)) fail(line_number, line, "bad metric name");
      if (!helped.insert(name).second) fail(line_number, line, "HELP repeated");
      if (rest.size() <= name.size() + 1) fail(line_number, line, "empty HELP text");
      current_family = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t space = rest.find(' ');
      if (space == std::string::npos) fail(line_number, line, "TYPE without a type");
      std::string name = rest.substr(0, space), type = rest.substr(space + 1);
      static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
      if (!kTypes.count(type)) fail(line_number, line, "unknown type");
      if (name != current_family) fail(line_number, line, "TYPE does not follow its HELP");
      if (result.types.count(name)) fail(line_number, line, "TYPE repeated");
      if (type == "counter" && !endsWith(name, "_total")) fail(line_number, line, "counter without _total");
      result.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;  // a comment
    std::smatch match;
    if (!std::regex_match(line, match, kSample)) fail(line_number, line, "not a sample line");
    std::string name = match[1];
    std::string labels = match[3];
    double value = 0;
    if (!parseValue(match[4], value)) fail(line_number, line, "bad value");
    std::string family = name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (endsWith(name, suffix) && result.types.count(name.substr(0, name.size() - suffix.size())) &&
          result.types[name.substr(0, name.size() - suffix.size())] == "histogram") {
        family = name.substr(0, name.size() - suffix.size());
      }
    }
    if (family != current_family || !result.types.count(family))
      fail(line_number, line, "sample outside its family's HELP/TYPE block");
    std::string le;
    // A histogram's series: its family and its labels other than le (a
    // labelled histogram has one bucket run per label set).
    std::string histogram = family;
    for (const auto& label : splitLabels(labels)) {
      std::smatch label_match;
      if (!std::regex_match(label, label_match, kLabel)) fail(line_number, line, "bad label");
      if (label_match[1] == "le") {
        le = label_match[2];
      } else {
        histogram += "{" + label + "}";
      }
    }
    const std::string& type = result.types[family];
    if (type == "counter" && value < 0) fail(line_number, line, "negative counter");
    if (type == "histogram" && endsWith(name, "_bucket")) {
      if (le.empty()) fail(line_number, line, "bucket without le");
      if (value < bucket_last[histogram]) fail(line_number, line, "buckets not cumulative");
      bucket_last[histogram] = value;
      if (le == "+Inf") bucket_inf[histogram] = value;
    }
    if (type == "histogram" && endsWith(name, "_count")) {
      if (!bucket_inf.count(histogram)) fail(line_number, line, "histogram without a +Inf bucket");
      if (bucket_inf[histogram] != value) fail(line_number, line, "_count differs from the +Inf bucket");
    }
    std::string series = labels.empty() ? name : name + "{" + labels + "}";
    if (!result.samples.emplace(series, value).second) fail(line_number, line, "series repeated");
  }
  return result;
}

}  // namespace larder::test
