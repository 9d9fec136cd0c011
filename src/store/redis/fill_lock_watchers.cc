#include "store/redis/fill_lock_watchers.h"

#include <vector>

namespace larder::store {
namespace {

// Detached watchers are dropped lazily; a sweep after this many watches
// (plus half the live ones, so sweeps stay amortised O(1) per watch).
constexpr size_t kSweepEvery = 64;

}  // namespace

cache::Pending FillLockWatchers::watch(const std::string& lock_key, cache::FillLock::WatchCallback on_event) {
  auto [pending, state] = cache::Pending::make();
  watchers_.emplace(lock_key, Watcher{state, std::move(on_event)});
  state->onCancel(net::guarded(liveness_.ref(), [this, key = lock_key, raw = state.get()] {
    auto [first, last] = watchers_.equal_range(key);
    for (auto it = first; it != last; ++it) {
      if (it->second.state.get() == raw) {
        watchers_.erase(it);
        return;
      }
    }
  }));
  if (++watches_since_sweep_ >= kSweepEvery + watchers_.size() / 2) sweep();
  return std::move(pending);
}

void FillLockWatchers::onNotice(std::string_view message) {
  auto notice = cache::decodeFillNotice(message);
  if (!notice) return;  // the channel may carry other messages one day
  notify(notice->lock_key, notice->end == cache::FillEnd::kStored ? cache::WatchEvent::kStored
                                                                  : cache::WatchEvent::kAbandoned);
}

void FillLockWatchers::onSubscribed() { notify("", cache::WatchEvent::kMissed); }

void FillLockWatchers::notify(const std::string& key, cache::WatchEvent event) {
  // Collected first: a callback may add or cancel watchers.
  std::vector<Watcher> calls;
  auto collect = [&](auto first, auto last) {
    for (auto it = first; it != last;) {
      if (it->second.state->cancelled) {
        it = watchers_.erase(it);
      } else {
        calls.push_back(it->second);
        ++it;
      }
    }
  };
  if (key.empty()) {
    collect(watchers_.begin(), watchers_.end());
  } else {
    auto [first, last] = watchers_.equal_range(key);
    collect(first, last);
  }
  for (auto& watcher : calls)
    if (!watcher.state->cancelled) watcher.on_event(event);
}

void FillLockWatchers::sweep() {
  watches_since_sweep_ = 0;
  std::erase_if(watchers_, [](const auto& entry) { return entry.second.state->cancelled; });
}

}  // namespace larder::store
