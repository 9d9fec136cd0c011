#include "net/loop.h"

#include "base/assert.h"

namespace larder::net {

Loop::Loop() : read_buffer_(64 * 1024, '\0') {
  if (int rc = uv_loop_init(&loop_); rc != 0) LARDER_FATAL("uv_loop_init: {}", uv_strerror(rc));
  if (int rc = uv_idle_init(&loop_, idle_.get()); rc != 0)
    LARDER_FATAL("uv_idle_init: {}", uv_strerror(rc));
  idle_.markInitialized();
  idle_.get()->data = this;
}

Loop::~Loop() {
  // First, while the loop still works: what the unrun functions captured
  // (an object handed to destroyLater(), a store's callback) may close
  // handles as it dies, and may post again.
  while (!posted_.empty()) {
    std::vector<std::function<void()>> dropped;
    dropped.swap(posted_);
  }
  idle_.close();
  // Handles still open belong to owners already gone: close and drain them so
  // their memory is freed in their close callbacks.
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) {
          handle->data = nullptr;
          uv_close(handle, nullptr);
        }
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void Loop::run() { uv_run(&loop_, UV_RUN_DEFAULT); }

void Loop::post(std::function<void()> fn) {
  posted_.push_back(std::move(fn));
  if (uv_is_active(idle_.base()) == 0) uv_idle_start(idle_.get(), &Loop::onIdle);
}

void Loop::onIdle(uv_idle_t* handle) {
  auto* self = static_cast<Loop*>(handle->data);
  if (self == nullptr) return;
  // Swapped first: functions posted while this batch runs go to the next
  // turn. A Loop is never destroyed from inside its own callbacks, so `self`
  // stays valid throughout.
  // The two vectors trade places and keep their capacity: a batch costs
  // no allocation once the loop has run a few (one per turn before, when
  // posted_ started each turn empty; issue 13).
  std::vector<std::function<void()>> batch;
  batch.swap(self->spare_);
  batch.swap(self->posted_);
  for (auto& fn : batch) {
    fn();
    fn = nullptr;  // what it captured dies now, in order, not at the end
  }
  batch.clear();
  self->spare_.swap(batch);
  if (self->posted_.empty()) uv_idle_stop(handle);
}

struct CrossThreadQueue::Inbox {
  std::mutex mutex;
  uv_async_t* async = nullptr;  // null once the queue is closed
  std::vector<std::function<void()>> queue;
};

CrossThreadQueue::CrossThreadQueue(Loop& loop) : inbox_(std::make_shared<Inbox>()) {
  if (int rc = uv_async_init(loop.raw(), async_.get(), &CrossThreadQueue::onAsync); rc != 0)
    LARDER_FATAL("uv_async_init: {}", uv_strerror(rc));
  async_.markInitialized();
  async_.get()->data = this;
  inbox_->async = async_.get();
}

CrossThreadQueue::~CrossThreadQueue() { close(); }

void CrossThreadQueue::close() {
  std::vector<std::function<void()>> dropped;
  {
    // Under the mutex: a post() on another thread either queued its
    // function and sent the wake-up before this, or sees the queue closed.
    std::lock_guard lock(inbox_->mutex);
    if (inbox_->async == nullptr) return;
    inbox_->async = nullptr;
    dropped.swap(inbox_->queue);
    async_.close();
  }
  // What they captured dies here, on the loop's thread, outside the lock.
}

bool CrossThreadQueue::Sender::post(std::function<void()> fn) const {
  if (!inbox_) return false;
  std::unique_lock lock(inbox_->mutex);
  if (inbox_->async == nullptr) {
    lock.unlock();
    return false;  // `fn` is destroyed on return, outside the lock
  }
  inbox_->queue.push_back(std::move(fn));
  uv_async_send(inbox_->async);
  return true;
}

bool CrossThreadQueue::Sender::post(WeakRef owner, std::function<void()> fn) const {
  return post(guarded(std::move(owner), std::move(fn)));
}

void CrossThreadQueue::onAsync(uv_async_t* handle) {
  auto* self = static_cast<CrossThreadQueue*>(handle->data);
  if (self == nullptr) return;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(self->inbox_->mutex);
    batch.swap(self->inbox_->queue);
  }
  for (auto& fn : batch) fn();
}

}  // namespace larder::net
