#include "store/redis/invalidation_channel.h"

#include <charconv>

namespace larder::store {
namespace {

// Reads canonical decimal digits (no sign, no leading zero) up to
// `terminator` and consumes both: one message has one spelling.
std::optional<size_t> readNumber(std::string_view& text, char terminator) {
  size_t end = text.find(terminator);
  if (end == 0 || end == std::string_view::npos || end > 10) return std::nullopt;
  if (text[0] == '0' && end > 1) return std::nullopt;
  size_t value = 0;
  auto [ptr, error] = std::from_chars(text.data(), text.data() + end, value);
  if (error != std::errc() || ptr != text.data() + end) return std::nullopt;
  text.remove_prefix(end + 1);
  return value;
}

}  // namespace

std::string invalidationChannel(std::string_view key_prefix) {
  std::string channel(key_prefix);
  channel += ":invalidations";
  return channel;
}

std::string encodeInvalidationMessage(const std::vector<std::string>& version_keys) {
  std::string message = std::to_string(version_keys.size());
  message += '\n';
  for (const auto& key : version_keys) {
    message += std::to_string(key.size());
    message += ':';
    message += key;
  }
  return message;
}

std::optional<std::vector<std::string>> decodeInvalidationMessage(std::string_view message) {
  auto count = readNumber(message, '\n');
  if (!count || *count > kMaxInvalidationKeys) return std::nullopt;
  std::vector<std::string> keys;
  keys.reserve(*count);
  for (size_t i = 0; i < *count; ++i) {
    auto length = readNumber(message, ':');
    if (!length || *length > message.size()) return std::nullopt;
    keys.emplace_back(message.substr(0, *length));
    message.remove_prefix(*length);
  }
  if (!message.empty()) return std::nullopt;
  return keys;
}

}  // namespace larder::store
