// MemoryBackend: the in-process key/value store behind MemoryStore, shared by
// every worker of the process (the laptop store, and the fallback when no
// Redis is configured).
//
// Model: one LRU list of items, most recently used first, indexed by key.
// Every item has an expiry (DESIGN invariant 2); expired items are dropped
// when touched and otherwise age out through the LRU. Memory is bounded in
// bytes: key + value + kItemOverhead per item, evicting from the cold end.
// Evicting a version key invalidates the entries recorded under it, never
// resurrects them (DESIGN invariant 4), exactly as in Redis.
//
// Thread-safe: one mutex; each operation is atomic under it, which is what
// makes insert's check-then-write a compare-and-set (DESIGN invariant 3).
// The clock is injected so tests can move time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/time.h"
#include "cache/store.h"

namespace larder::store {

struct MemoryStats {
  size_t bytes = 0;  // accounted bytes in use (<= max_bytes)
  size_t items = 0;  // items held, expired ones not yet dropped included
  size_t max_bytes = 0;
  uint64_t evictions = 0;  // items dropped to make room
};

class MemoryBackend {
 public:
  using Clock = std::function<base::MonoTime()>;
  // Bookkeeping per item (list node, index node, string headers), counted so
  // a flood of tiny items cannot exceed the bound.
  static constexpr size_t kItemOverhead = 128;

  explicit MemoryBackend(size_t max_bytes, Clock clock = &base::MonoClock::now);
  MemoryBackend(const MemoryBackend&) = delete;
  MemoryBackend& operator=(const MemoryBackend&) = delete;

  // The Store operations (cache/store.h), synchronous and atomic.
  cache::LookupResult lookup(const std::vector<std::string>& version_keys,
                             const std::string& entry_key);
  // kUnavailable when the request is invalid or the entry alone exceeds the
  // whole bound (nothing is written then).
  cache::InsertOutcome insert(const cache::InsertRequest& request);
  cache::StoreStatus invalidate(const cache::Invalidation& invalidation);
  void remove(const std::vector<std::string>& keys);

  MemoryStats stats() const;

 private:
  struct Item {
    std::string key;
    std::string value;
    base::MonoTime expiry;
  };
  using List = std::list<Item>;

  // Returns the live item for `key` (marking it recently used), or nullptr;
  // drops it if it has expired.
  Item* findLocked(std::string_view key, base::MonoTime now);
  // Advances the epoch key of `invalidation` (cache/store.h); its new value.
  std::string advanceEpochLocked(const cache::Invalidation& invalidation, base::MonoTime now);
  // Replaces or adds an item, then evicts down to the bound. The caller has
  // checked that the item fits.
  void setLocked(const std::string& key, const std::string& value, base::MonoTime expiry);
  void eraseLocked(List::iterator it);
  bool fits(std::string_view key, std::string_view value) const;
  static size_t costOf(std::string_view key, std::string_view value) {
    return key.size() + value.size() + kItemOverhead;
  }

  mutable std::mutex mutex_;
  const size_t max_bytes_;
  const Clock clock_;
  List lru_;  // front: most recently used
  // Keys view the Item's own string: list nodes never move.
  std::unordered_map<std::string_view, List::iterator> index_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace larder::store
