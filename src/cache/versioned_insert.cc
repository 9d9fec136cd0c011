#include "cache/versioned_insert.h"

#include <algorithm>
#include <charconv>

#include "cache/key.h"
#include "cache/soft_purge.h"

namespace larder::cache {

InsertRequest buildVersionedInsert(std::string entry_key, Entry& entry,
                                   const std::vector<std::string>& version_keys,
                                   const std::vector<std::optional<std::string>>& seen_versions,
                                   std::chrono::milliseconds retention) {
  InsertRequest insert;
  insert.key = std::move(entry_key);
  insert.ttl = std::max(entry.ttl + retention, std::chrono::milliseconds(1));
  insert.version_ttl = std::max<std::chrono::milliseconds>(kVersionTtl, insert.ttl * 2);
  entry.versions.clear();
  for (size_t i = 0; i < version_keys.size(); ++i) {
    bool absent = i >= seen_versions.size() || !seen_versions[i].has_value();
    std::string token;
    if (absent) {
      token.append(kCreatedTokenPrefix);
      token.append(newVersionToken());
    } else {
      token = *seen_versions[i];
    }
    entry.versions.emplace_back(version_keys[i], token);
    insert.versions.push_back({version_keys[i], std::move(token), absent});
  }
  entry.tag = newEntryTag();  // these bytes are new: a store's kept copy of others is not them
  insert.value = encodeEntry(entry);
  return insert;
}

std::optional<InsertRequest> adoptCreatedVersions(const InsertRequest& refused,
                                                  const std::vector<std::optional<std::string>>& current) {
  if (current.size() != refused.versions.size()) return std::nullopt;
  InsertRequest retry{refused.key, {}, refused.ttl, refused.versions, refused.version_ttl};
  bool adopted = false;
  for (size_t i = 0; i < current.size(); ++i) {
    VersionExpectation& expected = retry.versions[i];
    if (!current[i]) {
      if (!expected.create) return std::nullopt;  // evicted since: not ours to recreate
      continue;
    }
    if (*current[i] == expected.token) continue;
    if (!expected.create || !current[i]->starts_with(kCreatedTokenPrefix)) return std::nullopt;
    expected.token = *current[i];
    expected.create = false;
    adopted = true;
  }
  if (!adopted) return std::nullopt;
  std::optional<Entry> entry = decodeEntry(refused.value);
  if (!entry || entry->versions.size() != retry.versions.size()) return std::nullopt;
  for (size_t i = 0; i < retry.versions.size(); ++i) entry->versions[i].second = retry.versions[i].token;
  entry->tag = newEntryTag();
  retry.value = encodeEntry(*entry);
  return retry;
}

bool createsVersions(const InsertRequest& insert) {
  return std::any_of(insert.versions.begin(), insert.versions.end(),
                     [](const VersionExpectation& expected) { return expected.create; });
}

namespace {

std::optional<uint64_t> parseDecimal(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || error != std::errc()) return std::nullopt;
  return value;
}

}  // namespace

bool recordedVersionsHold(const Entry& entry, const std::vector<std::string>& read_keys,
                          const std::vector<std::optional<std::string>>& read_seen, size_t base_count,
                          std::vector<std::string>& unread, std::optional<base::WallTime>* soft_mark) {
  if (entry.versions.size() < base_count || read_keys.size() < base_count) return false;
  for (size_t i = 0; i < entry.versions.size(); ++i) {
    const auto& [key, token] = entry.versions[i];
    size_t at = i;
    if (i < base_count) {
      if (key != read_keys[i]) return false;
    } else {
      at = static_cast<size_t>(std::find(read_keys.begin(), read_keys.end(), key) - read_keys.begin());
      if (at == read_keys.size()) {
        unread.push_back(key);
        continue;
      }
    }
    if (at >= read_seen.size() || !read_seen[at]) return false;
    if (*read_seen[at] == token) continue;
    std::optional<base::WallTime> mark;
    if (soft_mark != nullptr) mark = softlySupersededAt(token, *read_seen[at]);
    if (!mark) return false;
    if (!*soft_mark || *mark < **soft_mark) *soft_mark = mark;
  }
  return true;
}

std::optional<uint64_t> tokenEpoch(std::string_view token) {
  if (token.starts_with(kCreatedTokenPrefix)) return 0;
  size_t separator = token.find(kEpochSeparator);
  if (separator == std::string_view::npos) return std::nullopt;
  return parseDecimal(token.substr(0, separator));
}

std::optional<uint64_t> parseEpoch(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  return parseDecimal(*value);
}

std::vector<std::string> unreadKeys(const std::vector<std::string>& answer_keys,
                                    const std::vector<std::string>& read_keys) {
  std::vector<std::string> unread;
  for (const auto& key : answer_keys)
    if (std::find(read_keys.begin(), read_keys.end(), key) == read_keys.end()) unread.push_back(key);
  return unread;
}

std::optional<EntryVersions> entryVersions(const std::vector<std::string>& read_keys,
                                           const std::vector<std::optional<std::string>>& read_seen,
                                           size_t base_count,
                                           const std::vector<std::string>& answer_keys,
                                           const std::vector<std::optional<std::string>>& unread_now,
                                           std::optional<uint64_t> lookup_epoch) {
  auto seen_at = [&](size_t i) { return i < read_seen.size() ? read_seen[i] : std::nullopt; };
  EntryVersions out;
  base_count = std::min(base_count, read_keys.size());
  for (size_t i = 0; i < base_count; ++i) {
    out.keys.push_back(read_keys[i]);
    out.seen.push_back(seen_at(i));
  }
  size_t unread = 0;
  for (const auto& key : answer_keys) {
    auto read = std::find(read_keys.begin(), read_keys.end(), key);
    if (read != read_keys.end()) {
      size_t i = static_cast<size_t>(read - read_keys.begin());
      if (i < base_count) continue;  // a route namespace the answer names too
      out.keys.push_back(key);
      out.seen.push_back(seen_at(i));
      continue;
    }
    if (unread >= unread_now.size()) return std::nullopt;  // not read after all: unknown
    const std::optional<std::string>& now = unread_now[unread++];
    if (now) {
      std::optional<uint64_t> epoch = tokenEpoch(*now);
      bool before_lookup = epoch && (*epoch == 0 || (lookup_epoch && *epoch <= *lookup_epoch));
      if (!before_lookup) return std::nullopt;  // DESIGN invariant 3
    }
    out.keys.push_back(key);
    out.seen.push_back(now);
  }
  return out;
}

}  // namespace larder::cache
