// Deferred work and deferred destruction, built on Loop::post().
//
// Deferrer: an owner's handle on Loop::post(). What it posts runs on a later
// turn of the loop, in posting order, and is dropped if the Deferrer (and so,
// as a member, its owner) is destroyed first. Stores deliver every
// completion through one: the Store contract (cache/store.h) forbids
// completing inside the call that started an operation, and a completion
// run from inside a hiredis callback could destroy the store under hiredis.
//
// destroyLater(): for an object that may be asked to go away from inside one
// of its own callbacks (a Redis connection whose reply callback tears down
// its store, a cluster node dropped from inside its own redirect). The owner
// lets go of it now (so nothing new reaches it) and the object is destroyed
// on a later turn, when no frame of its own is on the stack. The object must
// not rely on its owner after release; its callbacks into the owner should
// already be guarded (net/weak_ref.h). No "may destroy this" conventions.
//
// Threading: the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "net/loop.h"
#include "net/weak_ref.h"

namespace larder::net {

class Deferrer {
 public:
  explicit Deferrer(Loop& loop) : loop_(loop) {}
  Deferrer(const Deferrer&) = delete;
  Deferrer& operator=(const Deferrer&) = delete;

  // Runs `fn` on a later turn unless this Deferrer is gone by then.
  template <typename Fn>
  void post(Fn&& fn) {
    loop_.post(liveness_.ref(), std::forward<Fn>(fn));
  }
  // Drops everything posted so far and not run yet (a close()).
  void dropPosted() { liveness_.revoke(); }
  Loop& loop() const { return loop_; }

 private:
  Loop& loop_;
  LivenessToken liveness_;
};

// Destroys `object` on a later turn of `loop` (or when the loop is
// destroyed, if that comes first). A null `object` is fine.
template <typename T>
void destroyLater(Loop& loop, std::unique_ptr<T> object) {
  if (object == nullptr) return;
  // std::function needs a copyable callable: the unique_ptr rides in a
  // shared cell that only this function holds.
  auto cell = std::make_shared<std::unique_ptr<T>>(std::move(object));
  loop.post([cell] { cell->reset(); });
}

}  // namespace larder::net
