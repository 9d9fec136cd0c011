// EntryReadWaits: a worker's whole reads of entry keys in flight, and the
// lookups of the same keys waiting for them (issue 13).
//
// Why: an entry this worker keeps no copy of (store/redis/local_copies.h)
// is read whole by every lookup of it. A burst of lookups of a large one
// (its memory-tier copy expiring, or a new entry after a write) put as many
// copies of its bytes in one pipeline: 64 × 1 MiB, which Redis builds
// before it sends much of it, so every connection of the worker went
// silent past the timeout and the breaker opened. Instead the first lookup
// reads; the others wait for its reply, then send their own lookups, which
// ask Redis only for the tag once the bytes are kept.
//
// A waiter never takes the read's entry (DESIGN invariant 3: a lookup
// serves what it read itself); it is only started after it, or fails with
// it. Keys whose
// last read brought bytes no copy is kept of are not waited for
// (LocalCopies::mayKeep), so hot small keys pipeline as before.
//
// Threading: loop-local (one per store, on its worker's loop).
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace larder::store {

class EntryReadWaits {
 public:
  // `read_ok`: the read waited for got an answer. Then it sends the waiting
  // lookup, which never waits again (a miss would otherwise chain every
  // waiter's read behind the one before). Else the lookup fails at once,
  // and its caller bypasses Redis: the waiters' own reads would pile up on
  // the Redis that just failed to answer one (slow, or gone).
  using Retry = std::function<void(bool read_ok)>;

  bool isReading(uint64_t key_hash) const { return waiting_.contains(key_hash); }
  void startReading(uint64_t key_hash) { waiting_.try_emplace(key_hash); }
  // Precondition: isReading(key_hash).
  void wait(uint64_t key_hash, Retry retry) { waiting_[key_hash].push_back(std::move(retry)); }
  bool hasWaiters(uint64_t key_hash) const {
    const auto found = waiting_.find(key_hash);
    return found != waiting_.end() && !found->second.empty();
  }
  // The read completed, whatever its outcome: its waiters, to run once the
  // copy is decided.
  std::vector<Retry> finish(uint64_t key_hash) {
    const auto found = waiting_.find(key_hash);
    if (found == waiting_.end()) return {};
    std::vector<Retry> waiters = std::move(found->second);
    waiting_.erase(found);
    return waiters;
  }

 private:
  std::unordered_map<uint64_t, std::vector<Retry>> waiting_;
};

}  // namespace larder::store
