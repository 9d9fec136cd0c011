// Route path patterns and namespace templates.
//   pattern:  "/api/products/{id}"  "/static/*"  "/api/items/{id}/reviews"
//   template: "product:{id}"  (names must be parameters of the pattern)
// A {name} matches one non-empty path segment; a trailing "*" matches the
// rest of the path (including nothing). Matching runs on the normalized path.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larder::config {

using Params = std::vector<std::pair<std::string, std::string>>;

class RoutePattern {
 public:
  RoutePattern() = default;
  // Returns false with `error` set when the pattern is malformed.
  static bool parse(std::string_view text, RoutePattern& out, std::string& error);
  bool match(std::string_view path, Params& params) const;
  const std::vector<std::string>& paramNames() const { return param_names_; }
  const std::string& text() const { return text_; }

 private:
  struct Segment {
    bool is_param = false;
    std::string literal_or_name;
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::vector<std::string> param_names_;
  bool trailing_wildcard_ = false;
};

class Template {
 public:
  Template() = default;
  // Fails when malformed or when it names a parameter not in `allowed`.
  static bool parse(std::string_view text, const std::vector<std::string>& allowed, Template& out,
                    std::string& error);
  std::string expand(const Params& params) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::pair<bool, std::string>> parts_;  // (is_param, literal or name)
};

}  // namespace larder::config
