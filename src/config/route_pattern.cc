#include "config/route_pattern.h"

#include <fmt/format.h>
#include <algorithm>

#include "http/header_map.h"

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
  size_t wanted = segments_.size();
  if (matching_.ignore_trailing_slash) {
    // One trailing slash, on either side: "/a/7/" is "/a/7", and a pattern
    // written "/a/" also matches "/a". The root "/" stays itself.
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (wanted > 1 && !segments_.back().is_param && segments_.back().literal_or_name.empty())
      --wanted;
  }
  // Segments are walked in place: this runs for every route a request is
  // tried against, so it allocates only for the params it keeps.
  std::string_view rest = path.substr(1);
  bool exhausted = false;
  for (size_t i = 0; i < wanted; ++i) {
    if (exhausted) {
      params.clear();
      return false;
    }
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      exhausted = true;
    } else {
      rest.remove_prefix(slash + 1);
    }
    const Segment& want = segments_[i];
    if (want.is_param) {
      if (segment.empty()) {
        params.clear();
        return false;
      }
      params.emplace_back(want.literal_or_name, std::string(segment));
      continue;
    }
    const bool same = matching_.case_insensitive
                          ? http::equalsIgnoreCase(segment, want.literal_or_name)
                          : segment == want.literal_or_name;
    if (!same) {
      params.clear();
      return false;
    }
  }
  // The wildcard takes zero or more segments, so "/static/*" also matches
  // "/static", and "/*" (no fixed segments) matches everything.
  if (!trailing_wildcard_ && !exhausted) {
    params.clear();
    return false;
  }
  return true;
}

std::string RoutePattern::shape(bool fold_case, bool strip_slash) const {
  size_t count = segments_.size();
  if (strip_slash && count > 1 && !segments_.back().is_param &&
      segments_.back().literal_or_name.empty())
    --count;
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    out += '/';
    const Segment& segment = segments_[i];
    if (segment.is_param) {
      out += "{}";
    } else {
      out += fold_case ? http::asciiLower(segment.literal_or_name) : segment.literal_or_name;
    }
  }
  if (trailing_wildcard_) out += "/*";
  return out;
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

bool Template::hasParams() const {
  return std::any_of(parts_.begin(), parts_.end(), [](const auto& part) { return part.first; });
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
