#include "net/loop.h"

#include "base/assert.h"

namespace larder::net {

Loop::Loop() : read_buffer_(64 * 1024, '\0') {
  if (int rc = uv_loop_init(&loop_); rc != 0) LARDER_FATAL("uv_loop_init: {}", uv_strerror(rc));
}

Loop::~Loop() {
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

bool CrossThreadQueue::Sender::post(std::weak_ptr<void> owner, std::function<void()> fn) const {
  return post([owner = std::move(owner), fn = std::move(fn)] {
    if (owner.lock()) fn();
  });
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
