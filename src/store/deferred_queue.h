// DeferredQueue: runs posted functions on a later turn of the loop, never
// inside post(). The Store contract (cache/store.h) forbids completing inside
// the call that started an operation, and a completion run from inside a
// hiredis callback could destroy the store under hiredis's feet; so every
// store completion is delivered from here.
//
// Single-threaded: post() and the functions run on the loop's thread.
// Destroying the queue drops what has not run (the store is going away with
// its worker; nobody is left to call back).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <vector>

#include "net/loop.h"
#include "net/uv_handle.h"

namespace larder::store {

class DeferredQueue {
 public:
  explicit DeferredQueue(net::Loop& loop);
  ~DeferredQueue();
  DeferredQueue(const DeferredQueue&) = delete;
  DeferredQueue& operator=(const DeferredQueue&) = delete;

  void post(std::function<void()> fn);

 private:
  static void onIdle(uv_idle_t* handle);

  // An idle handle, active only while the queue is non-empty: it keeps the
  // loop from blocking in poll, and costs nothing when stopped.
  net::UvHandle<uv_idle_t> idle_;
  std::vector<std::function<void()>> queue_;
  // Cleared by the destructor so a drain that destroyed the queue (a
  // callback tearing down its store) stops touching it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace larder::store
