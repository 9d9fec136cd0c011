// LocalCopies: a worker's copies of the large entries it read from Redis,
// so that a hit on one asks Redis only whether the copy is still what Redis
// holds, not for its bytes (issue 13: otherwise a 64 KiB entry crosses
// Redis's output buffer, the loopback socket twice and hiredis's reader on
// every hit, and Redis spends a third of the hit's CPU sending it).
//
// Coherence stays Redis's. A copy is used only when the entry key still
// ends in the copy's tag (the tail that names a tagged encoding,
// cache/entry_codec.h; one GETRANGE), read before the generation and the
// versions (one MGET, on the same connection), so that a write after the
// tag was read is in the versions. Anything else (replaced, removed,
// expired, evicted, purged) is looked up as without a copy, and the copy
// is replaced or dropped by what that reads. A lookup returns exactly what it would have
// without copies; only where its bytes come from changes.
//
// Admission: tagged bytes of at least `min_size`, on the second lookup that
// returns the key's bytes, or on the first when other lookups of the key
// were waiting for it (store/redis/entry_read_waits.h: they showed the
// demand a second sighting would). A key read once is not worth a copy, and a
// working set larger than the bound must not turn every lookup into a copy
// in and an eviction. Bounded by `max_bytes`, least recently used out.
//
// Keys are known by a 64-bit hash of the entry key: two keys that collide
// share a slot, which costs a copy, never a wrong answer, because the tag
// Redis compares is the bytes' own, whatever key they were kept under.
//
// Threading: loop-local (one per RedisStore, on its worker's loop).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace larder::store {

class LocalCopies {
 public:
  // Keys remembered as seen once (or as unfit) before that memory starts over.
  static constexpr size_t kMaxSeenOnce = 16384;

  // Shared: a lookup keeps the copy it asked about until its reply, whatever
  // happens to the slot meanwhile.
  using Bytes = std::shared_ptr<const std::string>;

  // max_bytes 0: off (find() never answers, offer() keeps nothing).
  LocalCopies(uint64_t max_bytes, uint64_t min_size) : max_bytes_(max_bytes), min_size_(min_size) {}
  ~LocalCopies();
  LocalCopies(const LocalCopies&) = delete;
  LocalCopies& operator=(const LocalCopies&) = delete;

  static uint64_t hashOf(std::string_view entry_key);

  bool isEnabled() const { return max_bytes_ > 0; }
  // The bytes kept for the key, or null; marks them recently used.
  Bytes find(uint64_t key_hash);
  // A lookup read `bytes` under the key: keeps or replaces the copy when
  // they are admitted (see the top); drops a copy they do not replace.
  // `wanted`: other lookups of the key are waiting for this one.
  void offer(uint64_t key_hash, std::string_view bytes, bool wanted = false);
  // Whether a read of the key may bring bytes worth a copy: false once the
  // last read of it brought bytes that are not (too small, untagged, too
  // large), so that lookups of a hot small key never wait for each other.
  bool mayKeep(uint64_t key_hash) const { return isEnabled() && !unfit_.contains(key_hash); }
  // The key holds nothing (or not what was kept).
  void drop(uint64_t key_hash);

  uint64_t bytes() const { return bytes_; }
  size_t size() const { return by_key_.size(); }

 private:
  struct Item {
    uint64_t key_hash;
    Bytes bytes;
  };
  using Lru = std::list<Item>;  // most recently used first

  void evictPast(uint64_t max_bytes);
  // Remembers a key in a set that starts over at kMaxSeenOnce keys.
  static void remember(std::unordered_set<uint64_t>& keys, uint64_t key_hash);
  void erase(Lru::iterator it);

  const uint64_t max_bytes_;
  const uint64_t min_size_;
  uint64_t bytes_ = 0;
  Lru lru_;
  std::unordered_map<uint64_t, Lru::iterator> by_key_;
  std::unordered_set<uint64_t> seen_once_;
  std::unordered_set<uint64_t> unfit_;  // last read: bytes no copy is kept of
};

}  // namespace larder::store
