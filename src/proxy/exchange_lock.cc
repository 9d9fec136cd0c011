// The distributed fill lock: before it goes upstream, a fill's leader checks
// with the other instances sharing the store (DESIGN invariant 9;
// cache/fill_lock.h has the model, proxy/lock_wait.h the waiting). The
// leader keeps leading its in-process fill throughout, so this process's
// other misses stay coalesced behind it whatever the lock decides.
#include "cache/policy.h"
#include "proxy/exchange.h"

namespace larder::proxy {

bool Exchange::useFillLock() const {
  // BYPASS: the store did not answer this request's lookup; the lock lives
  // there too. Such fills coalesce in this process only (invariant 5).
  return context_.fill_lock != nullptr && config_->cache.distributed_lock.enabled &&
         cache_status_ != CacheVerdict::kBypass;
}

void Exchange::lockFill() {
  setState(ExchangeState::kAwaitingLock);
  if (capture_ && capture_->slot().fill) capture_->slot().fill->holdWaiters();
  const config::CacheConfig& cache = config_->cache;
  lock_wait_ = std::make_unique<LockWait>(
      *context_.fill_lock, context_.loop, cache::lockName(cache.key_prefix, fill_key_),
      cache.distributed_lock.ttl, base::MonoClock::now() + cache.lock_timeout,
      [this](LockWait::Step step) { onLockStep(step); });
  lock_wait_->start();
}

void Exchange::onLockStep(LockWait::Step step) {
  // A won lock looks up once more too: its previous owner may have stored
  // the entry and released the lock after this request's lookup ran.
  if (step == LockWait::Step::kLookUp || lock_wait_->isHeld()) {
    lookUpAgain();
    return;
  }
  fetchAfterLock();
}

void Exchange::lookUpAgain() {
  lookup_ = context_.store.lookup(version_keys_, entry_key_, [this](cache::LookupResult&& result) {
    onLookedUpAgain(std::move(result));
  });
}

void Exchange::onLookedUpAgain(cache::LookupResult&& result) {
  lookup_ = cache::Pending();
  std::optional<cache::Entry> entry;
  if (result.status == cache::StoreStatus::kOk) {
    result.versions.resize(version_keys_.size());
    entry = validEntry(result.entry, result.versions);
  }
  const base::WallTime now = base::WallClock::now();
  // A fresh entry, and not the one this request found already (a client's
  // honoured no-cache wants one fetched after that).
  if (entry && cache::isFresh(entry->stored_at, entry->ttl, now) &&
      !(stale_entry_ && stale_entry_->stored_at == entry->stored_at)) {
    // Held (the double check after winning): waiters elsewhere find it too.
    lock_wait_->release(cache::FillEnd::kStored);
    lock_wait_.reset();
    capture_->shareStored(*entry, now);
    capture_.reset();
    serveEntry(std::move(*entry), CacheVerdict::kHit);
    return;
  }
  if (result.status != cache::StoreStatus::kOk || lock_wait_->isHeld()) {
    fetchAfterLock();
    return;
  }
  lock_wait_->start();  // still cold: try the lock again
}

void Exchange::fetchAfterLock() {
  if (lock_wait_->isHeld() && capture_) {
    // From here the capture releases it: after the store has the entry.
    LockWait::Held held = lock_wait_->takeHeld();
    capture_->holdLock(*context_.fill_lock, std::move(held.name), std::move(held.token));
  }
  lock_wait_.reset();
  // The local waiters' lock_timeout covers the wait for this fetch; the
  // wait for the lock was this leader's to bound.
  if (capture_ && capture_->slot().fill) capture_->slot().fill->restartWait();
  proceedUpstream();
}

}  // namespace larder::proxy
