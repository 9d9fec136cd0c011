#include "store/redis/local_copies.h"

#include <functional>

#include "base/metric_catalog.h"
#include "cache/entry_codec.h"

namespace larder::store {

namespace m = base::metrics;

LocalCopies::~LocalCopies() { m::redis_local_copy_bytes.dec(static_cast<int64_t>(bytes_)); }

uint64_t LocalCopies::hashOf(std::string_view entry_key) { return std::hash<std::string_view>{}(entry_key); }

LocalCopies::Bytes LocalCopies::find(uint64_t key_hash) {
  if (by_key_.empty()) return nullptr;
  const auto found = by_key_.find(key_hash);
  if (found == by_key_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->bytes;
}

void LocalCopies::offer(uint64_t key_hash, std::string_view bytes, bool wanted) {
  if (!isEnabled()) return;
  const std::string_view tag = cache::entryTagOf(bytes);
  if (bytes.size() < min_size_ || bytes.size() > max_bytes_ || tag.empty()) {
    drop(key_hash);
    remember(unfit_, key_hash);
    return;
  }
  if (!unfit_.empty()) unfit_.erase(key_hash);
  const auto found = by_key_.find(key_hash);
  if (found == by_key_.end()) {
    // Admitted on the second sighting, or the first one others waited for;
    // an unwanted first one is only remembered.
    const bool seen_before = seen_once_.erase(key_hash) != 0;
    if (!seen_before && !wanted) {
      remember(seen_once_, key_hash);
      return;
    }
  } else {
    if (cache::entryTagOf(*found->second->bytes) == tag) {
      lru_.splice(lru_.begin(), lru_, found->second);
      return;  // these very bytes
    }
    erase(found->second);
  }
  evictPast(max_bytes_ - bytes.size());
  lru_.push_front(Item{key_hash, std::make_shared<const std::string>(bytes)});
  by_key_.emplace(key_hash, lru_.begin());
  bytes_ += bytes.size();
  m::redis_local_copy_bytes.inc(static_cast<int64_t>(bytes.size()));
}

void LocalCopies::remember(std::unordered_set<uint64_t>& keys, uint64_t key_hash) {
  if (keys.size() >= kMaxSeenOnce) keys.clear();
  keys.insert(key_hash);
}

void LocalCopies::drop(uint64_t key_hash) {
  if (by_key_.empty()) return;
  const auto found = by_key_.find(key_hash);
  if (found != by_key_.end()) erase(found->second);
}

void LocalCopies::evictPast(uint64_t max_bytes) {
  while (bytes_ > max_bytes && !lru_.empty()) erase(std::prev(lru_.end()));
}

void LocalCopies::erase(Lru::iterator it) {
  const uint64_t size = it->bytes->size();
  by_key_.erase(it->key_hash);
  bytes_ -= size;
  m::redis_local_copy_bytes.dec(static_cast<int64_t>(size));
  lru_.erase(it);
}

}  // namespace larder::store
