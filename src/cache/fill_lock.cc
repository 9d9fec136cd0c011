#include "cache/fill_lock.h"

#include <algorithm>

#include "cache/digest.h"
#include "cache/key.h"

namespace larder::cache {
namespace {

constexpr std::string_view kStoredWord = "stored";
constexpr std::string_view kAbandonedWord = "abandoned";
// Redis expires a key once its time has strictly passed: a waiter that woke
// exactly at the remaining TTL could still find the lock.
constexpr std::chrono::milliseconds kExpiryMargin{5};

}  // namespace

LockName lockName(std::string_view key_prefix, std::string_view fill_key) {
  LockName name;
  name.key = std::string(key_prefix) + ":lock:" + digestHex(fill_key);
  name.channel = fillNoticeChannel(key_prefix);
  return name;
}

std::string fillNoticeChannel(std::string_view key_prefix) {
  return std::string(key_prefix) + ":fills";
}

// Same shape and randomness as a version token; a separate name says what it is.
std::string newLockToken() { return newVersionToken(); }

std::string encodeFillNotice(std::string_view lock_key, FillEnd end) {
  std::string out(end == FillEnd::kStored ? kStoredWord : kAbandonedWord);
  out += ' ';
  out += lock_key;
  return out;
}

std::optional<FillNotice> decodeFillNotice(std::string_view message) {
  const size_t space = message.find(' ');
  if (space == std::string_view::npos || space + 1 == message.size()) return std::nullopt;
  const std::string_view word = message.substr(0, space);
  FillNotice notice;
  if (word == kStoredWord) {
    notice.end = FillEnd::kStored;
  } else if (word == kAbandonedWord) {
    notice.end = FillEnd::kAbandoned;
  } else {
    return std::nullopt;
  }
  notice.lock_key = std::string(message.substr(space + 1));
  return notice;
}

std::chrono::milliseconds recheckDelay(std::chrono::milliseconds remaining,
                                       std::chrono::milliseconds budget) {
  const auto until_expiry = std::max(remaining, std::chrono::milliseconds(0)) + kExpiryMargin;
  return std::clamp(until_expiry, std::chrono::milliseconds(0),
                    std::max(budget, std::chrono::milliseconds(0)));
}

}  // namespace larder::cache
