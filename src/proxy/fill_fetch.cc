#include "proxy/fill_fetch.h"

#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/key.h"
#include "cache/lookup_session.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/stored_coding.h"
#include "cache/versioned_insert.h"
#include "http/hop_by_hop.h"
#include "http/serializer.h"
#include "proxy/local_reply.h"

namespace larder::proxy {

// One per miss, like the Exchange: kept in glibc's per-thread malloc cache
// (blocks up to 1032 bytes; see the static_assert in proxy/exchange.cc).
static_assert(sizeof(FillFetch) <= 1024, "keep FillFetch in glibc's tcache size range");

CacheSlot slotFor(const cache::LookupSession& session, const cache::InvalidationBacklog& backlog) {
  CacheSlot slot;
  slot.config = session.request().config;
  slot.route = session.request().route;
  slot.entry_key = session.entryKey();
  slot.identity = session.identity();
  slot.version_keys = session.versionKeys();
  slot.seen_versions = session.seenVersions();
  slot.base_versions = session.baseVersions();
  slot.lookup_epoch = session.lookupEpoch();
  slot.backlog = &backlog;
  slot.fill_key = session.fillKey();
  slot.extra_vary = session.varyNames();
  return slot;
}

FillRequest fillRequestFor(const cache::LookupSession& session, const cache::InvalidationBacklog& backlog,
                           std::string target, const http::HeaderMap& headers) {
  FillRequest fetch;
  fetch.slot = slotFor(session, backlog);
  fetch.request.method = "GET";
  fetch.request.target = std::move(target);
  fetch.request.version_minor = 1;
  fetch.request.headers = headers;
  fetch.primary_key = session.primaryKey();
  fetch.keyed_method = session.request().method;
  fetch.host = session.request().host;
  fetch.target = session.request().target;
  fetch.principal = session.principal().value_or("");
  fetch.unavailable = session.isStoreUnavailable();
  return fetch;
}

FillFetch::FillFetch(FillFetches& owner, FillFetchContext& context, FillRequest request)
    : owner_(owner),
      context_(context),
      request_(std::move(request)),
      refresh_(request_.first_reader == 0),
      capture_(std::make_unique<Capture>(context.store, context.coalescer)) {
  capture_->setFirstReader(request_.first_reader);
  capture_->setSlot(request_.slot);
  request_.slot.fill.reset();  // the capture leads it from here
}

FillFetch::~FillFetch() {
  // The hook posts with our liveness token, which dies with us; cleared
  // anyway so the fill holds nothing of ours.
  if (capture_ && capture_->slot().fill) capture_->slot().fill->setActivityHook(nullptr);
}

void FillFetch::start() {
  watchFill();
  if (request_.use_lock && context_.fill_lock != nullptr) {
    lockFill();
    return;
  }
  fetch();
}

// Readers on any worker reach this fetch through the fill's hook: posted to
// this worker's loop, dropped if the fetch is gone by then.
void FillFetch::watchFill() {
  const std::shared_ptr<cache::Fill>& fill = capture_->slot().fill;
  if (!fill) return;
  fill->setActivityHook([queue = context_.queue.sender(), owner = liveness_.ref(), this] {
    queue.post(owner, [this] { onFillActivity(); });
  });
}

void FillFetch::onFillActivity() {
  const std::shared_ptr<cache::Fill>& fill = capture_->slot().fill;
  if (!fill) return;
  if (request_.first_reader != 0 && !fill->hasWaiter(request_.first_reader) &&
      fill->state() != cache::Fill::State::kComplete) {
    // The request that caused this fetch left before its answer was
    // complete; the fetch goes on for the store and the other readers.
    LOG_DEBUG("the request that caused the fetch of {} left; fetching on", request_.request.target);
    base::metrics::fills_adopted.inc();
    request_.first_reader = 0;
    capture_->setFirstReader(0);
  }
  // An answer that is not stored and that nobody reads any more is not
  // worth fetching (a storable one, or one whose head is still unknown, is
  // finished for the store).
  if (fill->waiterCount() == 0 && capture_->isSharing() && !capture_->isActive()) {
    LOG_DEBUG("cancelling the fetch of {}: not stored, and no reader left", request_.request.target);
    capture_->abandon();
    done();
    return;
  }
  if (paused_ && upstream_ && fill->bufferedBytes() < capture_->sharedWindow() / 2) {
    paused_ = false;
    upstream_->resumeReading();
  }
}

// The distributed fill lock (cache/fill_lock.h, proxy/lock_wait.h): before
// going upstream, check with the other instances sharing the store. The
// fill is led throughout, so this process's other misses stay coalesced
// behind it whatever the lock decides.
void FillFetch::lockFill() {
  if (capture_->slot().fill) capture_->slot().fill->holdWaiters();
  const config::CacheConfig& cache = request_.slot.config->cache;
  lock_wait_ = std::make_unique<LockWait>(
      *context_.fill_lock, context_.loop, cache::lockName(cache.key_prefix, request_.slot.fill_key),
      cache.distributed_lock.ttl, base::MonoClock::now() + cache.lock_timeout,
      [this](LockWait::Step step) { onLockStep(step); });
  lock_wait_->start();
}

void FillFetch::onLockStep(LockWait::Step step) {
  // A won lock looks up once more too: its previous owner may have stored
  // the entry and released the lock after this request's lookup ran.
  if (step == LockWait::Step::kLookUp || lock_wait_->isHeld()) {
    lookUpAgain();
    return;
  }
  fetchAfterLock();
}

void FillFetch::lookUpAgain() {
  const CacheSlot& slot = capture_->slot();
  lookup_ = context_.store.lookup(slot.version_keys, slot.entry_key, [this](cache::LookupResult&& result) {
    onLookedUpAgain(std::move(result));
  });
}

void FillFetch::onLookedUpAgain(cache::LookupResult&& result) {
  lookup_ = cache::Pending();
  std::optional<cache::Entry> entry;
  if (result.status == cache::StoreStatus::kOk) {
    result.versions.resize(capture_->slot().version_keys.size());
    entry = validEntry(std::move(result.entry), result.versions);
  }
  const base::WallTime now = base::WallClock::now();
  // A fresh entry, and not the one the first reader found already (a
  // client's honoured no-cache wants one fetched after that).
  if (entry && cache::isFresh(entry->stored_at, entry->ttl, now) &&
      !(request_.stale && request_.stale->stored_at == entry->stored_at)) {
    // Held (the double check after winning): waiters elsewhere find it too.
    lock_wait_->release(cache::FillEnd::kStored);
    endLockWait();
    capture_->shareStored(*entry, now);
    done();
    return;
  }
  if (result.status != cache::StoreStatus::kOk || lock_wait_->isHeld()) {
    fetchAfterLock();
    return;
  }
  lock_wait_->start();  // still cold: try the lock again
}

// The stored entry if it answers this fill under `versions` (one per version
// key, as looked up). DESIGN invariant 7: the full identity decides; 3: every
// namespace must still hold the token it was fetched under. One naming
// surrogate keys this lookup did not read is not vouched for: fetched.
std::optional<cache::Entry> FillFetch::validEntry(cache::EntryBytes&& bytes,
                                                  const std::vector<std::optional<std::string>>& versions) const {
  if (!bytes) return std::nullopt;
  const CacheSlot& slot = capture_->slot();
  std::optional<cache::Entry> entry = cache::decodeEntryBytes(std::move(bytes));
  std::vector<std::string> unread;
  if (!entry || entry->identity != slot.identity ||
      !cache::recordedVersionsHold(*entry, slot.version_keys, versions, slot.base_versions, unread) ||
      !unread.empty())
    return std::nullopt;
  return entry;
}

void FillFetch::fetchAfterLock() {
  if (lock_wait_->isHeld()) {
    // From here the capture releases it: after the store has the entry.
    LockWait::Held held = lock_wait_->takeHeld();
    capture_->holdLock(*context_.fill_lock, std::move(held.name), std::move(held.token));
  }
  endLockWait();  // from inside its own step, often
  // The local waiters' lock_timeout covers the wait for this fetch; the
  // wait for the lock was this fetch's to bound.
  if (capture_->slot().fill) capture_->slot().fill->restartWait();
  fetch();
}

void FillFetch::fetch() {
  request_time_ = base::WallClock::now();
  // A fill fetches the whole answer: it is stored, and shared with requests
  // that asked for other ranges or none (http/range.h). A stale entry's
  // validators go on a copy; the readers' own conditional fields decide
  // what each of them gets.
  http::HeaderMap headers = request_.request.headers;
  headers.remove("Range");
  headers.remove("If-Range");
  if (request_.stale && cache::hasValidators(request_.stale->headers))
    cache::setUpstreamValidators(*request_.stale, headers);
  else
    request_.stale.reset();  // without validators it can only be replaced
  upstream::OutgoingRequest out;
  out.method = "GET";  // a HEAD miss is fetched as GET, so it fills the cache
  out.retryable = true;
  out.head.reserve(512);
  http::appendRequestHead("GET", request_.request.target, headers, out.head);
  upstream_ = context_.pool.start(std::move(out), *this);
}

void FillFetch::onUpstreamInterim(const http::ResponseHead& head) {
  if (head.status == 100 || !capture_->slot().fill) return;
  http::HeaderMap headers = head.headers;
  http::removeHopByHop(headers);
  capture_->slot().fill->publishInterim({head.status, head.reason, std::move(headers), std::nullopt, {}, {}});
}

void FillFetch::onUpstreamHead(http::ResponseHead& head) {
  capture_->setUpstreamLatency(upstream_->headLatency());
  http::removeHopByHop(head.headers);
  const config::CacheConfig& cache = request_.slot.config->cache;
  auto keys = cache::takeSurrogateKeys(head.headers, cache.key_prefix, cache.surrogate_keys);
  if (head.status == 304 && request_.stale) {
    // The stored body is still good: renewed once the 304 completes.
    not_modified_ = std::move(head.headers);
    if (keys) not_modified_keys_ = std::move(keys->version_keys);
    return;
  }
  if (head.status >= 500 && refresh_) {
    // A background refresh keeps the stale entry rather than store an error.
    capture_->abandon();
    done();
    return;
  }
  rekeyForVary(head);
  std::vector<std::string> answer_keys = keys ? std::move(keys->version_keys) : std::vector<std::string>{};
  if (capture_->begin("GET", request_.request.headers, head, request_time_, answer_keys)) {
    // The next lookup of this entry reads them at once (one round trip).
    context_.surrogate_memo.remember(capture_->slot().entry_key, std::move(answer_keys));
    return;
  }
  if (!capture_->isSharing()) done();  // refused, and nobody to stream it to
}

// The answer varies on other fields than the key had (RFC 9111 §4.1): learn
// them, and capture the answer under the first reader's variant. Order
// matters across workers: lead the variant's fill first, then publish the
// Vary, then release the old fill's readers (they look up again and find
// this fetch, or their own variant).
void FillFetch::rekeyForVary(const http::ResponseHead& head) {
  const CacheSlot& slot = capture_->slot();
  std::vector<std::string> names = cache::unkeyedVaryNames(head.headers, *slot.route);
  if (names == slot.extra_vary || (names.size() == 1 && names[0] == "*")) return;
  const config::Config& config = *slot.config;
  cache::RequestIdentity identity =
      cache::buildIdentity(request_.keyed_method, request_.host, request_.target, *slot.route,
                           request_.request.headers, request_.principal, names);
  std::string entry_key = cache::entryKey(config.cache.key_prefix, identity);
  std::string fill_key = cache::fillKeyFor(entry_key, request_.unavailable, slot.version_keys, slot.seen_versions,
                                           slot.base_versions);
  if (slot.fill) slot.fill->setActivityHook(nullptr);
  auto previous = capture_->rekey(std::move(entry_key), identity.serialize(), std::move(fill_key), names);
  context_.vary_memo.remember(request_.primary_key, std::move(names));
  // The first reader follows this fetch to its variant's fill; the other
  // readers look up again.
  capture_->releaseFill(std::move(previous));
  request_.first_reader = capture_->firstReader();
  watchFill();
}

void FillFetch::onUpstreamBody(std::string_view data) {
  if (data.empty() || not_modified_) return;
  capture_->append(data);
  if (!capture_->isSharing()) {
    done();  // too big and nobody reading: cancelled
    return;
  }
  // A private answer's one reader paces it (Fill::publishHeadTo).
  const std::shared_ptr<cache::Fill>& fill = capture_->slot().fill;
  if (!capture_->isActive() && fill && fill->isPrivate() && !paused_ &&
      fill->bufferedBytes() > capture_->sharedWindow()) {
    paused_ = true;
    upstream_->pauseReading();
  }
}

void FillFetch::onUpstreamComplete() {
  if (not_modified_) {
    capture_->renew(std::move(*request_.stale), *not_modified_, std::move(not_modified_keys_),
                    request_.request.headers, request_time_);
  } else {
    capture_->commit();
  }
  done();
}

void FillFetch::onUpstreamError(upstream::UpstreamError error) {
  LOG_INFO("fetch of {} for the cache failed: {}", request_.request.target, upstream::toString(error));
  // Readers that have nothing yet answer 502 or 504 (the one that caused
  // the fetch) or fetch for themselves; the others are cut.
  capture_->abandon(statusFor(error));
  done();
}

void FillFetch::done() {
  if (finished_) return;
  finished_ = true;
  // Inert from here: no fill activity, lock step, lookup or upstream
  // callback reaches it again (the upstream request may be destroyed from
  // inside its own callbacks, upstream/upstream_request.h).
  liveness_.revoke();
  if (capture_ && capture_->slot().fill) capture_->slot().fill->setActivityHook(nullptr);
  lookup_.cancel();
  endLockWait();
  upstream_.reset();
  owner_.finished(*this);  // destroys this fetch on a later turn
}

void FillFetch::endLockWait() {
  if (!lock_wait_) return;
  lock_wait_->stop();  // a lock still held (none claimed) is released as abandoned
  owner_.retire(std::move(lock_wait_));
}

FillFetches::FillFetches(FillFetchContext context) : context_(context), retired_(context_.loop) {}

FillFetches::~FillFetches() = default;

void FillFetches::start(FillRequest request) {
  auto fetch = std::make_unique<FillFetch>(*this, context_, std::move(request));
  FillFetch& ref = *fetch;
  fetches_.emplace(&ref, std::move(fetch));
  ref.start();
}

void FillFetches::finished(FillFetch& fetch) {
  auto found = fetches_.find(&fetch);
  if (found == fetches_.end()) return;
  retired_.bury(std::move(found->second));
  fetches_.erase(found);
}

}  // namespace larder::proxy
