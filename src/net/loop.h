// Loop: one libuv loop, run by one thread. The owner of a Loop owns every
// handle on it; the destructor closes stragglers and drains their callbacks.
// CrossThreadQueue lets other threads (other workers, the supervisor) post
// work onto it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/uv_handle.h"

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
  // A buffer every read on this loop lands in. libuv calls alloc and read
  // back to back, and readers copy what they keep (STYLE L5), so one per
  // loop is enough and idle connections cost no buffer memory.
  char* readBuffer() { return read_buffer_.data(); }
  size_t readBufferSize() const { return read_buffer_.size(); }

 private:
  uv_loop_t loop_;
  std::string read_buffer_;
};

// Liveness: held by an object that posted work may outlive (STYLE L4).
// Posted functions keep a weak reference and are dropped once the owner is
// gone. Create, check and destroy it on the owner's loop thread.
class Liveness {
 public:
  std::weak_ptr<void> ref() const { return token_; }

 private:
  std::shared_ptr<int> token_ = std::make_shared<int>(0);
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
    // Runs `fn` only if the owner of `owner` is still alive by then.
    bool post(std::weak_ptr<void> owner, std::function<void()> fn) const;

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
  bool post(std::weak_ptr<void> owner, std::function<void()> fn) {
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
