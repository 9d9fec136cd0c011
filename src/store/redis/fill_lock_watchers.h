// FillLockWatchers: the waiting side of a fill lock (cache/fill_lock.h),
// shared by the single-server RedisFillLock and the ClusterFillLock. It
// keeps the watchers of each lock key and turns what the notice channel
// says (a notice, or the subscription coming back) into WatchEvents.
//
// Ownership: the lock's FillLockNotices (fill_lock_notices.h) owns it; a
// watcher is a cache::Pending's state plus its callback. A cancelled watcher
// leaves at once (the Pending's abort hook); a detached one at its key's
// next notice or a sweep. Callbacks run inside onNotice()/onSubscribed(),
// which FillLockNotices calls from the subscriber's callbacks (on the loop,
// never inside hiredis); a callback may watch or cancel watchers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/fill_lock.h"
#include "net/weak_ref.h"

namespace larder::store {

class FillLockWatchers {
 public:
  cache::Pending watch(const std::string& lock_key, cache::FillLock::WatchCallback on_event);
  // A message on a notice channel (anything but a notice is ignored).
  void onNotice(std::string_view message);
  // The channel is subscribed (again): notices may have been missed, so
  // every watcher looks again.
  void onSubscribed();
  size_t size() const { return watchers_.size(); }

 private:
  struct Watcher {
    std::shared_ptr<cache::PendingState> state;
    cache::FillLock::WatchCallback on_event;
  };
  // Calls the live watchers of `key` (every key when empty) with `event`.
  void notify(const std::string& key, cache::WatchEvent event);
  void sweep();

  std::unordered_multimap<std::string, Watcher> watchers_;
  size_t watches_since_sweep_ = 0;
  net::LivenessToken liveness_;  // last member: dies first
};

}  // namespace larder::store
