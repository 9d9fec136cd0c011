// FillLockNotices<S>: the notice side of a fill lock (cache/fill_lock.h),
// shared by RedisFillLock (S = RedisSubscriber) and ClusterFillLock
// (S = ClusterSubscriber). It subscribes each notice channel once, through
// the lock's subscriber, remembers whether the last word on each was
// "subscribed", and feeds FillLockWatchers: a notice to the watchers of its
// lock key, every return of a channel to all of them (notices may have been
// missed meanwhile). What differs between the locks (the subscriber, and
// whether their command connection is ready) stays in the locks.
//
// Ownership: the lock owns it, declared after the subscriber `S` it is given
// (its subscriptions must go first). Callbacks come from S on the loop,
// never inside subscribe() (S's contract).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "cache/fill_lock.h"
#include "store/redis/fill_lock_watchers.h"

namespace larder::store {

template <typename S>
class FillLockNotices {
 public:
  explicit FillLockNotices(S& subscriber) : subscriber_(subscriber) {}
  FillLockNotices(const FillLockNotices&) = delete;
  FillLockNotices& operator=(const FillLockNotices&) = delete;

  // Listens on the name's channel and registers the watcher of its key.
  cache::Pending watch(const cache::LockName& name, cache::FillLock::WatchCallback on_event) {
    listen(name.channel);
    return watchers_.watch(name.key, std::move(on_event));
  }

  // Subscribes `channel` once; it stays subscribed while this lives.
  void listen(const std::string& channel) {
    if (channels_.contains(channel)) return;
    Listening& listening = channels_[channel];
    listening.subscription = subscriber_.subscribe(
        channel, [this](std::string_view message) { watchers_.onNotice(message); },
        [this, channel](bool subscribed) { onSubscription(channel, subscribed); });
  }

  // Every channel asked for is subscribed (as delivered, so this agrees
  // with what the watchers heard); true when none was asked for.
  bool allSubscribed() const {
    return std::all_of(channels_.begin(), channels_.end(),
                       [](const auto& entry) { return entry.second.subscribed; });
  }

  size_t watcherCount() const { return watchers_.size(); }

 private:
  void onSubscription(const std::string& channel, bool subscribed) {
    auto it = channels_.find(channel);
    if (it != channels_.end()) it->second.subscribed = subscribed;
    // Back after a loss (or at first): whatever was published meanwhile is
    // gone, so every watcher looks again.
    if (subscribed) watchers_.onSubscribed();
  }

  struct Listening {
    typename S::Subscription subscription;
    bool subscribed = false;
  };

  S& subscriber_;
  std::unordered_map<std::string, Listening> channels_;
  FillLockWatchers watchers_;
};

}  // namespace larder::store
