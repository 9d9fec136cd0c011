#include "upstream/keep_alive.h"

#include <charconv>

#include "http/header_map.h"

namespace larder::upstream {
namespace {

// Parses a decimal count of whole units, as written by servers ("5"), or
// quoted ("\"5\""). Values above a day are clamped: they only mean "long".
std::optional<unsigned> parseCount(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  if (text.empty()) return std::nullopt;
  unsigned long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  if (error == std::errc::result_out_of_range || value > 86400) return 86400u;
  if (error != std::errc()) return std::nullopt;
  return static_cast<unsigned>(value);
}

}  // namespace

KeepAliveHint parseKeepAlive(std::string_view value) {
  KeepAliveHint hint;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = http::trimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    size_t equals = item.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view name = http::trimOws(item.substr(0, equals));
    std::optional<unsigned> count = parseCount(http::trimOws(item.substr(equals + 1)));
    if (!count) continue;
    // The first occurrence wins, as for a repeated directive.
    if (http::equalsIgnoreCase(name, "timeout") && !hint.timeout) {
      hint.timeout = base::Duration(std::chrono::seconds(*count));
    } else if (http::equalsIgnoreCase(name, "max") && !hint.max) {
      hint.max = *count;
    }
  }
  return hint;
}

base::Duration idleLimit(base::Duration configured, const KeepAliveHint& hint) {
  if (hint.max && *hint.max == 0) return base::Duration(0);
  if (!hint.timeout) return configured;
  base::Duration server = *hint.timeout;
  base::Duration before = server > 2 * kKeepAliveMargin ? server - kKeepAliveMargin : server / 2;
  return std::min(configured, before);
}

}  // namespace larder::upstream
