// StoreDecisions: what the last upstream answer for each entry key was
// stored or refused for, so `larder explain` can tell why a URL keeps
// missing. Fed where the proxy decides to store (proxy/capture.cc), read by
// the admin thread (admin/explain.h).
//
// Process-wide, like the metrics registry (base/metrics.h): one instance,
// reached through storeDecisions(), so the proxy's hook is one line.
// Thread-safe (a mutex: one short critical section per stored or refused
// answer, not per hit). Bounded (DESIGN invariant 8): an LRU of
// kCapacity keys; a forgotten key only makes explain say "nothing recorded".
// Keys are entry keys, which are digests: nothing per-user is kept.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/time.h"

namespace larder::cache {

struct StoreDecisionRecord {
  bool stored = false;   // decideStore said store (the insert may still lose a race)
  std::string reason;    // cache/policy.h reasons ("stored", "private", "too_big", ...)
  int status = 0;        // the upstream's status
  base::WallTime at;     // when the answer was decided on
};

class StoreDecisions {
 public:
  static constexpr size_t kCapacity = 4096;

  explicit StoreDecisions(size_t capacity = kCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  void remember(const std::string& entry_key, bool stored, std::string_view reason, int status,
                base::WallTime at);
  std::optional<StoreDecisionRecord> find(const std::string& entry_key) const;
  size_t size() const;

 private:
  using Order = std::list<std::string>;  // most recent first
  struct Slot {
    StoreDecisionRecord record;
    Order::iterator position;
  };
  mutable std::mutex mutex_;
  size_t capacity_;
  Order order_;
  std::unordered_map<std::string, Slot> slots_;
};

// The process's instance.
StoreDecisions& storeDecisions();

// The proxy's hook: records `reason` (decideStore's, or the capture's own:
// "too_big", "invalidation_pending") for `entry_key` now.
void rememberStoreDecision(const std::string& entry_key, std::string_view reason, int status);

}  // namespace larder::cache
