// Route path patterns and namespace templates.
//   pattern:  "/api/products/{id}"  "/static/*"  "/api/items/{id}/reviews"
//   template: "product:{id}"  (names must be parameters of the pattern)
// A {name} matches one non-empty path segment; a trailing "*" matches the
// rest of the path (including nothing). Matching runs on the normalized path.
//
// PathMatching says how literal segments compare (DESIGN invariant 13): with
// ignore_trailing_slash, one trailing '/' of the request path and of the
// pattern is ignored ("/a/7/" matches "/a/{id}"); with case_insensitive,
// literal segments compare ASCII case-insensitively ("/API/a" matches
// "/api/a"). Parameter values are captured exactly as the request spells them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larder::config {

using Params = std::vector<std::pair<std::string, std::string>>;

struct PathMatching {
  bool ignore_trailing_slash = false;
  bool case_insensitive = false;
  friend bool operator==(const PathMatching&, const PathMatching&) = default;
};

class RoutePattern {
 public:
  RoutePattern() = default;
  // Returns false with `error` set when the pattern is malformed. The
  // pattern matches exactly until setMatching() says otherwise.
  static bool parse(std::string_view text, RoutePattern& out, std::string& error);
  void setMatching(PathMatching matching) { matching_ = matching; }
  const PathMatching& matching() const { return matching_; }
  bool match(std::string_view path, Params& params) const;
  const std::vector<std::string>& paramNames() const { return param_names_; }
  const std::string& text() const { return text_; }
  // The pattern as the matching rule sees it: parameters as "{}", without
  // a trailing slash when `strip_slash`, letters lowered when `fold_case`.
  // Two patterns whose shapes agree under the rules of both match the same
  // paths (route_loader.cc uses this to find overlapping routes).
  std::string shape(bool fold_case, bool strip_slash) const;

 private:
  struct Segment {
    bool is_param = false;
    std::string literal_or_name;
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<std::string> param_names_;
  bool trailing_wildcard_ = false;
  PathMatching matching_;
};

class Template {
 public:
  Template() = default;
  // Fails when malformed or when it names a parameter not in `allowed`.
  static bool parse(std::string_view text, const std::vector<std::string>& allowed, Template& out,
                    std::string& error);
  std::string expand(const Params& params) const;
  const std::string& text() const { return text_; }
  bool hasParams() const;
  // (is_param, literal text or parameter name), in order.
  const std::vector<std::pair<bool, std::string>>& parts() const { return parts_; }

 private:
  std::string text_;
  std::vector<std::pair<bool, std::string>> parts_;
};

}  // namespace larder::config
