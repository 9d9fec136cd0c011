#include "proxy/capture.h"

#include "base/log.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
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
    *lookup = store.lookup(std::move(version_keys), refused->key,
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

}  // namespace

Capture::Capture(cache::Store& store, cache::Coalescer& coalescer)
    : store_(store), coalescer_(coalescer) {}

Capture::~Capture() { abandon(); }

bool Capture::begin(std::string_view upstream_method, const http::HeaderMap& request_headers,
                    const http::ResponseHead& head, base::WallTime request_time) {
  const config::Config& config = *slot_.config;
  std::optional<uint64_t> length;
  if (head.framing == http::BodyFraming::kContentLength) length = head.content_length;
  auto decision = cache::decideStore(*slot_.route, upstream_method, request_headers, head.status,
                                     head.headers, length, config.cache.max_object_size,
                                     base::WallClock::now(), slot_.extra_vary);
  if (!decision.store) {
    LOG_DEBUG("not storing {}: {}", slot_.entry_key, decision.reason);
    recordStoreRejected(decision.reason);
    abandon();
    return false;
  }
  active_ = true;
  entry_ = cache::Entry{};
  entry_.status = head.status;
  entry_.reason = head.reason;
  entry_.headers = cache::storableHeaders(head.headers, config.cache.status_header);
  entry_.stored_at = request_time;
  entry_.ttl = decision.ttl;
  entry_.initial_age_seconds = decision.initial_age_seconds;
  keep_ = decision.keep;
  entry_.identity = slot_.identity;
  if (length) entry_.body.reserve(*length);
  if (slot_.fill) slot_.fill->publishHead({entry_.status, entry_.reason, entry_.headers, length});
  return true;
}

bool Capture::append(std::string_view data) {
  if (!active_) return false;
  if (entry_.body.size() + data.size() > slot_.config->cache.max_object_size) {
    recordStoreRejected("too_big");
    abandon();
    return false;
  }
  entry_.body.append(data);
  if (slot_.fill) slot_.fill->publishBody(data);
  return true;
}

void Capture::commit() {
  if (!active_) return;
  active_ = false;
  store(entry_);
  std::string().swap(entry_.body);
}

cache::Entry Capture::renew(cache::Entry stale, const http::HeaderMap& not_modified_headers,
                            const http::HeaderMap& request_headers, base::WallTime request_time) {
  cache::mergeNotModified(stale.headers, not_modified_headers);
  http::ResponseHead head;
  head.status = stale.status;
  head.reason = stale.reason;
  head.headers = stale.headers;
  head.framing = http::BodyFraming::kContentLength;
  head.content_length = stale.body.size();
  if (begin("GET", request_headers, head, request_time)) {
    append(stale.body);
    if (active_) {
      active_ = false;
      store(entry_);
      entry_.versions.clear();
      return std::move(entry_);
    }
  }
  // Not storable any more (e.g. now no-store): still the answer for this request.
  stale.stored_at = request_time;
  return stale;
}

void Capture::store(cache::Entry& entry) {
  const config::Config& config = *slot_.config;
  auto keep = std::max(keep_, cache::retention(entry.headers, entry.ttl, *slot_.route, config.cache));
  cache::InsertRequest insert = cache::buildVersionedInsert(
      slot_.entry_key, entry, slot_.version_keys, slot_.seen_versions, keep);
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
  insertAdoptingCreated(store_, std::move(insert), std::move(on_stored));
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
  previous.fill->abandon();
  coalescer_.forget(previous.key, previous.fill);
}

void Capture::holdLock(cache::FillLock& lock, cache::LockName name, std::string token) {
  lock_ = HeldLock{&lock, std::move(name), std::move(token)};
}

void Capture::shareStored(const cache::Entry& entry, base::WallTime now) {
  active_ = false;
  if (!slot_.fill) return;
  http::HeaderMap headers = entry.headers;
  headers.set("Age", std::to_string(cache::currentAge(entry.stored_at, entry.initial_age_seconds, now)));
  slot_.fill->publishHead({entry.status, entry.reason, std::move(headers), entry.body.size()});
  slot_.fill->publishBody(entry.body);
  slot_.fill->complete();
  coalescer_.retire(slot_.fill_key, slot_.fill, base::monoMillis());
  slot_.fill.reset();
}

void Capture::abandon() {
  active_ = false;
  std::string().swap(entry_.body);
  if (lock_) {
    lock_->lock->release(lock_->name, lock_->token, cache::FillEnd::kAbandoned);
    lock_.reset();
  }
  if (slot_.fill) {
    slot_.fill->abandon();
    coalescer_.forget(slot_.fill_key, slot_.fill);
    slot_.fill.reset();
  }
}

}  // namespace larder::proxy
