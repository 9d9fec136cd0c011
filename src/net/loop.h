// Loop: one libuv loop, run by one thread. The owner of a Loop owns every
// handle on it; the destructor closes stragglers and drains their callbacks.
//
// Deferring work: post() is the one way to run something on a later turn of
// this loop from its own thread (never inside the call that posts it: a
// completion must not re-enter its caller, cache/store.h). Posts run in
// posting order; what a posted function posts runs on the next turn, so a
// chain of posts cannot starve I/O. post(WeakRef, fn) drops `fn` if its
// owner is gone by then (net/weak_ref.h). net/defer.h builds Deferrer and
// destroyLater() on it. CrossThreadQueue lets other threads (other workers,
// the supervisor) post work onto the loop.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/uv_handle.h"
#include "net/weak_ref.h"

namespace larder::net {

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* raw() { return &loop_; }
  // Runs until no active handles remain or stop() is called.
  void run();
  void stop() { uv_stop(&loop_); }
  uint64_t nowMs() { return uv_now(&loop_); }
  // Loop thread only. Runs `fn` on a later turn, after what was posted
  // before it. Functions still queued when the Loop is destroyed are
  // destroyed (first thing in its destructor) without running.
  void post(std::function<void()> fn);
  // The same, but `fn` runs only if `owner` is still alive by then. A
  // template so the guard and `fn` share one closure (one allocation).
  template <typename Fn>
  void post(WeakRef owner, Fn&& fn) {
    post(std::function<void()>(guarded(std::move(owner), std::forward<Fn>(fn))));
  }
  // Functions posted and not run yet (tests).
  size_t postedForTest() const { return posted_.size(); }
  // A buffer every read on this loop lands in. libuv calls alloc and read
  // back to back, and readers copy what they keep (STYLE L5), so one per
  // loop is enough and idle connections cost no buffer memory.
  char* readBuffer() { return read_buffer_.data(); }
  size_t readBufferSize() const { return read_buffer_.size(); }

 private:
  static void onIdle(uv_idle_t* handle);

  uv_loop_t loop_;
  std::string read_buffer_;
  // Active only while posted_ is non-empty: it keeps the loop from blocking
  // in poll (and alive), and costs nothing when stopped.
  UvHandle<uv_idle_t> idle_;
  std::vector<std::function<void()>> posted_;
  // An empty vector with capacity, which posted_ becomes while a batch runs.
  std::vector<std::function<void()>> spare_;
};

// Work posted from other threads, run on the loop's thread in posting order.
//
// Threading: post() is safe from any thread; close(), unref() and the
// destructor belong to the loop's thread. Other threads that may post after
// the queue is gone (another worker waking this worker's fill waiters, the
// supervisor's shutdown, reload and heartbeats) hold a Sender, not a
// reference: it keeps the shared inbox alive, and once the queue is closed
// every post through it is dropped (post() returns false) instead of
// touching a freed libuv handle. One mutex guards the inbox and the
// wake-up, so a post either lands before close() or is dropped.
class CrossThreadQueue {
  struct Inbox;

 public:
  class Sender {
   public:
    Sender() = default;
    // False (and `fn` destroyed on this thread) when the queue is closed,
    // or when this Sender was default-constructed.
    bool post(std::function<void()> fn) const;
    // Runs `fn` only if `owner` is still alive by then (checked on the
    // loop's thread, where the owner lives).
    bool post(WeakRef owner, std::function<void()> fn) const;

   private:
    friend class CrossThreadQueue;
    explicit Sender(std::shared_ptr<Inbox> inbox) : inbox_(std::move(inbox)) {}
    std::shared_ptr<Inbox> inbox_;
  };

  explicit CrossThreadQueue(Loop& loop);
  // Closes.
  ~CrossThreadQueue();
  CrossThreadQueue(const CrossThreadQueue&) = delete;
  CrossThreadQueue& operator=(const CrossThreadQueue&) = delete;

  Sender sender() const { return Sender(inbox_); }
  bool post(std::function<void()> fn) { return sender().post(std::move(fn)); }
  bool post(WeakRef owner, std::function<void()> fn) {
    return sender().post(std::move(owner), std::move(fn));
  }
  // Loop thread. Closes the wake-up handle; functions queued but not run
  // yet are destroyed here, and later posts are dropped. Idempotent.
  void close();
  // Stops keeping the loop alive (the loop may exit while this exists).
  void unref() { uv_unref(async_.base()); }

 private:
  static void onAsync(uv_async_t* handle);
  UvHandle<uv_async_t> async_;
  std::shared_ptr<Inbox> inbox_;
};

}  // namespace larder::net
