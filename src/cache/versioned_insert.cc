#include "cache/versioned_insert.h"

#include <algorithm>

#include "cache/key.h"

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
  retry.value = encodeEntry(*entry);
  return retry;
}

bool createsVersions(const InsertRequest& insert) {
  return std::any_of(insert.versions.begin(), insert.versions.end(),
                     [](const VersionExpectation& expected) { return expected.create; });
}

}  // namespace larder::cache
