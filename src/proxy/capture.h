// Capture: collects an upstream answer that the cache may store, publishes it
// to the fill it leads (so the fill's readers stream it), and hands it to the
// store when complete (STYLE L6: the store owns the write from then on).
// Used by FillFetch (every fetch for the cache) and by a shadow route's
// leading Exchange (proxy/shadow_route.h).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "cache/coalescer.h"
#include "cache/entry_codec.h"
#include "cache/fill_lock.h"
#include "cache/invalidation_backlog.h"
#include "cache/store.h"
#include "config/config.h"
#include "http/message.h"

namespace larder::proxy {

// Where an answer goes: the entry's key and identity, the versions its
// lookup saw, and the fill that waiters follow (if this request leads it).
struct CacheSlot {
  config::ConfigPtr config;
  const config::Route* route = nullptr;  // owned by `config`
  std::string entry_key;
  std::string identity;
  // Read by the lookup: the route's namespaces, the URI's and "*" (the
  // first `base_versions`), then surrogate keys it read in advance.
  std::vector<std::string> version_keys;
  std::vector<std::optional<std::string>> seen_versions;
  size_t base_versions = 0;
  std::optional<uint64_t> lookup_epoch;  // the epoch the lookup read (cache/store.h)
  // Process-wide; an answer naming a key pending there is not stored.
  const cache::InvalidationBacklog* backlog = nullptr;
  std::string fill_key;
  std::shared_ptr<cache::Fill> fill;     // null unless leading a fill
  std::vector<std::string> extra_vary;   // fields the upstream varies on beyond route.vary
};

class Capture {
 public:
  Capture(cache::Store& store, cache::Coalescer& coalescer);
  ~Capture();  // abandons an unfinished fill: its waiters fetch for themselves
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  void setSlot(CacheSlot slot) { slot_ = std::move(slot); }
  const CacheSlot& slot() const { return slot_; }

  // Decides from the response head whether to store; false (and the fill
  // abandoned) when not. `request_time` is when the request went upstream;
  // `surrogate_keys` are the version keys the answer named
  // (cache::takeSurrogateKeys).
  bool begin(std::string_view upstream_method, const http::HeaderMap& request_headers,
             const http::ResponseHead& head, base::WallTime request_time,
             std::vector<std::string> surrogate_keys);
  // False once the body outgrew max_object_size (DESIGN invariant 8):
  // nothing is stored then. If the fill's readers have the head, the rest
  // still streams to them through the fill's window (Fill::keepWindow, of
  // sharedWindow() bytes) and isSharing() stays true; otherwise the fill
  // is abandoned.
  bool append(std::string_view data);
  // The answer is complete: store it (if storing) and complete the fill.
  void commit();
  // A 304 renewed `stale`: store the renewed entry; returns it for serving.
  // The 304's surrogate keys replace the entry's; nullopt keeps them.
  cache::Entry renew(cache::Entry stale, const http::HeaderMap& not_modified_headers,
                     std::optional<std::vector<std::string>> surrogate_keys,
                     const http::HeaderMap& request_headers, base::WallTime request_time);
  // The answer varies on more fields than the key had: it belongs to another
  // variant. Leads the variant's fill if nobody does yet and returns the old
  // fill, which the caller releases (releaseFill) once its waiters can find
  // their own variants. Call before begin().
  struct PreviousFill {
    std::string key;
    std::shared_ptr<cache::Fill> fill;
  };
  PreviousFill rekey(std::string entry_key, std::string identity, std::string fill_key,
                     std::vector<std::string> extra_vary);
  // Abandons a fill this capture led: its waiters look up again or fetch,
  // except the first reader (setFirstReader), which moves to the fill this
  // capture leads now, if any (Fill::abandonTo).
  void releaseFill(PreviousFill previous);
  // Gives up: the fill's waiters fetch for themselves; `failed_status`
  // (502/504) when the upstream failed (Fill::abandonFailed).
  void abandon(int failed_status = 0);
  // The reader that caused the fetch: an answer refused at its head is
  // still streamed to it alone, if it is still reading (Fill::publishHeadTo).
  void setFirstReader(cache::Fill::WaiterId reader) { first_reader_ = reader; }
  cache::Fill::WaiterId firstReader() const { return first_reader_; }
  void setUpstreamLatency(std::chrono::nanoseconds latency) { upstream_latency_ = latency; }
  // This capture's fetch runs under the distributed lock `name`: it releases
  // it once the entry is stored (or refused), or when it gives up. `lock`
  // must outlive the store's insert callbacks (the worker's order does it).
  void holdLock(cache::FillLock& lock, cache::LockName name, std::string token);
  // Another instance stored the answer this fill waited for: the fill's
  // waiters get `entry` as if fetched, and the fill retires (the entry is in
  // the store already). Nothing is stored; the capture is done.
  void shareStored(const cache::Entry& entry, base::WallTime now);
  // Storing the answer (and publishing it to the fill, if any).
  bool isActive() const { return active_; }
  // Storing, or streaming an unstored answer to the fill's readers.
  bool isSharing() const { return active_ || unstored_; }
  // What an unstored shared answer keeps for its readers: max_object_size,
  // and at least kMinSharedWindow, since one loop turn may read 32 × 64 KiB
  // from the upstream before any reader runs (libuv's uv__read).
  static constexpr size_t kMinSharedWindow = 4 * 1024 * 1024;
  size_t sharedWindow() const { return std::max(slot_.config->cache.max_object_size, kMinSharedWindow); }
  // Why the answer is not stored (a store_rejected reason), or empty.
  std::string_view refusal() const { return refusal_; }

 private:
  void store(cache::Entry& entry);
  void refuse(const http::ResponseHead& head, std::optional<uint64_t> length);
  void releaseLock();

  struct HeldLock {
    cache::FillLock* lock;
    cache::LockName name;
    std::string token;
  };

  cache::Store& store_;
  cache::Coalescer& coalescer_;
  CacheSlot slot_;
  bool active_ = false;
  bool unstored_ = false;  // too big to store; still streamed to the fill's readers
  std::string_view refusal_;  // static storage (cache/policy.h reasons)
  cache::Entry entry_;
  std::chrono::milliseconds keep_{0};  // StoreDecision::keep
  std::optional<HeldLock> lock_;
  std::vector<std::string> surrogate_keys_;
  cache::Fill::WaiterId first_reader_ = 0;
  std::chrono::nanoseconds upstream_latency_{-1};
  bool renewing_ = false;  // renew(): the head is published with the entry
};

}  // namespace larder::proxy
