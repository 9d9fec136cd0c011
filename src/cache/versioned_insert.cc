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

}  // namespace larder::cache
