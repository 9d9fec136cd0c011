#include "cache/soft_purge.h"

#include <algorithm>
#include <charconv>

#include "cache/key.h"

namespace larder::cache {
namespace {

std::string_view headOf(std::string_view value) {
  return value.substr(0, value.find(kSoftChainSeparator));
}

std::optional<base::WallTime> markOf(std::string_view head) {
  const size_t at = head.rfind(kSoftMarkSeparator);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view digits = head.substr(at + 1);
  int64_t ms = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, error] = std::from_chars(digits.data(), end, ms);
  if (digits.empty() || ptr != end || error != std::errc() || ms < 0) return std::nullopt;
  return base::WallTime(std::chrono::milliseconds(ms));
}

}  // namespace

std::string softPurgeToken(base::WallTime mark) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(mark.time_since_epoch()).count();
  std::string token = newVersionToken();
  token += kSoftMarkSeparator;
  token += std::to_string(std::max<int64_t>(ms, 0));
  return token;
}

std::string softVersionValue(std::string_view head, const std::optional<std::string>& previous) {
  std::string value(head);
  if (!previous) return value;
  std::string_view rest = *previous;
  for (size_t kept = 1; kept < kSoftChainLength && !rest.empty(); ++kept) {
    const size_t end = rest.find(kSoftChainSeparator);
    std::string_view segment = rest.substr(0, end);
    if (!segment.empty()) {
      value += kSoftChainSeparator;
      value += segment;
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return value;
}

std::optional<base::WallTime> softlySupersededAt(std::string_view recorded, std::string_view current) {
  const std::string_view head = headOf(recorded);
  if (head.empty()) return std::nullopt;
  std::string_view newer;  // the head listed just before the one looked at
  std::string_view rest = current;
  bool first = true;
  while (true) {
    const size_t end = rest.find(kSoftChainSeparator);
    std::string_view segment = rest.substr(0, end);
    if (!first && segment == head) return markOf(newer);
    first = false;
    newer = segment;
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end + 1);
  }
}

void expireAtSoftMark(Entry& entry, base::WallTime mark, base::WallTime now) {
  const base::WallTime expired = std::max(std::min(mark, now), entry.stored_at);
  const auto fresh_for = std::chrono::duration_cast<std::chrono::milliseconds>(expired - entry.stored_at);
  entry.ttl = std::min(entry.ttl, fresh_for);
}

}  // namespace larder::cache
