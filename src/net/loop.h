// Loop: one libuv loop, run by one thread. The owner of a Loop owns every
// handle on it; the destructor closes stragglers and drains their callbacks.
// CrossThreadQueue lets other threads (signals, reload) post work onto it.
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

// Thread-safe: post() from any thread; the functions run on the loop's
// thread in posting order. Destroy on the loop's thread; a post() already
// under way when the destructor starts completes first, but the owner must
// make sure no post() starts after that.
class CrossThreadQueue {
 public:
  explicit CrossThreadQueue(Loop& loop);
  ~CrossThreadQueue();
  CrossThreadQueue(const CrossThreadQueue&) = delete;
  CrossThreadQueue& operator=(const CrossThreadQueue&) = delete;
  void post(std::function<void()> fn);
  // Runs `fn` only if the owner of `owner` is still alive by then.
  void post(std::weak_ptr<void> owner, std::function<void()> fn);
  // Stops keeping the loop alive (the loop may exit while this exists).
  void unref() { uv_unref(async_.base()); }

 private:
  static void onAsync(uv_async_t* handle);
  UvHandle<uv_async_t> async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
};

}  // namespace larder::net
