// Pending: the move-only handle a caller keeps for one asynchronous
// operation (STYLE L4), and PendingState, what the operation keeps of it.
//
// The caller's side:
//  - destroying the Pending, or cancel(), means "I no longer want it": the
//    callback is dropped, and the operation's abort hook (if it set one)
//    runs at once, so work nobody waits for can stop (a watch, a retry);
//  - detach() means "finish it, but without me": the callback is dropped
//    and the operation runs to completion (a write that must land);
//  - either way the caller may be gone before the operation completes.
// The operation's side: it keeps the shared PendingState, checks
// isCancelled() before calling back, and calls finish() once it is done so
// a late cancel() aborts nothing. Header-only and I/O-free: cache/ names
// it in the Store interface.
//
// Threading: one loop's thread, like the operation.
#pragma once

#include <functional>
#include <memory>
#include <utility>

namespace larder::net {

struct PendingState {
  // The caller no longer wants the callback (cancelled or detached).
  bool cancelled = false;

  bool isCancelled() const { return cancelled; }
  // Optional: runs once if the caller cancels before finish().
  void onCancel(std::function<void()> abort) { abort_ = std::move(abort); }
  // The operation is complete: nothing is left to abort.
  void finish() { abort_ = nullptr; }

 private:
  friend class Pending;
  std::function<void()> abort_;
};

class Pending {
 public:
  Pending() = default;
  explicit Pending(std::shared_ptr<PendingState> state) : state_(std::move(state)) {}
  // A fresh operation's handle and the state the operation keeps.
  static std::pair<Pending, std::shared_ptr<PendingState>> make() {
    auto state = std::make_shared<PendingState>();
    return {Pending(state), state};
  }
  ~Pending() { cancel(); }
  Pending(Pending&& other) noexcept = default;
  Pending& operator=(Pending&& other) noexcept {
    if (this != &other) {
      cancel();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  // Drops the callback and aborts the operation. Idempotent.
  void cancel() {
    std::shared_ptr<PendingState> state = std::move(state_);
    if (state == nullptr) return;
    state->cancelled = true;
    // Moved out first: the abort may destroy what owns the operation.
    std::function<void()> abort = std::exchange(state->abort_, nullptr);
    if (abort) abort();
  }
  // Drops the callback; the operation carries on to its end. Idempotent.
  void detach() {
    std::shared_ptr<PendingState> state = std::move(state_);
    if (state == nullptr) return;
    state->cancelled = true;
    state->abort_ = nullptr;
  }
  bool isActive() const { return state_ != nullptr; }

 private:
  std::shared_ptr<PendingState> state_;
};

}  // namespace larder::net
