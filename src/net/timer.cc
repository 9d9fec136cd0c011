#include "net/timer.h"

namespace larder::net {

Timer::Timer(Loop& loop) {
  uv_timer_init(loop.raw(), handle_.get());
  handle_.markInitialized();
  handle_.get()->data = this;
}

void Timer::start(base::Duration timeout, std::function<void()> on_fire) {
  on_fire_ = std::move(on_fire);
  uv_timer_start(handle_.get(), &Timer::onFire, static_cast<uint64_t>(timeout.count()), 0);
}

void Timer::startRepeating(base::Duration interval, std::function<void()> on_fire) {
  on_fire_ = std::move(on_fire);
  auto ms = static_cast<uint64_t>(interval.count());
  uv_timer_start(handle_.get(), &Timer::onFire, ms, ms);
}

void Timer::stop() { uv_timer_stop(handle_.get()); }

bool Timer::isActive() const { return uv_is_active(handle_.base()) != 0; }

void Timer::onFire(uv_timer_t* handle) {
  auto* self = static_cast<Timer*>(handle->data);
  if (self == nullptr) return;
  // Copy: the callback may restart this timer with a new function.
  auto fn = self->on_fire_;
  fn();
}

}  // namespace larder::net
