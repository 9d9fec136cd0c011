#include "cache/coalescer.h"

namespace larder::cache {

void Fill::publishHead(Head head) {
  std::unique_lock lock(mutex_);
  if (state_ != State::kFetching) return;
  head_ = std::make_shared<const Head>(std::move(head));
  state_ = State::kStreaming;
  notifyAll(lock);
}

void Fill::publishBody(std::string_view data) {
  std::unique_lock lock(mutex_);
  if (state_ != State::kStreaming) return;
  body_.append(data);
  if (window_ != 0 && body_.size() >= 2 * window_) {
    size_t drop = body_.size() - window_;
    body_.erase(0, drop);
    body_start_ += drop;
  }
  notifyAll(lock);
}

void Fill::publishInterim(Head head) {
  std::unique_lock lock(mutex_);
  if (state_ != State::kFetching) return;
  interim_.push_back(std::make_shared<const Head>(std::move(head)));
  notifyAll(lock);
}

void Fill::publishHeadTo(Head head, WaiterId reader) {
  std::unique_lock lock(mutex_);
  if (state_ != State::kFetching) return;
  head_ = std::make_shared<const Head>(std::move(head));
  private_reader_ = reader;
  state_ = State::kStreaming;
  notifyAll(lock);
}

size_t Fill::bufferedBytes() const {
  std::lock_guard lock(mutex_);
  return body_.size();
}

bool Fill::isPrivate() const {
  std::lock_guard lock(mutex_);
  return private_reader_ != 0;
}

void Fill::setActivityHook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

void Fill::callHook(std::unique_lock<std::mutex>& lock) {
  auto hook = hook_;
  lock.unlock();
  if (hook) hook();
}

void Fill::abandonFailed(int status) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::kComplete || state_ == State::kAbandoned) return;
    failed_status_ = status;
  }
  abandon();
}

void Fill::keepWindow(size_t window) {
  std::lock_guard lock(mutex_);
  window_ = window == 0 ? 1 : window;
}

void Fill::complete() {
  std::unique_lock lock(mutex_);
  if (state_ != State::kStreaming) return;
  state_ = State::kComplete;
  notifyAll(lock);
}

void Fill::abandon() {
  std::unique_lock lock(mutex_);
  if (state_ == State::kComplete || state_ == State::kAbandoned) return;
  state_ = State::kAbandoned;
  std::string().swap(body_);
  notifyAll(lock);
}

void Fill::holdWaiters() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void Fill::restartWait() {
  std::unique_lock lock(mutex_);
  held_ = false;
  if (state_ != State::kFetching) return;
  ++restarts_;
  notifyAll(lock);
}

Fill::WaitPhase Fill::waitPhase() const {
  std::lock_guard lock(mutex_);
  return {restarts_, held_ && state_ == State::kFetching};
}

void Fill::notifyAll(std::unique_lock<std::mutex>& lock) {
  // Copied so a notify may (indirectly, later) remove waiters.
  auto waiters = waiters_;
  lock.unlock();
  for (auto& [id, notify] : waiters) notify();
}

Fill::Progress Fill::read(size_t offset, size_t limit, WaiterId reader) {
  std::unique_lock lock(mutex_);
  Progress progress;
  if (private_reader_ != 0 && reader != private_reader_) {
    progress.state = State::kAbandoned;  // not shared (publishHeadTo)
    return progress;
  }
  progress.state = state_;
  progress.failed_status = failed_status_;
  if (reader != 0 && reader == successor_reader_) progress.successor = successor_;
  progress.interim = interim_;
  progress.head = head_;
  progress.restarts = restarts_;
  progress.end = body_start_ + body_.size();
  if (offset < body_start_) {
    progress.fell_behind = true;
    return progress;
  }
  if (private_reader_ != 0) {
    // The one reader has what lies before `offset`: nobody reads it again.
    body_.erase(0, offset - body_start_);
    body_start_ = offset;
  }
  if (offset - body_start_ < body_.size()) progress.body.assign(body_, offset - body_start_, limit);
  if (private_reader_ != 0) callHook(lock);
  return progress;
}

Fill::WaiterId Fill::addWaiter(std::function<void()> notify) {
  static std::atomic<WaiterId> next_id{1};
  WaiterId id = next_id.fetch_add(1);
  std::lock_guard lock(mutex_);
  waiters_.emplace_back(id, std::move(notify));
  return id;
}

void Fill::abandonTo(const std::shared_ptr<Fill>& successor, WaiterId reader) {
  std::unique_lock lock(mutex_);
  if (state_ == State::kComplete || state_ == State::kAbandoned) return;
  std::function<void()> moved;
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->first == reader) {
      moved = std::move(it->second);
      waiters_.erase(it);
      break;
    }
  }
  if (moved) {
    successor_ = successor;
    successor_reader_ = reader;
  }
  state_ = State::kAbandoned;
  std::string().swap(body_);
  auto waiters = waiters_;
  lock.unlock();
  // Never both locks at once: this one is released before the successor's.
  if (moved) {
    {
      std::lock_guard other(successor->mutex_);
      successor->waiters_.emplace_back(reader, moved);
    }
    moved();
  }
  for (auto& [id, notify] : waiters) notify();
}

void Fill::removeWaiter(WaiterId id) {
  std::unique_lock lock(mutex_);
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->first == id) {
      waiters_.erase(it);
      callHook(lock);
      return;
    }
  }
}

bool Fill::hasWaiter(WaiterId id) const {
  std::lock_guard lock(mutex_);
  for (const auto& waiter : waiters_)
    if (waiter.first == id) return true;
  return false;
}

size_t Fill::waiterCount() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

Fill::State Fill::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void Fill::markRetired(uint64_t tick) {
  std::lock_guard lock(mutex_);
  retired_tick_ = tick;
}

bool Fill::isRetiredBefore(uint64_t tick) const {
  std::lock_guard lock(mutex_);
  return retired_tick_ != kNotRetired && retired_tick_ < tick;
}

Coalescer::Joined Coalescer::join(const std::string& key, uint64_t lookup_tick) {
  std::lock_guard lock(mutex_);
  auto it = fills_.find(key);
  if (it != fills_.end() && it->second->state() != Fill::State::kAbandoned &&
      !it->second->isRetiredBefore(lookup_tick))
    return {it->second, false};
  auto fill = std::make_shared<Fill>();
  fills_[key] = fill;
  return {fill, true};
}

void Coalescer::forget(const std::string& key, const std::shared_ptr<Fill>& fill) {
  std::lock_guard lock(mutex_);
  auto it = fills_.find(key);
  if (it != fills_.end() && it->second == fill) fills_.erase(it);
}

void Coalescer::retire(const std::string& key, const std::shared_ptr<Fill>& fill, uint64_t now_ms) {
  fill->markRetired(tick());
  std::lock_guard lock(mutex_);
  retired_.push_back({key, fill, now_ms});
}

void Coalescer::sweep(uint64_t now_ms, uint64_t grace_ms) {
  std::lock_guard lock(mutex_);
  size_t done = 0;
  for (; done < retired_.size() && retired_[done].at_ms + grace_ms <= now_ms; ++done) {
    auto it = fills_.find(retired_[done].key);
    if (it != fills_.end() && it->second == retired_[done].fill.lock()) fills_.erase(it);
  }
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<std::ptrdiff_t>(done));
}

size_t Coalescer::size() const {
  std::lock_guard lock(mutex_);
  return fills_.size();
}

FillWaiter::FillWaiter(std::shared_ptr<Fill> fill, std::function<void()> notify)
    : fill_(std::move(fill)) {
  id_ = fill_->addWaiter(std::move(notify));
}

FillWaiter::FillWaiter(FillWaiter&& other) noexcept : fill_(std::move(other.fill_)), id_(other.id_) {
  other.id_ = 0;
}

FillWaiter& FillWaiter::operator=(FillWaiter&& other) noexcept {
  if (this != &other) {
    reset();
    fill_ = std::move(other.fill_);
    id_ = other.id_;
    other.id_ = 0;
  }
  return *this;
}

void FillWaiter::reset() {
  if (fill_ && id_ != 0) fill_->removeWaiter(id_);
  fill_.reset();
  id_ = 0;
}

}  // namespace larder::cache
