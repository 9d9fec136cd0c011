// Timer: a one-shot or repeating uv timer owned by the object it serves.
// Destroying the Timer stops it; its callback never runs afterwards, so the
// callback may capture its owner's `this` (the owner outlives the Timer).
#pragma once

#include <functional>

#include "base/time.h"
#include "net/loop.h"

namespace larder::net {

class Timer {
 public:
  explicit Timer(Loop& loop);
  void start(base::Duration timeout, std::function<void()> on_fire);
  void startRepeating(base::Duration interval, std::function<void()> on_fire);
  void stop();
  bool isActive() const;
  // A timer that does not keep the loop alive (housekeeping).
  void unref() { uv_unref(handle_.base()); }

 private:
  static void onFire(uv_timer_t* handle);
  UvHandle<uv_timer_t> handle_;
  std::function<void()> on_fire_;
};

}  // namespace larder::net
