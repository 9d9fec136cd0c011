// FlatJson: a strict parser of one flat JSON object (string, number and
// null values), enough to show that an access-log line is valid JSON
// (RFC 8259) and to read its fields back. Header-only: the unit test of the
// access log includes it too.
#pragma once

#include <cctype>
#include <map>
#include <string>
#include <string_view>

namespace larder::test {

class FlatJson {
 public:
  explicit FlatJson(std::string_view text) : s_(text) {}
  bool parse(std::map<std::string, std::string>& out) {
    if (!eat('{')) return false;
    if (eat('}')) return at_ == s_.size();
    do {
      std::string key, value;
      if (!string(key) || !eat(':') || !scalar(value)) return false;
      out[key] = value;
    } while (eat(','));
    return eat('}') && at_ == s_.size();
  }

 private:
  bool eat(char c) {
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (at_ < s_.size()) {
      const char c = s_[at_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x80) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= s_.size()) return false;
      const char e = s_[at_++];
      if (e == '"' || e == '\\' || e == '/') {
        out += e;
      } else if (e == 'u' && at_ + 4 <= s_.size()) {
        out += static_cast<char>(std::stoi(std::string(s_.substr(at_, 4)), nullptr, 16));
        at_ += 4;
      } else if (e == 'n' || e == 't' || e == 'r' || e == 'b' || e == 'f') {
        out += ' ';
      } else {
        return false;
      }
    }
    return false;
  }
  bool scalar(std::string& out) {
    if (at_ < s_.size() && s_[at_] == '"') return string(out);
    if (s_.substr(at_, 4) == "null") {
      at_ += 4;
      out = "null";
      return true;
    }
    const size_t start = at_;
    while (at_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[at_])) || s_[at_] == '.' || s_[at_] == '-'))
      ++at_;
    out = std::string(s_.substr(start, at_ - start));
    return !out.empty();
  }
  std::string_view s_;
  size_t at_ = 0;
};

}  // namespace larder::test
