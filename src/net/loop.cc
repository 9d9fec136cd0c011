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

CrossThreadQueue::CrossThreadQueue(Loop& loop) {
  if (int rc = uv_async_init(loop.raw(), async_.get(), &CrossThreadQueue::onAsync); rc != 0)
    LARDER_FATAL("uv_async_init: {}", uv_strerror(rc));
  async_.markInitialized();
  async_.get()->data = this;
}

CrossThreadQueue::~CrossThreadQueue() {
  // Under the mutex: a post() on another thread that has queued its function
  // but not yet sent the wake-up must not see the handle closed in between
  // (the loop thread may run that function, stop and destroy this at once).
  std::lock_guard lock(mutex_);
  async_.close();
}

void CrossThreadQueue::post(std::function<void()> fn) {
  // uv_async_send under the mutex, for the destructor's sake (see there).
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(fn));
  uv_async_send(async_.get());
}

void CrossThreadQueue::post(std::weak_ptr<void> owner, std::function<void()> fn) {
  post([owner = std::move(owner), fn = std::move(fn)] {
    if (owner.lock()) fn();
  });
}

void CrossThreadQueue::onAsync(uv_async_t* handle) {
  auto* self = static_cast<CrossThreadQueue*>(handle->data);
  if (self == nullptr) return;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(self->mutex_);
    batch.swap(self->queue_);
  }
  for (auto& fn : batch) fn();
}

}  // namespace larder::net
