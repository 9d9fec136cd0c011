#include "config/route_pattern.h"

#include <fmt/format.h>
#include <algorithm>

namespace larder::config {

namespace {

bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool isName(std::string_view text) {
  if (text.empty() || !isNameStart(text[0])) return false;
  return std::all_of(text.begin(), text.end(), isNameChar);
}

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. The leading '/' is not a segment.
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

bool RoutePattern::parse(std::string_view text, RoutePattern& out, std::string& error) {
  if (text.empty() || text[0] != '/') {
    error = "path must start with '/'";
    return false;
  }
  RoutePattern pattern;
  pattern.text_ = std::string(text);
  std::vector<std::string_view> segments = splitPath(text);
  if (segments.back() == "*") {
    pattern.trailing_wildcard_ = true;
    segments.pop_back();
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string_view segment = segments[i];
    // An empty last segment is a trailing slash, which is matched literally.
    if (segment.empty() && i + 1 != segments.size()) {
      error = "empty path segment (\"//\")";
      return false;
    }
    if (segment.find('*') != std::string_view::npos) {
      error = "'*' is only allowed as the whole last segment (\"/prefix/*\")";
      return false;
    }
    const bool opens = segment.find('{') != std::string_view::npos;
    const bool closes = segment.find('}') != std::string_view::npos;
    if (!opens && !closes) {
      pattern.segments_.push_back({false, std::string(segment)});
      continue;
    }
    if (segment.size() < 2 || segment.front() != '{' || segment.back() != '}') {
      error = "a parameter must be a whole segment, like \"/{id}\"";
      return false;
    }
    const std::string_view name = segment.substr(1, segment.size() - 2);
    if (!isName(name)) {
      error = "invalid parameter name \"" + std::string(name) + "\"";
      return false;
    }
    if (std::find(pattern.param_names_.begin(), pattern.param_names_.end(), name) !=
        pattern.param_names_.end()) {
      error = "duplicate parameter \"" + std::string(name) + "\"";
      return false;
    }
    pattern.param_names_.emplace_back(name);
    pattern.segments_.push_back({true, std::string(name)});
  }
  out = std::move(pattern);
  return true;
}

bool RoutePattern::match(std::string_view path, Params& params) const {
  params.clear();
  if (path.empty() || path[0] != '/') return false;
  std::vector<std::string_view> segments = splitPath(path);
  // The wildcard takes zero or more segments, so "/static/*" also matches
  // "/static", and "/*" (no fixed segments) matches everything.
  if (trailing_wildcard_ ? segments.size() < segments_.size()
                         : segments.size() != segments_.size()) {
    return false;
  }
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& want = segments_[i];
    if (want.is_param) {
      if (segments[i].empty()) {
        params.clear();
        return false;
      }
      params.emplace_back(want.literal_or_name, std::string(segments[i]));
    } else if (segments[i] != want.literal_or_name) {
      params.clear();
      return false;
    }
  }
  return true;
}

bool Template::parse(std::string_view text, const std::vector<std::string>& allowed, Template& out,
                     std::string& error) {
  if (text.empty()) {
    error = "empty";
    return false;
  }
  Template result;
  result.text_ = std::string(text);
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find_first_of("{}", i);
    if (open == std::string_view::npos) {
      result.parts_.emplace_back(false, std::string(text.substr(i)));
      break;
    }
    if (text[open] == '}') {
      error = "unbalanced '}'";
      return false;
    }
    if (open > i) result.parts_.emplace_back(false, std::string(text.substr(i, open - i)));
    const size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      error = "unclosed '{'";
      return false;
    }
    const std::string_view name = text.substr(open + 1, close - open - 1);
    if (!isName(name)) {
      error = "invalid parameter name \"" + std::string(name) + "\"";
      return false;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      error = fmt::format("{{{}}} is not a parameter of the route's path", name);
      return false;
    }
    result.parts_.emplace_back(true, std::string(name));
    i = close + 1;
  }
  out = std::move(result);
  return true;
}

std::string Template::expand(const Params& params) const {
  std::string result;
  for (const auto& [is_param, value] : parts_) {
    if (!is_param) {
      result += value;
      continue;
    }
    // The loader guarantees every name is a pattern parameter, so a miss here
    // means the caller passed params from another route; expand to empty.
    for (const auto& [name, param] : params) {
      if (name == value) {
        result += param;
        break;
      }
    }
  }
  return result;
}

}  // namespace larder::config
