#include "store/deferred_queue.h"

#include "base/assert.h"

namespace larder::store {

DeferredQueue::DeferredQueue(net::Loop& loop) {
  if (int rc = uv_idle_init(loop.raw(), idle_.get()); rc != 0)
    LARDER_FATAL("uv_idle_init: {}", uv_strerror(rc));
  idle_.markInitialized();
  idle_.get()->data = this;
}

DeferredQueue::~DeferredQueue() { *alive_ = false; }

void DeferredQueue::post(std::function<void()> fn) {
  queue_.push_back(std::move(fn));
  if (uv_is_active(idle_.base()) == 0) uv_idle_start(idle_.get(), &DeferredQueue::onIdle);
}

void DeferredQueue::onIdle(uv_idle_t* handle) {
  auto* self = static_cast<DeferredQueue*>(handle->data);
  if (self == nullptr) return;
  // Swap first: functions posted while draining run on the next turn, so a
  // completion that starts another operation cannot starve the loop.
  std::vector<std::function<void()>> batch;
  batch.swap(self->queue_);
  std::shared_ptr<bool> alive = self->alive_;
  for (auto& fn : batch) {
    fn();
    if (!*alive) return;
  }
  if (self->queue_.empty()) uv_idle_stop(handle);
}

}  // namespace larder::store
