#include "cache/surrogate_keys.h"

#include <algorithm>

#include "cache/key.h"

namespace larder::cache {
namespace {

bool isVisibleAscii(char c) { return c > 0x20 && c < 0x7f; }

}  // namespace

SurrogateNames parseSurrogateKeys(const http::HeaderMap& headers, std::string_view header_name) {
  SurrogateNames out;
  for (std::string_view field : headers.findAll(header_name)) {
    while (!field.empty()) {
      size_t start = 0;
      while (start < field.size() && http::isOws(field[start])) ++start;
      size_t end = start;
      while (end < field.size() && !http::isOws(field[end])) ++end;
      std::string_view name = field.substr(start, end - start);
      field.remove_prefix(end);
      if (name.empty()) continue;
      bool valid = name.size() <= kMaxSurrogateKeyLength && std::all_of(name.begin(), name.end(), isVisibleAscii);
      if (!valid || out.names.size() >= kMaxSurrogateKeys) {
        ++out.ignored;
        continue;
      }
      if (std::find(out.names.begin(), out.names.end(), name) == out.names.end()) out.names.emplace_back(name);
    }
  }
  return out;
}

std::string surrogateVersionKey(std::string_view key_prefix, std::string_view name) {
  std::string ns(kSurrogateNamespacePrefix);
  ns += name;
  return namespaceKey(key_prefix, ns);
}

std::optional<AnswerKeys> takeSurrogateKeys(http::HeaderMap& headers, std::string_view key_prefix,
                                            const config::SurrogateKeyConfig& config) {
  if (!config.enabled || !headers.has(config.header)) return std::nullopt;
  SurrogateNames parsed = parseSurrogateKeys(headers, config.header);
  stripSurrogateKeys(headers, config);
  AnswerKeys keys;
  keys.ignored = parsed.ignored;
  for (const auto& name : parsed.names) keys.version_keys.push_back(surrogateVersionKey(key_prefix, name));
  return keys;
}

void stripSurrogateKeys(http::HeaderMap& headers, const config::SurrogateKeyConfig& config) {
  if (config.enabled && config.strip) headers.remove(config.header);
}

bool fillServesLookup(const std::vector<std::string>& answer_keys, std::optional<uint64_t> leader_epoch,
                      const std::vector<std::string>& read_keys, std::optional<uint64_t> waiter_epoch) {
  bool all_read = std::all_of(answer_keys.begin(), answer_keys.end(), [&](const std::string& key) {
    return std::find(read_keys.begin(), read_keys.end(), key) != read_keys.end();
  });
  return all_read || waiter_epoch.value_or(0) <= leader_epoch.value_or(0);
}

}  // namespace larder::cache
