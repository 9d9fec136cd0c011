#include "store/memory/memory_backend.h"

#include <algorithm>
#include <charconv>

#include "base/log.h"
#include "cache/soft_purge.h"
#include "store/request_checks.h"

namespace larder::store {

MemoryBackend::MemoryBackend(size_t max_bytes, Clock clock)
    : max_bytes_(max_bytes), clock_(std::move(clock)) {}

cache::LookupResult MemoryBackend::lookup(const std::vector<std::string>& version_keys,
                                          const std::string& entry_key) {
  cache::LookupResult result;
  result.versions.reserve(version_keys.size());
  std::lock_guard lock(mutex_);
  const base::MonoTime now = clock_();
  for (const auto& key : version_keys) {
    const Item* item = findLocked(key, now);
    result.versions.push_back(item ? std::optional<std::string>(item->value) : std::nullopt);
  }
  if (entry_key.empty()) return result;
  if (const Item* item = findLocked(entry_key, now)) result.entry = item->value;
  return result;
}

cache::InsertOutcome MemoryBackend::insert(const cache::InsertRequest& request) {
  if (!isValidInsert(request)) return cache::InsertOutcome::kUnavailable;
  if (!fits(request.key, request.value)) {
    LOG_DEBUG("memory store: entry '{}' ({} bytes) exceeds the store's {} bytes", request.key,
              request.value.size(), max_bytes_);
    return cache::InsertOutcome::kUnavailable;
  }
  std::lock_guard lock(mutex_);
  const base::MonoTime now = clock_();
  // Check every expectation before writing anything: a refused insert
  // leaves the store untouched (DESIGN invariant 3).
  for (const auto& expected : request.versions) {
    const Item* item = findLocked(expected.key, now);
    const bool holds = expected.create ? item == nullptr : item && item->value == expected.token;
    if (!holds) return cache::InsertOutcome::kVersionChanged;
  }
  const base::MonoTime version_expiry = now + request.version_ttl;
  for (const auto& expected : request.versions) {
    Item* item = findLocked(expected.key, now);
    if (item == nullptr) {
      setLocked(expected.key, expected.token, version_expiry);
    } else {
      // A version key outlives every entry recorded under it; only raise
      // its TTL, never shorten one another route set longer.
      item->expiry = std::max(item->expiry, version_expiry);
    }
  }
  setLocked(request.key, request.value, now + request.ttl);
  return cache::InsertOutcome::kStored;
}

cache::StoreStatus MemoryBackend::invalidate(const cache::Invalidation& invalidation) {
  if (!isValidInvalidation(invalidation)) return cache::StoreStatus::kUnavailable;
  if (invalidation.version_keys.empty()) return cache::StoreStatus::kOk;
  std::lock_guard lock(mutex_);
  const base::MonoTime now = clock_();
  const std::string epoch = advanceEpochLocked(invalidation, now);
  const base::MonoTime expiry = now + invalidation.version_ttl;
  for (size_t i = 0; i < invalidation.version_keys.size(); ++i) {
    std::string token = epoch + cache::kEpochSeparator + invalidation.tokens[i];
    if (invalidation.soft) {
      // Read and written under the one lock: atomic, as the Redis script.
      const Item* previous = findLocked(invalidation.version_keys[i], now);
      token = cache::softVersionValue(token, previous ? std::optional<std::string>(previous->value)
                                                      : std::nullopt);
    }
    if (!fits(invalidation.version_keys[i], token)) {
      // Dropping the key invalidates just as well (DESIGN invariant 4).
      if (auto it = index_.find(invalidation.version_keys[i]); it != index_.end())
        eraseLocked(it->second);
      continue;
    }
    setLocked(invalidation.version_keys[i], token, expiry);
  }
  return cache::StoreStatus::kOk;
}

// The monotonic clock never goes back, so an evicted epoch key restarts
// above every epoch handed out before (cache/store.h).
std::string MemoryBackend::advanceEpochLocked(const cache::Invalidation& invalidation,
                                              base::MonoTime now) {
  uint64_t epoch = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
  if (const Item* item = findLocked(invalidation.epoch_key, now)) {
    uint64_t previous = 0;
    const char* end = item->value.data() + item->value.size();
    auto [ptr, error] = std::from_chars(item->value.data(), end, previous);
    if (ptr == end && error == std::errc() && previous >= epoch && previous < UINT64_MAX) epoch = previous + 1;
  }
  std::string text = std::to_string(epoch);
  if (fits(invalidation.epoch_key, text)) {
    auto ttl = std::max(invalidation.version_ttl, std::chrono::milliseconds(cache::kEpochTtl));
    setLocked(invalidation.epoch_key, text, now + ttl);
  }
  return text;
}

void MemoryBackend::remove(const std::vector<std::string>& keys) {
  std::lock_guard lock(mutex_);
  for (const auto& key : keys) {
    if (auto it = index_.find(key); it != index_.end()) eraseLocked(it->second);
  }
}

MemoryStats MemoryBackend::stats() const {
  std::lock_guard lock(mutex_);
  return MemoryStats{bytes_, lru_.size(), max_bytes_, evictions_};
}

MemoryBackend::Item* MemoryBackend::findLocked(std::string_view key, base::MonoTime now) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  List::iterator item = it->second;
  if (item->expiry <= now) {
    eraseLocked(item);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, item);
  return &*item;
}

void MemoryBackend::setLocked(const std::string& key, const std::string& value,
                              base::MonoTime expiry) {
  if (auto it = index_.find(key); it != index_.end()) {
    List::iterator item = it->second;
    bytes_ = bytes_ - item->value.size() + value.size();
    item->value = value;
    item->expiry = expiry;
    lru_.splice(lru_.begin(), lru_, item);
  } else {
    lru_.push_front(Item{key, value, expiry});
    index_.emplace(lru_.front().key, lru_.begin());
    bytes_ += costOf(key, value);
  }
  // The new item is at the front and fits on its own, so it survives this.
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    eraseLocked(std::prev(lru_.end()));
    ++evictions_;
  }
}

void MemoryBackend::eraseLocked(List::iterator it) {
  bytes_ -= costOf(it->key, it->value);
  index_.erase(std::string_view(it->key));
  lru_.erase(it);
}

bool MemoryBackend::fits(std::string_view key, std::string_view value) const {
  return costOf(key, value) <= max_bytes_;
}

}  // namespace larder::store
