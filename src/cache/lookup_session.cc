#include "cache/lookup_session.h"

#include <algorithm>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/soft_purge.h"
#include "cache/stored_coding.h"
#include "cache/versioned_insert.h"

namespace larder::cache {

std::string_view toString(BypassReason reason) {
  switch (reason) {
    case BypassReason::kRequestBody: return "request_body";
    case BypassReason::kRequestPolicy: return "request_policy";
    case BypassReason::kInvalidationPending: return "invalidation_pending";
    case BypassReason::kStoreUnavailable: return "store_unavailable";
  }
  return "?";
}

std::string fillKeyFor(std::string_view entry_key, bool unavailable,
                       const std::vector<std::string>& version_keys,
                       const std::vector<std::optional<std::string>>& seen_versions, size_t base_versions) {
  std::string key = unavailable ? "unavailable\n" : "";
  key += entry_key;
  // Only a write's token separates fills: absent keys and keys an insert
  // created mean the same (cache/versioned_insert.h). The remaining gap: a
  // write's token evicted and re-created by an insert within one fetch.
  // Surrogate keys read in advance differ between requests: named too, so
  // requests sharing a fill read the same keys (cache::fillServesLookup).
  for (size_t i = 0; i < seen_versions.size(); ++i) {
    const auto& version = seen_versions[i];
    bool written = version && !version->starts_with(kCreatedTokenPrefix);
    key += '\n';
    if (i >= base_versions && i < version_keys.size()) {
      key += version_keys[i];
      key += '=';
    }
    key += written ? *version : std::string("-");
  }
  return key;
}

// Decodes only when the body will be sent in the identity form: a 304 and
// a client that accepts the stored coding need no decoding (a HEAD of a
// small entry does, for its Content-Length), and a large entry is decoded
// while it is sent. Idempotent: the identity form stays as it is.
std::optional<ServedForm> readyForClient(Entry& entry, const http::HeaderMap& request_headers, uint64_t limit) {
  namespace m = base::metrics;
  if (clientHasCurrent(request_headers, entry.headers)) return ServedForm::kAsStored;  // a 304: no body
  const ServedForm form = servedForm(entry, request_headers);
  if (form == ServedForm::kAsStored) return form;
  // Decoded while it is sent (proxy/exchange_cache.cc), within the limit.
  if (form == ServedForm::kDecodeWhileSending && *entry.decoded_length <= limit) return form;
  const DecodeError error = toIdentityForm(entry, limit);
  m::cache_decodes.add(m::index(error == DecodeError::kNone     ? m::DecodeResult::kOk
                                : error == DecodeError::kTooBig ? m::DecodeResult::kTooBig
                                                                : m::DecodeResult::kCorrupt),
                       1);
  if (error == DecodeError::kNone) return ServedForm::kDecodeWhole;
  LOG_WARN("stored entry {} does not decode ({}): not served", entry.identity, toString(error));
  return std::nullopt;
}

// One per read request (proxy/exchange_cache.cc). glibc's malloc serves
// blocks of up to 1032 bytes from a per-thread cache; at 1320 bytes the
// session took malloc's slow path on allocation and free (callgrind via
// bench/hit-profile: ~800 instructions per request, issue 12).
static_assert(sizeof(LookupSession) <= 1024, "keep LookupSession in glibc's tcache size range");

LookupSession::LookupSession(LookupServices services, LookupRequest&& request, Refresh&& refresh)
    : services_(services), request_(std::move(request)), refresh_(std::move(refresh)) {}

void LookupSession::lookUp(Done done) {
  done_ = std::move(done);
  lookup_ = Pending();
  checking_.reset();
  lookup_epoch_.reset();
  unavailable_ = false;
  const config::Route& route = *request_.route;
  const http::HeaderMap& headers = *request_.headers;
  // A GET or HEAD with a body (RFC 9110 §9.3.1: content without defined
  // semantics, which some APIs read anyway): forwarded with its body, but
  // the key cannot cover the body, so its answer is never stored and no
  // entry answers it.
  if (request_.has_body) {
    bypass(BypassReason::kRequestBody, toString(BypassReason::kRequestBody));
    return;
  }
  if (route.per_user) principal_ = extractPrincipal(*route.per_user, headers);
  auto decision = classifyRequest(request_.method, headers, route, principal_.has_value());
  if (!decision.use_cache) {
    bypass(BypassReason::kRequestPolicy, decision.reason);
    return;
  }
  const config::CacheConfig& cache = request_.config->cache;
  // The identity without upstream-varied fields: the primary key's, and
  // the entry's too unless the upstream is known to vary (serialized once:
  // keyFor() would build the same one again, issue 13).
  std::string identity =
      buildIdentity(request_.method, request_.host, request_.target, route, headers, principal_.value_or(""))
          .serialize();
  primary_key_ = cache::entryKeyOf(cache.key_prefix, identity);
  // Straight to this request's variant when the upstream is known to vary.
  std::vector<std::string> vary_names = services_.vary_memo.find(primary_key_);
  if (vary_names.empty()) {
    vary_names_.clear();
    identity_ = std::move(identity);
    entry_key_.clear();  // entryKey() is primary_key_
  } else {
    keyFor(vary_names);
  }
  version_keys_.clear();
  version_keys_.reserve(route.namespaces.size() + 2);
  appendEntryNamespaceKeys(cache.key_prefix, route, request_.params, request_.host, request_.target.path,
                           version_keys_);
  base_versions_ = version_keys_.size();
  // Read with the rest, so a hit on an entry tagged by its answer stays one
  // round trip (cache/surrogate_keys.h); the epoch tells, once an answer
  // names keys not read here, whether they were written since.
  for (auto& key : services_.surrogate_memo.find(entryKey()))
    if (std::find(version_keys_.begin(), version_keys_.end(), key) == version_keys_.end())
      version_keys_.push_back(std::move(key));
  seen_versions_.clear();
  client_wants_fresh_ = route.honour_client_no_cache && cache::clientWantsFresh(headers);
  if (services_.backlog.isPending(version_keys_)) {
    // An invalidation of these namespaces has not reached the store yet.
    bypass(BypassReason::kInvalidationPending, toString(BypassReason::kInvalidationPending));
    return;
  }
  tier_tick_ = 0;
  if (route.memory_ttl && !client_wants_fresh_ && services_.tier.isEnabled() && !route.shadow) {
    if (serveFromTier()) return;
    tier_tick_ = services_.tier.tick();
  }
  std::vector<std::string> keys;
  keys.reserve(version_keys_.size() + 1);
  keys = version_keys_;
  if (cache.surrogate_keys.enabled) keys.push_back(epochKey(cache.key_prefix));
  lookup_tick_ = services_.coalescer.tick();
  lookup_ = services_.store.lookup(std::move(keys), entryKey(),
                                   [this](LookupResult&& result) { onLookup(std::move(result)); });
}

// Zero round trips (DESIGN invariant 1): a copy the tier still vouches for.
bool LookupSession::serveFromTier() {
  std::shared_ptr<const std::string> encoded = services_.tier.get(entryKey(), base::MonoClock::now());
  if (!encoded) return false;
  // The body is sent from the tier's bytes, which never change: no copy of
  // it per hit.
  std::optional<Entry> entry = decodeSharedEntry(std::move(encoded));
  if (!entry || entry->identity != identity_ || !isFresh(entry->stored_at, entry->ttl, base::WallClock::now()) ||
      !readyForClient(*entry, *request_.headers, request_.config->cache.max_object_size))
    return false;
  LookupOutcome outcome;
  outcome.entry = std::move(entry);
  outcome.from_tier = true;
  deliver(LookupOutcome::Kind::kHit, std::move(outcome));
  return true;
}

void LookupSession::onLookup(LookupResult&& result) {
  lookup_ = Pending();
  lookup_epoch_.reset();
  const config::Config& config = *request_.config;
  if (result.status != StoreStatus::kOk) {
    if (config.store.on_failure == config::StoreFailureMode::kReject && !request_.route->shadow) {
      bypass(BypassReason::kStoreUnavailable, toString(BypassReason::kStoreUnavailable));
      return;
    }
    // Still one upstream request per key (DESIGN invariant 9): requests that
    // could not reach the store coalesce among themselves.
    seen_versions_.assign(version_keys_.size(), std::nullopt);
    unavailable_ = true;
    LookupOutcome outcome;
    outcome.store_unavailable = true;
    outcome.forward = CacheStatus::Forward::kBypass;
    outcome.detail = toString(BypassReason::kStoreUnavailable);
    join(std::move(outcome));
    return;
  }
  if (config.cache.surrogate_keys.enabled && result.versions.size() > version_keys_.size()) {
    lookup_epoch_ = parseEpoch(result.versions.back());
    result.versions.pop_back();
  }
  seen_versions_ = std::move(result.versions);
  seen_versions_.resize(version_keys_.size());
  std::optional<Entry> entry;
  if (result.entry) entry = decodeEntryBytes(std::move(result.entry));
  // DESIGN invariant 7: the full identity decides, never the digest alone.
  // Invariant 3: every namespace must still hold the token it was fetched
  // under; an entry from before a write is never served, not even stale.
  // A soft purge since (cache/soft_purge.h) leaves the entry usable, stale.
  std::vector<std::string> unread;
  std::optional<base::WallTime> soft_mark;
  if (entry && (entry->identity != identity_ ||
                !recordedVersionsHold(*entry, version_keys_, seen_versions_, base_versions_, unread, &soft_mark)))
    entry.reset();
  if (entry && soft_mark) expireAtSoftMark(*entry, *soft_mark, base::WallClock::now());
  if (!entry || unread.empty()) {
    useEntry(std::move(entry));
    return;
  }
  if (services_.backlog.isPending(unread)) {
    useEntry(std::nullopt);  // DESIGN invariant 5, as in lookUp()
    return;
  }
  // The entry names surrogate keys this lookup did not read: the one case
  // of a second round trip before a hit (cache/surrogate_keys.h).
  checking_ = std::move(entry);
  lookup_ = services_.store.lookup(unread, "", [this, unread](LookupResult&& checked) {
    onChecked(std::move(checked), unread);
  });
}

void LookupSession::onChecked(LookupResult&& result, const std::vector<std::string>& keys) {
  lookup_ = Pending();
  std::optional<Entry> entry = std::move(checking_);
  checking_.reset();
  if (result.status != StoreStatus::kOk || result.versions.size() != keys.size()) {
    useEntry(std::nullopt);  // unchecked: never served
    return;
  }
  // Read before any fetch this request leads, so a refill is stored under them.
  for (size_t i = 0; i < keys.size(); ++i) {
    version_keys_.push_back(keys[i]);
    seen_versions_.push_back(std::move(result.versions[i]));
  }
  std::vector<std::string> unread;
  std::optional<base::WallTime> soft_mark;
  bool hold =
      recordedVersionsHold(*entry, version_keys_, seen_versions_, base_versions_, unread, &soft_mark) &&
      unread.empty();
  if (hold && soft_mark) expireAtSoftMark(*entry, *soft_mark, base::WallClock::now());
  std::vector<std::string> named;
  for (size_t i = base_versions_; i < entry->versions.size(); ++i) named.push_back(entry->versions[i].first);
  services_.surrogate_memo.remember(entryKey(), std::move(named));
  if (!hold) entry.reset();
  useEntry(std::move(entry));
}

// `entry` is the stored entry, valid for this request, or nullopt.
void LookupSession::useEntry(std::optional<Entry> entry) {
  using Forward = CacheStatus::Forward;
  const config::Route& route = *request_.route;
  const uint64_t limit = request_.config->cache.max_object_size;
  LookupOutcome outcome;
  outcome.forward = entry ? Forward::kStale : vary_names_.empty() ? Forward::kUriMiss : Forward::kVaryMiss;
  if (route.shadow) {
    outcome.entry = std::move(entry);  // the proxy decides (proxy/shadow_route.h)
    deliver(LookupOutcome::Kind::kFound, std::move(outcome));
    return;
  }
  if (entry) {
    base::WallTime now = base::WallClock::now();
    if (client_wants_fresh_) {
      // The client asked for a revalidated answer: no hit, no stale.
      outcome.forward = Forward::kRequest;
      outcome.stale_entry = std::move(entry);
      join(std::move(outcome));
      return;
    }
    if (isFresh(entry->stored_at, entry->ttl, now)) {
      if (tier_tick_ != 0) keepInTier(*entry);
      // Stored bytes that do not decode are a miss: the refill replaces them.
      if (!readyForClient(*entry, *request_.headers, limit)) {
        join(std::move(outcome));
        return;
      }
      outcome.entry = std::move(entry);
      deliver(LookupOutcome::Kind::kHit, std::move(outcome));
      return;
    }
    auto windows = staleWindows(entry->headers, route, request_.config->cache);
    auto stale_for = staleness(*entry, now);
    if (windows.while_revalidate.count() > 0 && stale_for <= windows.while_revalidate) {
      // RFC 5861: served stale now; a fill with no reader refreshes it behind.
      auto joined = services_.coalescer.join(fillKey(), lookup_tick_);
      if (joined.leader && refresh_) refresh_(std::move(joined.fill), *entry);
      if (!readyForClient(*entry, *request_.headers, limit)) {
        join(std::move(outcome));
        return;
      }
      outcome.entry = std::move(entry);
      outcome.stale = true;
      deliver(LookupOutcome::Kind::kHit, std::move(outcome));
      return;
    }
    outcome.stale_if_error = windows.if_error;
    outcome.stale_entry = std::move(entry);
  }
  join(std::move(outcome));
}

void LookupSession::miss(Done done) {
  done_ = std::move(done);
  join(LookupOutcome());
}

// The versions seen are part of the fill's key: a request that saw a
// write's new version must not join a fetch that started before it
// (DESIGN invariant 3).
void LookupSession::join(LookupOutcome&& outcome) {
  if (isVaryOutdated()) {
    // The upstream's Vary was learned while this lookup was in flight: look
    // up (and coalesce on) this request's own variant instead.
    lookUp(std::move(done_));
    return;
  }
  const std::string fill_key = fillKey();
  auto joined = services_.coalescer.join(fill_key, lookup_tick_);
  if (joined.leader && isVaryOutdated()) {
    // The Vary was learned between the check above and the join: the fill
    // this request would lead is one the learner has just released, and
    // this request's variant may be in flight already. The learner
    // publishes the Vary before releasing, so this second look is enough.
    joined.fill->abandon();
    services_.coalescer.forget(fill_key, joined.fill);
    lookUp(std::move(done_));
    return;
  }
  outcome.fill = std::move(joined.fill);
  deliver(joined.leader ? LookupOutcome::Kind::kFetch : LookupOutcome::Kind::kJoin, std::move(outcome));
}

// A fresh entry the store just validated, for the routes that opt in. It
// answers to every namespace it was stored under (surrogate keys too), not
// only the route's. Encoded again: once per key per memory_ttl.
void LookupSession::keepInTier(const Entry& entry) {
  std::vector<std::string> version_keys;
  version_keys.reserve(entry.versions.size());
  for (const auto& [key, token] : entry.versions) version_keys.push_back(key);
  auto expires = base::MonoClock::now() + *request_.route->memory_ttl;
  services_.tier.put(entryKey(), std::make_shared<const std::string>(encodeEntry(entry)),
                     std::move(version_keys), expires, tier_tick_);
}

// The key of this request's variant: the route's key plus `vary_names`.
void LookupSession::keyFor(const std::vector<std::string>& vary_names) {
  vary_names_ = vary_names;
  RequestIdentity identity = buildIdentity(request_.method, request_.host, request_.target, *request_.route,
                                           *request_.headers, principal_.value_or(""), vary_names_);
  identity_ = identity.serialize();
  entry_key_ = vary_names_.empty() ? std::string() : cache::entryKeyOf(request_.config->cache.key_prefix, identity_);
}

bool LookupSession::rekeyForVary(const http::HeaderMap& response_headers, const std::function<void()>& moved) {
  std::vector<std::string> names = unkeyedVaryNames(response_headers, *request_.route);
  if (names == vary_names_ || (names.size() == 1 && names[0] == "*")) return false;
  // Order matters across workers: lead the variant's fill first, then
  // publish the Vary, then release the old fill's waiters, so a request
  // wanting this variant always finds this fetch.
  keyFor(names);
  moved();
  services_.vary_memo.remember(primary_key_, std::move(names));
  return true;
}

void LookupSession::followVary() { keyFor(services_.vary_memo.find(primary_key_)); }

bool LookupSession::isVaryOutdated() const { return services_.vary_memo.find(primary_key_) != vary_names_; }

std::string LookupSession::fillKey() const {
  return fillKeyFor(entryKey(), unavailable_, version_keys_, seen_versions_, base_versions_);
}

void LookupSession::bypass(BypassReason reason, std::string_view detail) {
  LookupOutcome outcome;
  outcome.reason = reason;
  outcome.detail = detail;
  outcome.forward = CacheStatus::Forward::kBypass;
  deliver(LookupOutcome::Kind::kBypass, std::move(outcome));
}

// The last thing every path does: `done` may destroy the session.
void LookupSession::deliver(LookupOutcome::Kind kind, LookupOutcome&& outcome) {
  outcome.kind = kind;
  Done done = std::move(done_);
  done_ = nullptr;
  done(std::move(outcome));
}

}  // namespace larder::cache
