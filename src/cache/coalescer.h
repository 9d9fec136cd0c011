// Coalescing of concurrent misses (DESIGN invariant 9, STYLE §2).
//
// The first miss on a key leads a Fill: it fetches from the upstream and
// publishes the answer into the Fill as it arrives. Later misses on the same
// key join as waiters and stream the answer from the Fill, on their own
// worker loop. The key includes the namespace versions the lookup saw, so a
// request that saw a newer version (after a write) never joins a fill that
// started before the write (DESIGN invariant 3).
//
// A Fill shares answers the cache would store (≤ max_object_size). When the
// answer is refused at its head, or the fetch fails or gives up before the
// head, the Fill is abandoned and every waiter fetches for itself, as nginx's
// proxy_cache_lock does. An answer that turns unstorable mid-body (chunked,
// past max_object_size) while readers have its head keeps streaming to them
// through a bounded window (keepWindow): the Fill keeps only its last bytes,
// and a reader that falls behind them is cut (Progress::fell_behind).
//
// The fetch behind a Fill belongs to no client (STYLE §2): the worker owns
// it (proxy/fill_fetch.h), and every request that wants the answer, the one
// that caused the fetch included, is a reader. An answer refused at its head
// (not storable) is not shared: it goes to that first reader alone
// (publishHeadTo), and every other waiter sees the fill abandoned.
//
// Threading: one Coalescer per process (app::SharedState), called from
// every worker thread: join/forget/retire by the exchanges and refreshes of
// any worker, sweep by worker 0. Its mutex guards the map and the retired
// list; the clock is an atomic. Each Fill has its own mutex over all its
// fields: its leader's worker publishes, the waiters' workers read and
// (un)register. Lock order: Coalescer, then Fill (join() reads a Fill's state
// under the Coalescer's lock); never the other way. Waiters are notified
// through the `notify` function they register, called on the publishing
// worker's thread with no lock held: it must be thread-safe, must not call
// back into the Fill inline, and must stay safe after the waiter's worker has
// stopped (workers post through a CrossThreadQueue::Sender, net/loop.h). No
// I/O happens here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/entry_codec.h"
#include "http/header_map.h"

namespace larder::cache {

class Fill {
 public:
  enum class State {
    kFetching,   // no head yet
    kStreaming,  // head published, body arriving
    kComplete,   // whole answer published
    kAbandoned,  // not shareable: waiters fetch for themselves
  };

  struct Head {
    int status = 200;
    std::string reason;
    http::HeaderMap headers;
    std::optional<uint64_t> content_length;
    // The surrogate version keys the answer named and the epoch the
    // leader's lookup read (cache/surrogate_keys.h fillServesLookup).
    std::vector<std::string> surrogate_keys;
    std::optional<uint64_t> lookup_epoch;
    // For the reader that caused the fetch (its X-Cache, Cache-Status and
    // access log): the answer is being stored; the upstream's head latency.
    bool stored = false;
    std::string_view refusal{};  // why not (static storage; cache/policy.h reasons)
    std::chrono::nanoseconds upstream_latency{-1};
    // The answer is an entry already: renewed by the upstream's 304
    // (revalidated) or found stored by another instance. The reader that
    // caused the fetch serves it as an entry (conditional, ranges, Age).
    std::shared_ptr<const Entry> entry{};
    bool revalidated = false;
  };

  // What a waiter reads: the state, the head once known, and body bytes
  // from `offset` on, at most `limit` of them (copied: the waiter owns them).
  // The answer is all read when `state` is kComplete and offset + body
  // reaches `end`.
  struct Progress {
    State state = State::kFetching;
    std::shared_ptr<const Head> head;
    std::string body;
    uint64_t restarts = 0;  // restartWait() calls so far
    // The bytes at `offset` are gone from the window: this reader was too
    // slow for an unstored answer and cannot be served from the fill.
    bool fell_behind = false;
    uint64_t end = 0;  // body bytes published so far
    // Abandoned because the upstream failed (502 or 504; 0 otherwise).
    int failed_status = 0;
    // abandonTo(): the fill this reader moved to (FillWaiter::follow).
    std::shared_ptr<Fill> successor;
    // Interim (1xx) heads published so far, in order.
    std::vector<std::shared_ptr<const Head>> interim;
  };

  // Unique in the process, so a registration can move between fills.
  using WaiterId = uint64_t;

  // Leader side.
  void publishHead(Head head);
  void publishBody(std::string_view data);
  void complete();
  void abandon();
  // The answer varies beyond the fill's key (RFC 9111 §4.1) and is fetched
  // into `successor`, the variant's fill: `reader` (the one that caused the
  // fetch, whose variant it is) moves there, keeping its WaiterId and
  // notify; the others see this fill abandoned and look up again.
  void abandonTo(const std::shared_ptr<Fill>& successor, WaiterId reader);
  // The upstream failed: `status` (502 or 504) is what readers that have
  // nothing yet may answer (Progress::failed_status).
  void abandonFailed(int status);
  void publishInterim(Head head);
  // An answer that will not be stored, for `reader` alone: every other
  // reader sees the fill abandoned (and fetches for itself). Body bytes are
  // kept only until that reader has read them; the fetch paces itself on
  // bufferedBytes() (one reader: nobody else waits on it).
  void publishHeadTo(Head head, WaiterId reader);
  size_t bufferedBytes() const;
  bool isPrivate() const;
  // Called, with no lock held, whenever a reader leaves and whenever a
  // private answer's reader reads: on the reader's thread, so it must be
  // thread-safe and must not call back into the Fill inline (post).
  void setActivityHook(std::function<void()> hook);
  // The answer will not be stored, but readers have its head: from now on
  // only the last `window` body bytes are kept (at most 2 × window at any
  // time: trimmed in batches), and offsets before them are gone.
  void keepWindow(size_t window);
  // The leader checks with other instances before it fetches (the
  // distributed lock); its own lock_timeout bounds that, so waiters do not
  // time out meanwhile. restartWait() ends it: the leader goes upstream now,
  // and waiters count their lock_timeout afresh from then, instead of all
  // fetching for themselves just when the leader's own wait ran out.
  void holdWaiters();
  void restartWait();
  struct WaitPhase {
    uint64_t restarts = 0;  // restartWait() calls so far
    bool held = false;      // between holdWaiters() and restartWait()
  };
  WaitPhase waitPhase() const;
  // Set by Coalescer::retire: the tick at which its entry was in the store.
  void markRetired(uint64_t tick);
  bool isRetiredBefore(uint64_t tick) const;

  // Waiter side.
  // `reader`: the caller's WaiterId (0 for none), which a private answer
  // checks.
  Progress read(size_t offset, size_t limit = SIZE_MAX, WaiterId reader = 0);
  WaiterId addWaiter(std::function<void()> notify);
  void removeWaiter(WaiterId id);
  size_t waiterCount() const;
  bool hasWaiter(WaiterId id) const;
  State state() const;

 private:
  void notifyAll(std::unique_lock<std::mutex>& lock);
  void callHook(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  State state_ = State::kFetching;
  static constexpr uint64_t kNotRetired = UINT64_MAX;
  uint64_t retired_tick_ = kNotRetired;
  uint64_t restarts_ = 0;
  bool held_ = false;
  int failed_status_ = 0;
  WaiterId private_reader_ = 0;  // publishHeadTo
  std::function<void()> hook_;
  std::vector<std::shared_ptr<const Head>> interim_;
  std::shared_ptr<const Head> head_;
  std::string body_;
  uint64_t body_start_ = 0;  // offset of body_[0] in the answer
  size_t window_ = 0;        // 0: the whole body is kept (storable)
  std::shared_ptr<Fill> successor_;  // abandonTo
  WaiterId successor_reader_ = 0;
  std::vector<std::pair<WaiterId, std::function<void()>>> waiters_;
};

class Coalescer {
 public:
  struct Joined {
    std::shared_ptr<Fill> fill;
    bool leader = false;
  };

  // A point in the coalescer's own order of events; take one just before
  // sending a store lookup.
  uint64_t tick() { return clock_.fetch_add(1) + 1; }
  // Leads a new fill for `key`, or joins the one in flight. A retired fill
  // (completed and stored) is joined only by a request whose lookup was sent
  // before it was retired (`lookup_tick`): a later lookup would have seen the
  // stored entry, or an invalidation since (DESIGN invariants 3 and 4).
  Joined join(const std::string& key, uint64_t lookup_tick = UINT64_MAX);
  // The leader gave `fill` up: new misses on `key` start afresh. A fill
  // already replaced is left alone.
  void forget(const std::string& key, const std::shared_ptr<Fill>& fill);
  // `fill` completed and its entry is in the store. It keeps answering
  // misses whose lookups ran just before the store had it, until sweep()
  // drops it `grace` after `now`.
  void retire(const std::string& key, const std::shared_ptr<Fill>& fill, uint64_t now_ms);
  void sweep(uint64_t now_ms, uint64_t grace_ms);
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::atomic<uint64_t> clock_{0};
  std::unordered_map<std::string, std::shared_ptr<Fill>> fills_;
  struct Retired {
    std::string key;
    std::weak_ptr<Fill> fill;
    uint64_t at_ms;
  };
  std::vector<Retired> retired_;  // oldest first
};

// RAII registration of a waiter on a fill (STYLE §2): destroying it removes
// the waiter, so a client that leaves while waiting leaves nothing behind.
class FillWaiter {
 public:
  FillWaiter() = default;
  FillWaiter(std::shared_ptr<Fill> fill, std::function<void()> notify);
  ~FillWaiter() { reset(); }
  FillWaiter(FillWaiter&& other) noexcept;
  FillWaiter& operator=(FillWaiter&& other) noexcept;
  FillWaiter(const FillWaiter&) = delete;
  FillWaiter& operator=(const FillWaiter&) = delete;

  void reset();
  // The registration moved to `successor` (Fill::abandonTo).
  void follow(std::shared_ptr<Fill> successor) { fill_ = std::move(successor); }
  Fill* fill() const { return fill_.get(); }
  Fill::WaiterId id() const { return id_; }

 private:
  std::shared_ptr<Fill> fill_;
  Fill::WaiterId id_ = 0;
};

}  // namespace larder::cache
