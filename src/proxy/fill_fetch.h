// FillFetch: one upstream fetch for the cache (DESIGN invariant 9, STYLE §2:
// the fetch belongs to no client). It leads a cache::Fill and owns what
// fetching it takes: the wait on the distributed lock (LockWait, then a
// second lookup), the upstream request, the revalidation of a stale entry
// (a 304 renews it), the Vary re-keying of the answer, and its Capture.
//
// The worker's FillFetches owns every FillFetch, never a client. Every
// request that wants the answer, the one that caused the fetch included, is
// a reader of the Fill (cache::FillWaiter) and streams from it at its own
// pace (proxy/exchange_cache.cc). A background refresh (RFC 5861
// stale-while-revalidate) is a FillFetch with no reader.
//
// The upstream read is never paced by a shared answer's readers: a storable
// answer is held whole (at most max_object_size), one that turns unstorable
// mid-body keeps only Capture::sharedWindow() bytes for its readers
// (Fill::keepWindow; a reader that falls behind is cut). An answer refused at
// its head goes to the reader that caused the fetch alone
// (Fill::publishHeadTo); with one reader and nobody else waiting on it, the
// read is paced on that reader (at most sharedWindow() bytes held).
//
// Readers leaving: a storable answer (or one whose head is still unknown) is
// fetched and stored whoever reads it, within max_object_size and
// response_timeout; an unstored answer with no reader left is cancelled.
//
// Threading: a FillFetch lives on its worker's loop. Readers on other
// workers reach it only through the Fill's activity hook, which posts to
// this worker's queue (net/loop.h CrossThreadQueue::Sender) with a liveness
// token: a late post after the fetch is gone is dropped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/coalescer.h"
#include "cache/entry_codec.h"
#include "cache/fill_lock.h"
#include "cache/lookup_session.h"
#include "cache/surrogate_keys.h"
#include "cache/vary.h"
#include "http/message.h"
#include "http/target.h"
#include "net/defer.h"
#include "net/loop.h"
#include "proxy/capture.h"
#include "proxy/lock_wait.h"
#include "upstream/pool.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class FillFetches;

// What a FillFetch fetches, and for whom.
struct FillRequest {
  CacheSlot slot;               // slot.fill: the fill it leads (Coalescer::join said leader)
  http::RequestHead request;    // as forwarded (proxy/forwarding.h); sent as GET
  // An expired entry with validators: sent for revalidation, a 304 renews it.
  std::optional<cache::Entry> stale;
  // For the Vary re-key (RFC 9111 §4.1): the request as keyed.
  std::string primary_key;      // the key without upstream-varied fields
  std::string keyed_method;     // the client's method (HEAD and GET share a key)
  std::string host;
  http::Target target;
  std::string principal;
  bool unavailable = false;     // the store could not be asked (cache::fillKeyFor)
  bool use_lock = false;        // check with other instances first (distributed lock)
  // The reader that caused the fetch (0: none, a background refresh).
  cache::Fill::WaiterId first_reader = 0;
};

// Where an answer for `session`'s key goes (a Capture's slot): its entry
// key and identity, and the versions its lookup saw (DESIGN invariant 3).
CacheSlot slotFor(const cache::LookupSession& session, const cache::InvalidationBacklog& backlog);
// What a fetch for `session`'s key needs: the request as forwarded
// (`target`, `headers`; sent as GET) and as keyed (the session's request).
FillRequest fillRequestFor(const cache::LookupSession& session, const cache::InvalidationBacklog& backlog,
                           std::string target, const http::HeaderMap& headers);

// What a FillFetch borrows from its worker; all outlive FillFetches.
struct FillFetchContext {
  net::Loop& loop;
  net::CrossThreadQueue& queue;
  upstream::Pool& pool;
  cache::Store& store;
  cache::Coalescer& coalescer;
  cache::VaryMemo& vary_memo;
  cache::SurrogateMemo& surrogate_memo;
  cache::FillLock* fill_lock = nullptr;  // null: no distributed lock
};

class FillFetch final : public upstream::ResponseHandler {
 public:
  FillFetch(FillFetches& owner, FillFetchContext& context, FillRequest request);
  // Cancels the upstream request, releases a held lock, and abandons an
  // unfinished fill: its readers fetch for themselves.
  ~FillFetch() override;
  FillFetch(const FillFetch&) = delete;
  FillFetch& operator=(const FillFetch&) = delete;

  // May end the fetch before it returns (an upstream that fails at once):
  // its owner then destroys it on a later turn.
  void start();

 private:
  // upstream::ResponseHandler
  void onUpstreamInterim(const http::ResponseHead& head) override;
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(upstream::UpstreamError error) override;

  void lockFill();
  void onLockStep(LockWait::Step step);
  void lookUpAgain();
  void onLookedUpAgain(cache::LookupResult&& result);
  std::optional<cache::Entry> validEntry(cache::EntryBytes&& bytes,
                                         const std::vector<std::optional<std::string>>& versions) const;
  void fetchAfterLock();
  void fetch();
  void rekeyForVary(const http::ResponseHead& head);
  void watchFill();
  void onFillActivity();
  // Stops everything in flight and hands this fetch back to its owner,
  // which destroys it on a later turn (net::Graveyard): callable from
  // inside any of its callbacks, and idempotent.
  void done();
  // The lock wait is over: destroyed on a later turn, never inside its own
  // callback.
  void endLockWait();

  FillFetches& owner_;
  FillFetchContext& context_;
  FillRequest request_;
  const bool refresh_;  // no reader from the start: a background refresh
  std::unique_ptr<Capture> capture_;
  std::unique_ptr<LockWait> lock_wait_;
  cache::Pending lookup_;
  std::unique_ptr<upstream::UpstreamRequest> upstream_;
  base::WallTime request_time_;
  std::optional<http::HeaderMap> not_modified_;                // the upstream's 304 fields
  std::optional<std::vector<std::string>> not_modified_keys_;  // the 304's surrogate keys
  bool paused_ = false;   // a private answer waits for its reader
  bool finished_ = false;
  net::LivenessToken liveness_;  // last member: dies first
};

// A worker's fetches for the cache. Destroying it cancels them all.
class FillFetches {
 public:
  explicit FillFetches(FillFetchContext context);
  ~FillFetches();

  // Starts a fetch; `request.slot.fill` must be a fill this fetch leads.
  void start(FillRequest request);
  size_t size() const { return fetches_.size(); }

  // For FillFetch: `fetch` has stopped; destroyed on a later turn, as is
  // what it hands over with retire().
  void finished(FillFetch& fetch);
  void retire(std::unique_ptr<LockWait> wait) { retired_.bury(std::move(wait)); }

 private:
  FillFetchContext context_;
  std::unordered_map<FillFetch*, std::unique_ptr<FillFetch>> fetches_;
  // Ended fetches and lock waits until a later turn. Declared last, so
  // destroyed first: a buried fetch still borrows context_.
  net::Graveyard retired_;
};

}  // namespace larder::proxy
