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
// Graveyard: destroyLater() for an owner that must outlive what it lets go
// of (the let-go object still borrows the owner's parts in its destructor).
// bury() takes the object now and destroys it on a later turn, or with the
// Graveyard (so with its owner), whichever comes first. The object must be
// inert once buried: its owner stopped it before letting go, so nothing
// reaches it in the turn it waits (its Pendings cancelled, timers stopped,
// liveness revoked).
//
// Threading: the loop's thread.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

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

class Graveyard {
 public:
  explicit Graveyard(Loop& loop) : deferrer_(loop) {}
  // Destroys what is buried now (and whatever their destructors bury).
  ~Graveyard() { clear(); }
  Graveyard(const Graveyard&) = delete;
  Graveyard& operator=(const Graveyard&) = delete;

  template <typename T>
  void bury(std::unique_ptr<T> object) {
    if (object == nullptr) return;
    if (buried_.empty()) deferrer_.post([this] { clear(); });
    // One list for every type, without an allocation per object.
    buried_.emplace_back(object.release(), [](void* dead) { delete static_cast<T*>(dead); });
  }
  size_t size() const { return buried_.size(); }

 private:
  using Buried = std::unique_ptr<void, void (*)(void*)>;

  void clear() {
    while (!buried_.empty()) {
      // Swapped out first: a destructor may bury more. The two lists keep
      // their capacity: a connection's exchanges reuse them.
      dying_.swap(buried_);
      dying_.clear();
    }
  }

  std::vector<Buried> buried_;
  std::vector<Buried> dying_;
  Deferrer deferrer_;  // last: its posts are dropped before the lists go
};

}  // namespace larder::net
