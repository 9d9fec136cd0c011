// InvalidationBacklog: invalidations that could not reach the store yet
// (DESIGN invariant 5). Shared by every worker of the process: until an
// invalidation lands, no worker serves the affected namespaces from cache,
// and one worker retries it. For each version key only the newest pending
// token matters: any fresh token invalidates.
//
// Threading: one per process (app::SharedState). add and isPending from
// every worker thread (their writes and lookups) and add from the admin
// thread (purges); snapshot and resolve from worker 0, which retries
// (app/backlog_retry.h); size and keys from any thread (metrics, exit). One
// mutex guards every field; snapshot() returns a copy.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/store.h"

namespace larder::cache {

class InvalidationBacklog {
 public:
  // Records that `invalidation` failed and must be retried.
  void add(const Invalidation& invalidation);
  // True while any of `version_keys` has an invalidation pending.
  bool isPending(const std::vector<std::string>& version_keys) const;
  bool empty() const;
  size_t size() const;
  // Everything pending, as one invalidation to retry (version_ttl and
  // epoch_key from the newest addition).
  Invalidation snapshot() const;
  // Up to `limit` pending version keys, sorted (for logs).
  std::vector<std::string> keys(size_t limit) const;
  // The retry of `retried` landed: drop the keys whose token is unchanged
  // (a newer failure for the same key stays pending).
  void resolve(const Invalidation& retried);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> pending_;  // version key → token
  std::chrono::milliseconds version_ttl_{0};
  std::string epoch_key_;
};

}  // namespace larder::cache
