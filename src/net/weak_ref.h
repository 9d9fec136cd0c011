// LivenessToken and WeakRef: the one liveness check for callbacks that may
// outlive the object they serve (STYLE L4).
//
// An object that hands out callbacks holds a LivenessToken as its last
// member (so it dies first); each callback captures a WeakRef from ref()
// and checks it before touching the object. This replaces raw `this`
// captures, hand-rolled `shared_ptr<bool> alive_` flags and handles that
// clear their `data` to say "gone".
//
// Threading: create, destroy and check on the owner's loop thread. A WeakRef
// may be copied to and carried by other threads (CrossThreadQueue does), but
// isAlive() is only meaningful on the owner's thread: elsewhere the owner
// could die right after the check.
#pragma once

#include <memory>
#include <utility>

namespace larder::net {

class WeakRef {
 public:
  // Never alive: a callback with no owner to guard never runs through it.
  WeakRef() = default;

  bool isAlive() const { return !ref_.expired(); }
  explicit operator bool() const { return isAlive(); }

 private:
  friend class LivenessToken;
  explicit WeakRef(std::weak_ptr<const void> ref) : ref_(std::move(ref)) {}
  std::weak_ptr<const void> ref_;
};

class LivenessToken {
 public:
  LivenessToken() = default;
  // Belongs to one owner: a copy would keep the owner "alive" after it died.
  LivenessToken(const LivenessToken&) = delete;
  LivenessToken& operator=(const LivenessToken&) = delete;

  // The token is made by the first ref() (after a revoke(): the next one).
  // An owner that never hands out a reference costs no allocation, and a
  // revoke() none either: one per request before (issue 13).
  WeakRef ref() const {
    if (token_ == nullptr) token_ = std::make_shared<const char>(0);
    return WeakRef(token_);
  }
  // Every WeakRef handed out so far sees the owner gone, although it still
  // exists (a close() that must drop what was posted before it); later
  // refs are alive again.
  void revoke() { token_.reset(); }

 private:
  mutable std::shared_ptr<const char> token_;
};

// `fn` wrapped so that it runs only while `owner` is alive.
template <typename Fn>
auto guarded(WeakRef owner, Fn fn) {
  return [owner = std::move(owner), fn = std::move(fn)](auto&&... args) mutable {
    if (owner.isAlive()) fn(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace larder::net
