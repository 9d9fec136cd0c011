// The distributed fill lock: one upstream request per cold key for a whole
// fleet of instances sharing a store (DESIGN invariant 9).
//
// Within a process, Coalescer lets one request per key go upstream: the
// fill's leader. With the lock on, that leader also takes a lock in the
// store, named after its fill key. The winner fetches; once its entry is
// stored it releases the lock and announces the end of the fill on a notice
// channel. A loser keeps leading its own process's fill, waits for that
// notice (or for the lock to expire: an owner that died is noticed without
// polling) and looks the entry up again.
//
// A lock holds its owner's token and has a TTL: only its owner deletes it,
// and one whose owner died expires on its own (DESIGN invariant 2). The lock
// only saves upstream requests: whenever it cannot be used (store down or
// slow) requests fall back to coalescing within their process (invariant 5).
//
// Threading: a FillLock belongs to one worker loop. Callbacks run later on
// that loop, never inside the call that registered them, and never after
// their Pending is destroyed. The pure helpers below are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cache/store.h"

namespace larder::cache {

struct LockName {
  std::string key;      // "<prefix>:lock:<digest of the fill key>"
  std::string channel;  // "<prefix>:fills": where fills under this prefix end
};

// Every instance derives the same name from the same fill key.
LockName lockName(std::string_view key_prefix, std::string_view fill_key);
std::string fillNoticeChannel(std::string_view key_prefix);
// A unique owner token (128 random bits).
std::string newLockToken();

// How a fill ended, as announced to the instances waiting on its lock.
enum class FillEnd {
  kStored,     // the entry is in the store: look it up
  kAbandoned,  // not shareable (or failed): fetch for yourself
};

// The notice text: "stored <lock key>" or "abandoned <lock key>".
std::string encodeFillNotice(std::string_view lock_key, FillEnd end);
struct FillNotice {
  std::string lock_key;
  FillEnd end = FillEnd::kStored;
};
// nullopt for anything that is not a notice (the channel is shared).
std::optional<FillNotice> decodeFillNotice(std::string_view message);

// How long to sleep after finding the lock held with `remaining` TTL: until
// just after it expires, but not past `budget` (what is left of the wait).
std::chrono::milliseconds recheckDelay(std::chrono::milliseconds remaining,
                                       std::chrono::milliseconds budget);

enum class LockStatus {
  kAcquired,     // this token owns the lock now
  kHeld,         // another owner has it
  kUnavailable,  // the store could not say: go without the lock
};

struct LockAttempt {
  LockStatus status = LockStatus::kUnavailable;
  // kHeld: the lock's remaining TTL (0 when it expired meanwhile).
  std::chrono::milliseconds remaining{0};
};

enum class WatchEvent {
  kStored,     // a notice: the fill ended with an entry
  kAbandoned,  // a notice: the fill ended without one
  kMissed,     // notices may have been lost (the subscription came back)
};

class FillLock {
 public:
  using AcquireCallback = std::function<void(LockAttempt)>;
  using WatchCallback = std::function<void(WatchEvent)>;

  virtual ~FillLock() = default;

  // Takes `name` for `token` with `ttl` if nobody holds it (one round trip;
  // when held, its remaining TTL comes with the answer). `on_done` runs
  // once; store errors arrive as kUnavailable.
  virtual Pending acquire(const LockName& name, const std::string& token,
                          std::chrono::milliseconds ttl, AcquireCallback on_done) = 0;

  // Deletes the lock if `token` still owns it, then announces `end` on the
  // name's channel (kStored always: the entry helps whoever waits now; and
  // kAbandoned only by the owner, so a late one cannot send another owner's
  // waiters upstream). Fire and forget: the lock owns the request (STYLE L6);
  // if it fails, the lock expires and its waiters recover within its TTL.
  virtual void release(const LockName& name, const std::string& token, FillEnd end) = 0;

  // Calls `on_event` for every notice about `name` and whenever notices may
  // have been lost, until the Pending is destroyed.
  virtual Pending watch(const LockName& name, WatchCallback on_event) = 0;

  // Starts receiving notices on `channel` now, so the first waiter does not
  // miss one. Idempotent; watch() does it too.
  virtual void listen(const std::string& channel) = 0;

  // Whether acquire() can reach the store and notices arrive.
  virtual bool isReady() const = 0;
};

}  // namespace larder::cache
