#include "proxy/capture.h"

#include <algorithm>

#include "base/assert.h"
#include "base/log.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/store_decisions.h"
#include "cache/stored_coding.h"
#include "cache/versioned_insert.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {
namespace {

// Inserts; when refused only because a concurrent first fill created a
// version key before us, adopts that token and inserts once more
// (cache::adoptCreatedVersions). Without this, every cold namespace would
// keep just one of the entries filled into it at once.
void insertAdoptingCreated(cache::Store& store, cache::InsertRequest insert,
                           cache::Store::InsertCallback on_done) {
  if (!cache::createsVersions(insert)) {
    store.insert(std::move(insert), std::move(on_done));
    return;
  }
  auto refused = std::make_shared<const cache::InsertRequest>(insert);
  auto retry = [&store, refused, on_done = std::move(on_done)](cache::InsertOutcome outcome) mutable {
    if (outcome != cache::InsertOutcome::kVersionChanged) {
      if (on_done) on_done(outcome);
      return;
    }
    std::vector<std::string> version_keys;
    for (const auto& expected : refused->versions) version_keys.push_back(expected.key);
    // The callback owns its Pending: nothing else outlives the insert.
    auto lookup = std::make_shared<cache::Pending>();
    *lookup = store.lookup(std::move(version_keys), "",
                           [&store, refused, lookup, on_done = std::move(on_done)](cache::LookupResult&& now) {
      std::optional<cache::InsertRequest> adopted;
      if (now.status == cache::StoreStatus::kOk) adopted = cache::adoptCreatedVersions(*refused, now.versions);
      if (adopted) {
        store.insert(std::move(*adopted), on_done);
      } else if (on_done) {
        on_done(cache::InsertOutcome::kVersionChanged);
      }
    });
  };
  store.insert(std::move(insert), std::move(retry));
}

// What an entry needs once the surrogate keys it alone names are read.
struct UnreadInsert {
  cache::Entry entry;
  std::string entry_key;
  std::vector<std::string> read_keys;
  std::vector<std::optional<std::string>> read_seen;
  size_t base_versions = 0;
  std::optional<uint64_t> lookup_epoch;
  std::vector<std::string> answer_keys;
  std::chrono::milliseconds keep{0};
  uint32_t route_slot = 0;  // config::Route::metric_slot (the route may be reloaded away)
};

// The answer named version keys its lookup did not read: reads them (one
// more round trip, after the client has its answer), and stores the entry
// only if none was written after the lookup (cache/versioned_insert.h).
void insertAfterReading(cache::Store& store, std::vector<std::string> unread, UnreadInsert job,
                        cache::Store::InsertCallback on_done) {
  // The callback owns its Pending: nothing else outlives the read.
  auto lookup = std::make_shared<cache::Pending>();
  *lookup = store.lookup(std::move(unread), "",
                         [&store, lookup, job = std::move(job), on_done = std::move(on_done)](
                             cache::LookupResult&& now) mutable {
    std::optional<cache::EntryVersions> versions;
    if (now.status == cache::StoreStatus::kOk) {
      versions = cache::entryVersions(job.read_keys, job.read_seen, job.base_versions, job.answer_keys,
                                      now.versions, job.lookup_epoch);
    }
    if (!versions) {
      bool written = now.status == cache::StoreStatus::kOk;
      if (written) {
        LOG_DEBUG("not storing {}: a surrogate key was invalidated during the fetch", job.entry_key);
        recordStoreRejected("written_during_fetch", job.route_slot);
      }
      if (on_done) on_done(written ? cache::InsertOutcome::kVersionChanged : cache::InsertOutcome::kUnavailable);
      return;
    }
    insertAdoptingCreated(store, cache::buildVersionedInsert(job.entry_key, job.entry, versions->keys,
                                                             versions->seen, job.keep),
                          std::move(on_done));
  });
}

}  // namespace

Capture::Capture(cache::Store& store, cache::Coalescer& coalescer)
    : store_(store), coalescer_(coalescer) {}

Capture::~Capture() { abandon(); }

bool Capture::begin(std::string_view upstream_method, const http::HeaderMap& request_headers,
                    const http::ResponseHead& head, base::WallTime request_time,
                    std::vector<std::string> surrogate_keys) {
  const config::Config& config = *slot_.config;
  std::optional<uint64_t> length;
  if (head.framing == http::BodyFraming::kContentLength) length = head.content_length;
  auto decision = cache::decideStore(*slot_.route, upstream_method, request_headers, head.status,
                                     head.headers, length, config.cache, base::WallClock::now(),
                                     slot_.extra_vary);
  cache::rememberStoreDecision(slot_.entry_key, decision.reason, head.status);  // for `larder explain`
  if (!decision.store) {
    LOG_DEBUG("not storing {}: {}", slot_.entry_key, decision.reason);
    refusal_ = decision.reason;
    recordStoreRejected(decision.reason, slot_.route);
    refuse(head, length);
    return false;
  }
  if (slot_.backlog != nullptr && slot_.backlog->isPending(surrogate_keys)) {
    // DESIGN invariant 5: a write to one of its namespaces has not reached
    // the store yet, so the store cannot refuse an entry from before it.
    LOG_DEBUG("not storing {}: an invalidation of its surrogate keys is pending", slot_.entry_key);
    refusal_ = "invalidation_pending";
    cache::rememberStoreDecision(slot_.entry_key, refusal_, head.status);
    recordStoreRejected("invalidation_pending", slot_.route);
    refuse(head, length);
    return false;
  }
  active_ = true;
  surrogate_keys_ = std::move(surrogate_keys);
  entry_ = cache::Entry{};
  entry_.status = head.status;
  entry_.reason = head.reason;
  entry_.headers = cache::storableHeaders(head.headers, config.cache.status_header);
  entry_.stored_at = request_time;
  entry_.ttl = decision.ttl;
  entry_.initial_age_seconds = decision.initial_age_seconds;
  keep_ = decision.keep;
  entry_.identity = slot_.identity;
  if (length) entry_.body.own().reserve(*length);
  if (slot_.fill && !renewing_) {
    cache::Fill::Head published{entry_.status, entry_.reason, entry_.headers, length, surrogate_keys_,
                                slot_.lookup_epoch};
    published.stored = true;
    published.upstream_latency = upstream_latency_;
    slot_.fill->publishHead(std::move(published));
  }
  return true;
}

// Not stored: the fill is not shared. The reader that caused the fetch
// still gets this answer, alone (its own request, had there been no cache);
// every other waiter fetches for itself, as nginx's proxy_cache_lock does.
void Capture::refuse(const http::ResponseHead& head, std::optional<uint64_t> length) {
  if (!slot_.fill || first_reader_ == 0 || !slot_.fill->hasWaiter(first_reader_)) {
    abandon();
    return;
  }
  active_ = false;
  unstored_ = true;
  releaseLock();
  coalescer_.forget(slot_.fill_key, slot_.fill);
  cache::Fill::Head published{head.status, head.reason, head.headers, length, {}, slot_.lookup_epoch};
  published.upstream_latency = upstream_latency_;
  published.refusal = refusal_;
  slot_.fill->publishHeadTo(std::move(published), first_reader_);
}

bool Capture::append(std::string_view data) {
  if (unstored_) {
    slot_.fill->publishBody(data);
    return false;
  }
  if (!active_) return false;
  const size_t max_object_size = slot_.config->cache.max_object_size;
  if (entry_.body.size() + data.size() > max_object_size) {
    recordStoreRejected("too_big", slot_.route);
    cache::rememberStoreDecision(slot_.entry_key, "too_big", entry_.status);
    if (!slot_.fill || slot_.fill->waiterCount() == 0) {
      abandon();
      return false;
    }
    // Readers have the head: they get the rest through a bounded window
    // (memory stays bounded, DESIGN invariant 8).
    // New misses start afresh: the answer's beginning is gone.
    LOG_DEBUG("not storing {}: past max_object_size; streaming on to {} reader(s)", slot_.entry_key,
              slot_.fill->waiterCount());
    active_ = false;
    unstored_ = true;
    entry_.body.clear();
    releaseLock();
    coalescer_.forget(slot_.fill_key, slot_.fill);
    slot_.fill->keepWindow(sharedWindow());
    slot_.fill->publishBody(data);
    return false;
  }
  entry_.body.own().append(data);
  if (slot_.fill) slot_.fill->publishBody(data);
  return true;
}

void Capture::commit() {
  if (unstored_) {
    unstored_ = false;
    slot_.fill->complete();
    slot_.fill.reset();
    return;
  }
  if (!active_) return;
  active_ = false;
  store(entry_);
  entry_.body.clear();
}

cache::Entry Capture::renew(cache::Entry stale, const http::HeaderMap& not_modified_headers,
                            std::optional<std::vector<std::string>> surrogate_keys,
                            const http::HeaderMap& request_headers, base::WallTime request_time) {
  if (!surrogate_keys) {
    // The stored keys beyond the route's (their field may have been stripped).
    surrogate_keys.emplace();
    for (size_t i = slot_.base_versions; i < stale.versions.size(); ++i)
      surrogate_keys->push_back(stale.versions[i].first);
  }
  if (stale.coded_here) {
    // Renewed from its identity form, as the upstream sent it: the fill's
    // readers expect that, decideStore judges the upstream's own Vary, and
    // the store codes it again (cache/stored_coding.h).
    cache::removeAddedVary(stale, stale.headers);
    const cache::DecodeError error = cache::toIdentityForm(stale, slot_.config->cache.max_object_size);
    recordDecode(cache::toString(error));
    if (error != cache::DecodeError::kNone) {
      abandon();
      return stale;  // not served either (Exchange::readyForm)
    }
  }
  cache::mergeNotModified(stale.headers, not_modified_headers);
  http::ResponseHead head;
  head.status = stale.status;
  head.reason = stale.reason;
  head.headers = stale.headers;
  head.framing = http::BodyFraming::kContentLength;
  head.content_length = stale.body.size();
  renewing_ = true;
  const bool storing = begin("GET", request_headers, head, request_time, std::move(*surrogate_keys));
  renewing_ = false;
  if (storing) {
    // An upstream-coded body, checked when it was stored.
    entry_.decoded_length = stale.decoded_length;
    entry_.body = stale.body;
    active_ = false;
    // The fill's readers get the renewed answer; the one that caused the
    // fetch serves it as an entry (Fill::Head::entry).
    auto renewed = std::make_shared<const cache::Entry>(entry_);
    if (slot_.fill) {
      cache::Fill::Head published{renewed->status, renewed->reason, renewed->headers, renewed->body.size(),
                                  surrogate_keys_, slot_.lookup_epoch};
      published.stored = true;
      published.entry = renewed;
      published.revalidated = true;
      slot_.fill->publishHead(std::move(published));
      slot_.fill->publishBody(renewed->body);
    }
    store(entry_);
    entry_.body.clear();
    return *renewed;
  }
  // Not storable any more (e.g. now no-store): still the answer for the
  // reader that caused the fetch (published to it alone by begin()).
  stale.stored_at = request_time;
  if (unstored_) {
    slot_.fill->publishBody(stale.body);
    commit();
  }
  return stale;
}

void Capture::store(cache::Entry& entry) {
  const config::Config& config = *slot_.config;
  // Compressed, or an upstream-coded body checked to decode within
  // max_object_size (cache/stored_coding.h); the fill's readers had the
  // answer as it came.
  const uint64_t uncompressed = entry.body.size();
  cache::StoreCodingResult coded = cache::codeForStore(entry, config.cache);
  if (!coded.store) {
    LOG_DEBUG("not storing {}: {}", slot_.entry_key, coded.refusal);
    refusal_ = coded.refusal;
    recordStoreRejected(coded.refusal, slot_.route);
    cache::rememberStoreDecision(slot_.entry_key, refusal_, entry.status);
    if (slot_.fill) {
      slot_.fill->complete();
      coalescer_.forget(slot_.fill_key, slot_.fill);
      slot_.fill.reset();
    }
    releaseLock();
    return;
  }
  recordStoredBytes(entry.body.size(), coded.compressed ? uncompressed : entry.decoded_length.value_or(uncompressed));
  auto keep = std::max(keep_, cache::retention(entry.headers, entry.ttl, *slot_.route, config.cache));
  cache::Store::InsertCallback on_stored;
  std::shared_ptr<cache::Fill> fill = std::move(slot_.fill);
  if (fill) fill->complete();
  std::optional<HeldLock> lock = std::exchange(lock_, std::nullopt);
  if (fill || lock) {
    // The completed fill keeps answering new misses until the entry is in
    // the store, so no second fetch slips in between (DESIGN invariant 9);
    // for the same reason the lock is released only then, and its notice
    // sends other instances' waiters to an entry that is there.
    on_stored = [coalescer = &coalescer_, key = slot_.fill_key, fill, lock](cache::InsertOutcome outcome) {
      const bool stored = outcome == cache::InsertOutcome::kStored;
      if (fill) {
        if (stored) {
          coalescer->retire(key, fill, base::monoMillis());
        } else {
          coalescer->forget(key, fill);
        }
      }
      if (lock)
        lock->lock->release(lock->name, lock->token,
                            stored ? cache::FillEnd::kStored : cache::FillEnd::kAbandoned);
    };
  }
  // For `larder explain`: an answer decided storable that the store did not take.
  on_stored = [key = slot_.entry_key, status = entry.status,
               next = std::move(on_stored)](cache::InsertOutcome outcome) {
    if (outcome == cache::InsertOutcome::kVersionChanged) cache::rememberStoreDecision(key, "written_during_fetch", status);
    if (outcome == cache::InsertOutcome::kUnavailable) cache::rememberStoreDecision(key, "store_unavailable", status);
    if (next) next(outcome);
  };
  std::vector<std::string> unread = cache::unreadKeys(surrogate_keys_, slot_.version_keys);
  if (!unread.empty()) {
    insertAfterReading(store_, std::move(unread),
                       {entry, slot_.entry_key, slot_.version_keys, slot_.seen_versions, slot_.base_versions,
                        slot_.lookup_epoch, surrogate_keys_, keep, slot_.route->metric_slot},
                       std::move(on_stored));
    return;
  }
  auto versions = cache::entryVersions(slot_.version_keys, slot_.seen_versions, slot_.base_versions,
                                       surrogate_keys_, {}, slot_.lookup_epoch);
  if (!versions) {
    LARDER_BUG("entry versions of {} unresolved though every key was read", slot_.entry_key);
    if (on_stored) on_stored(cache::InsertOutcome::kVersionChanged);
    return;
  }
  insertAdoptingCreated(store_, cache::buildVersionedInsert(slot_.entry_key, entry, versions->keys,
                                                            versions->seen, keep),
                        std::move(on_stored));
}

Capture::PreviousFill Capture::rekey(std::string entry_key, std::string identity,
                                     std::string fill_key, std::vector<std::string> extra_vary) {
  auto joined = coalescer_.join(fill_key);
  PreviousFill previous{std::move(slot_.fill_key), std::move(slot_.fill)};
  slot_.entry_key = std::move(entry_key);
  slot_.identity = std::move(identity);
  slot_.fill_key = std::move(fill_key);
  slot_.extra_vary = std::move(extra_vary);
  slot_.fill = joined.leader ? std::move(joined.fill) : nullptr;
  return previous;
}

void Capture::releaseFill(PreviousFill previous) {
  if (!previous.fill) return;
  if (slot_.fill && first_reader_ != 0 && previous.fill->hasWaiter(first_reader_)) {
    previous.fill->abandonTo(slot_.fill, first_reader_);
  } else {
    first_reader_ = 0;
    previous.fill->abandon();
  }
  coalescer_.forget(previous.key, previous.fill);
}

void Capture::holdLock(cache::FillLock& lock, cache::LockName name, std::string token) {
  lock_ = HeldLock{&lock, std::move(name), std::move(token)};
}

void Capture::shareStored(const cache::Entry& stored, base::WallTime now) {
  active_ = false;
  if (!slot_.fill) return;
  // The fill's readers expect the answer as the upstream sends it: an entry
  // larder compressed is shared in its identity form.
  std::optional<cache::Entry> identity;
  if (stored.coded_here) {
    identity = stored;
    cache::DecodeError error = cache::toIdentityForm(*identity, slot_.config->cache.max_object_size);
    recordDecode(cache::toString(error));
    if (error != cache::DecodeError::kNone) {
      abandon();
      return;
    }
  }
  const cache::Entry& entry = identity ? *identity : stored;
  http::HeaderMap headers = entry.headers;
  headers.set("Age", std::to_string(cache::currentAge(entry.stored_at, entry.initial_age_seconds, now)));
  // The keys the entry records beyond the ones this slot read: surrogate
  // keys its answer named, which a waiter may not have read.
  std::vector<std::string> named;
  for (const auto& [key, token] : entry.versions)
    if (std::find(slot_.version_keys.begin(), slot_.version_keys.end(), key) == slot_.version_keys.end())
      named.push_back(key);
  cache::Fill::Head published{entry.status, entry.reason, std::move(headers), entry.body.size(),
                              std::move(named), slot_.lookup_epoch};
  published.entry = std::make_shared<const cache::Entry>(stored);
  slot_.fill->publishHead(std::move(published));
  slot_.fill->publishBody(entry.body);
  slot_.fill->complete();
  coalescer_.retire(slot_.fill_key, slot_.fill, base::monoMillis());
  slot_.fill.reset();
}

void Capture::releaseLock() {
  if (!lock_) return;
  lock_->lock->release(lock_->name, lock_->token, cache::FillEnd::kAbandoned);
  lock_.reset();
}

void Capture::abandon(int failed_status) {
  active_ = false;
  unstored_ = false;
  entry_.body.clear();
  releaseLock();
  if (slot_.fill) {
    if (failed_status != 0) slot_.fill->abandonFailed(failed_status);
    slot_.fill->abandon();
    coalescer_.forget(slot_.fill_key, slot_.fill);
    slot_.fill.reset();
  }
}

}  // namespace larder::proxy
