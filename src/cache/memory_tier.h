// The in-process tier: hot entries of the routes that opt in (`memory_ttl`)
// kept in this process's memory, bounded in bytes, answered with no store
// round trip at all (DESIGN invariant 1: zero).
//
// Coherence. An entry is put here only after a store lookup validated it,
// stamped with the tick taken just before that lookup. Every invalidation
// this process hears of (its own writes at once, other instances' through
// the store's invalidation channel) stamps the version keys it names with a
// new tick, and an entry is served only while none of its version keys was
// stamped after it. A put whose lookup predates a stamp is refused, so an
// invalidation racing the lookup is never lost. Messages can be lost (the
// channel's subscription dropped): the owner then flush()es, which also
// refuses every put whose lookup came before it. What a lost message can
// leave behind is bounded by `memory_ttl`, and routes that do not opt in keep
// read-your-writes across instances (invariant 3).
//
// Threading: one tier per process (app::SharedState). get/put/tick from
// every worker thread (their exchanges); invalidate from any worker (its own
// writes), from worker 0 (the invalidation channel: also flush and
// setCoherent) and from the admin thread (purges); flush and setMaxBytes from
// the supervisor thread on reload. One mutex guards every field; entries are
// shared_ptr<const string>, immutable once put, so a caller may keep one
// after the lock is released.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/time.h"

namespace larder::cache {

class MemoryTier {
 public:
  // Stamps remembered before the tier starts over (a flush); bounds the
  // memory invalidations of many distinct namespaces can take.
  static constexpr size_t kMaxStamps = 100000;

  explicit MemoryTier(uint64_t max_bytes = 0) : max_bytes_(max_bytes) {}

  // 0 turns the tier off (and empties it).
  void setMaxBytes(uint64_t max_bytes);
  // Off while invalidations from other instances cannot be heard (no
  // subscription yet, or it dropped); the owner flushes when that changes.
  void setCoherent(bool coherent);
  bool isEnabled() const;

  // Take just before the store lookup whose result may be put().
  uint64_t tick();
  // Keeps `encoded` (a validated entry) until `expires`, unless one of
  // `version_keys` was invalidated since `lookup_tick`. False if refused.
  bool put(const std::string& entry_key, std::shared_ptr<const std::string> encoded,
           std::vector<std::string> version_keys, base::MonoTime expires, uint64_t lookup_tick);
  // The entry, if held, unexpired and not invalidated since it was looked up.
  std::shared_ptr<const std::string> get(const std::string& entry_key, base::MonoTime now);

  void invalidate(const std::vector<std::string>& version_keys);
  // Drops everything; puts of lookups from before this are refused.
  void flush();

  uint64_t bytes() const;
  size_t size() const;

 private:
  struct Item {
    std::string key;
    std::shared_ptr<const std::string> encoded;
    std::vector<std::string> version_keys;
    base::MonoTime expires;
    uint64_t lookup_tick;
    uint64_t bytes;
  };
  using Lru = std::list<Item>;  // most recently used first

  bool invalidatedSinceLocked(const std::vector<std::string>& version_keys, uint64_t tick) const;
  void eraseLocked(Lru::iterator it);
  void flushLocked();
  void evictToLocked(uint64_t max_bytes);

  mutable std::mutex mutex_;
  uint64_t max_bytes_;
  bool coherent_ = true;
  uint64_t clock_ = 0;
  uint64_t floor_tick_ = 0;  // puts of lookups before this are refused
  uint64_t bytes_ = 0;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  std::unordered_map<std::string, uint64_t> stamps_;  // version key -> tick of its last invalidation
};

}  // namespace larder::cache
