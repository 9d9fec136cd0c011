// The cache's part of an Exchange: route matching, lookup (the in-process
// tier, then the store), and serving entries (fresh, stale, revalidated, or
// a 304 to a conditional client). Writes: exchange_invalidation.cc.
#include <fmt/format.h>

#include <algorithm>

#include "base/log.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/soft_purge.h"
#include "cache/stored_coding.h"
#include "cache/surrogate_keys.h"
#include "cache/versioned_insert.h"
#include "http/cache_control.h"
#include "http/range.h"
#include "http/serializer.h"
#include "proxy/fill_fetch.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"
#include "proxy/forwarding.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {
// One derivation (proxy/forwarding.h) gives both what is forwarded and what
// is keyed (DESIGN invariant 11): from here on request_ holds the fields as
// forwarded, target_ the target as forwarded, host_ the keyed host.
void Exchange::route() {
  auto target = http::parseTarget(request_.target);
  if (!target) {
    keep_alive_ = false;
    replyLocally(400, "bad request target");
    return;
  }
  route_ = config_->matchRoute(request_.method, target->path, params_);
  auto forwarded = deriveForwardedRequest(request_.method, *target, std::move(request_.headers),
                                          request_.version_minor, client_.peerIp(), *config_, route_);
  if (!forwarded) {
    keep_alive_ = false;
    replyLocally(400, toString(forwarded.error()));
    return;
  }
  host_ = std::move(forwarded->host);
  path_ = forwarded->parsed.path;
  upstream_target_ = std::move(forwarded->target);
  request_.headers = std::move(forwarded->headers);
  if (!http::isSafeMethod(request_.method)) {
    // RFC 9111 §4.4: a non-error answer to an unsafe method invalidates.
    invalidates_ = true;
    proceedUpstream();
    return;
  }
  if (route_ != nullptr && route_->isRead() &&
      (request_.method == "GET" || request_.method == "HEAD")) {
    target_ = std::move(forwarded->parsed);
    lookUp();
    return;
  }
  proceedUpstream();
}

void Exchange::lookUp() {
  const config::Route& route = *route_;
  // A GET or HEAD with a body (RFC 9110 §9.3.1: content without defined
  // semantics, which some APIs read anyway): forwarded with its body, but
  // the key cannot cover the body, so its answer is never stored and no
  // entry answers it.
  const bool has_body = request_.framing == http::BodyFraming::kChunked ||
                        (request_.framing == http::BodyFraming::kContentLength && request_.content_length > 0);
  if (has_body) {
    bypass("request_body");
    return;
  }
  if (route.per_user) principal_ = cache::extractPrincipal(*route.per_user, request_.headers);
  auto decision = cache::classifyRequest(request_.method, request_.headers, route, principal_.has_value());
  if (!decision.use_cache) {
    bypass(decision.reason);
    return;
  }
  const std::string& prefix = config_->cache.key_prefix;
  primary_key_ = cache::entryKey(prefix, cache::buildIdentity(request_.method, host_, *target_, route,
                                                              request_.headers, principal_.value_or("")));
  // Straight to this request's variant when the upstream is known to vary.
  keyFor(context_.vary_memo.find(primary_key_));
  version_keys_.clear();
  for (const auto& ns : cache::entryNamespaces(route, params_, host_, target_->path))
    version_keys_.push_back(cache::namespaceKey(prefix, ns));
  base_versions_ = version_keys_.size();
  // Read with the rest, so a hit on an entry tagged by its answer stays one
  // round trip (cache/surrogate_keys.h); the epoch tells, once an answer
  // names keys not read here, whether they were written since.
  for (auto& key : context_.surrogate_memo.find(entry_key_))
    if (std::find(version_keys_.begin(), version_keys_.end(), key) == version_keys_.end())
      version_keys_.push_back(std::move(key));
  const bool surrogates = config_->cache.surrogate_keys.enabled;
  client_wants_fresh_ = route.honour_client_no_cache && cache::clientWantsFresh(request_.headers);
  if (context_.backlog.isPending(version_keys_)) {
    // An invalidation of these namespaces has not reached the store yet.
    bypass("invalidation_pending");
    return;
  }
  tier_tick_ = 0;
  if (route.memory_ttl && !client_wants_fresh_ && context_.tier.isEnabled() && !route.shadow) {
    if (serveFromTier()) return;
    tier_tick_ = context_.tier.tick();
  }
  std::vector<std::string> keys = version_keys_;
  if (surrogates) keys.push_back(cache::epochKey(prefix));
  setState(ExchangeState::kLookingUp);
  lookup_tick_ = context_.coalescer.tick();
  lookup_ = context_.store.lookup(std::move(keys), entry_key_,
                                  [this](cache::LookupResult&& result) { onLookup(std::move(result)); });
}

void Exchange::onLookup(cache::LookupResult&& result) {
  lookup_ = cache::Pending();
  lookup_epoch_.reset();
  if (result.status != cache::StoreStatus::kOk) {
    if (config_->store.on_failure == config::StoreFailureMode::kReject && !route_->shadow) {
      cache_status_ = CacheVerdict::kBypass;
      replyLocally(503, "cache unavailable", "Retry-After: 1\r\n");
      return;
    }
    // Still one upstream request per key (DESIGN invariant 9): requests that
    // could not reach the store coalesce among themselves.
    seen_versions_.assign(version_keys_.size(), std::nullopt);
    cache_report_.fwd = cache::CacheStatus::Forward::kBypass;
    cache_report_.detail = "store_unavailable";
    missed(CacheVerdict::kBypass);
    return;
  }
  if (config_->cache.surrogate_keys.enabled && result.versions.size() > version_keys_.size()) {
    lookup_epoch_ = cache::parseEpoch(result.versions.back());
    result.versions.pop_back();
  }
  seen_versions_ = std::move(result.versions);
  seen_versions_.resize(version_keys_.size());
  std::optional<cache::Entry> entry;
  if (result.entry) entry = cache::decodeEntry(*result.entry);
  // DESIGN invariant 7: the full identity decides, never the digest alone.
  // Invariant 3: every namespace must still hold the token it was fetched
  // under; an entry from before a write is never served, not even stale.
  // A soft purge since (cache/soft_purge.h) leaves the entry usable, stale.
  std::vector<std::string> unread;
  std::optional<base::WallTime> soft_mark;
  if (entry && (entry->identity != identity_ ||
                !cache::recordedVersionsHold(*entry, version_keys_, seen_versions_, base_versions_, unread,
                                             &soft_mark)))
    entry.reset();
  if (entry && soft_mark) cache::expireAtSoftMark(*entry, *soft_mark, base::WallClock::now());
  if (!entry || unread.empty()) {
    useEntry(std::move(entry));
    return;
  }
  if (context_.backlog.isPending(unread)) {
    useEntry(std::nullopt);  // DESIGN invariant 5, as in lookUp()
    return;
  }
  // The entry names surrogate keys this lookup did not read: the one case
  // of a second round trip before a hit (cache/surrogate_keys.h).
  checking_ = std::move(entry);
  lookup_ = context_.store.lookup(unread, "", [this, unread](cache::LookupResult&& checked) {
    onChecked(std::move(checked), unread);
  });
}

void Exchange::onChecked(cache::LookupResult&& result, std::vector<std::string> keys) {
  lookup_ = cache::Pending();
  std::optional<cache::Entry> entry = std::move(checking_);
  checking_.reset();
  if (result.status != cache::StoreStatus::kOk || result.versions.size() != keys.size()) {
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
  bool hold = cache::recordedVersionsHold(*entry, version_keys_, seen_versions_, base_versions_, unread,
                                          &soft_mark) &&
              unread.empty();
  if (hold && soft_mark) cache::expireAtSoftMark(*entry, *soft_mark, base::WallClock::now());
  std::vector<std::string> named;
  for (size_t i = base_versions_; i < entry->versions.size(); ++i) named.push_back(entry->versions[i].first);
  context_.surrogate_memo.remember(entry_key_, std::move(named));
  if (!hold) entry.reset();
  useEntry(std::move(entry));
}

// `entry` is the stored entry, valid for this request, or nullopt.
void Exchange::useEntry(std::optional<cache::Entry> entry) {
  using Forward = cache::CacheStatus::Forward;
  cache_report_.fwd = entry ? Forward::kStale : vary_names_.empty() ? Forward::kUriMiss : Forward::kVaryMiss;
  if (route_->shadow) {
    decideShadow(std::move(entry));  // exchange_shadow.cc: forwarded whatever it finds
    return;
  }
  if (entry) {
    base::WallTime now = base::WallClock::now();
    if (client_wants_fresh_) {
      // The client asked for a revalidated answer: no hit, no stale.
      cache_report_.fwd = Forward::kRequest;
      stale_entry_ = std::move(entry);
      missed();
      return;
    }
    if (cache::isFresh(entry->stored_at, entry->ttl, now)) {
      if (tier_tick_ != 0) keepInTier(*entry);
      // Stored bytes that do not decode are a miss: the refill replaces them.
      if (readyForm(*entry)) {
        serveEntry(std::move(*entry), CacheVerdict::kHit);
        return;
      }
      missed();
      return;
    }
    auto windows = cache::staleWindows(entry->headers, *route_, config_->cache);
    auto stale_for = cache::staleness(*entry, now);
    if (windows.while_revalidate.count() > 0 && stale_for <= windows.while_revalidate) {
      refreshInBackground(*entry);
      if (readyForm(*entry)) {
        serveEntry(std::move(*entry), CacheVerdict::kStale);
        return;
      }
      missed();
      return;
    }
    stale_if_error_ = windows.if_error;
    stale_entry_ = std::move(entry);
  }
  missed();
}

// Zero round trips (DESIGN invariant 1): a copy the tier still vouches for.
bool Exchange::serveFromTier() {
  std::shared_ptr<const std::string> encoded = context_.tier.get(entry_key_, base::MonoClock::now());
  if (!encoded) return false;
  std::optional<cache::Entry> entry = cache::decodeEntry(*encoded);
  if (!entry || entry->identity != identity_ ||
      !cache::isFresh(entry->stored_at, entry->ttl, base::WallClock::now()) || !readyForm(*entry))
    return false;
  recordTierHit();
  serveEntry(std::move(*entry), CacheVerdict::kHit);
  return true;
}

// A fresh entry the store just validated, for the routes that opt in. It
// answers to every namespace it was stored under (surrogate keys too), not
// only the route's. Encoded again: once per key per memory_ttl.
void Exchange::keepInTier(const cache::Entry& entry) {
  std::vector<std::string> version_keys;
  version_keys.reserve(entry.versions.size());
  for (const auto& [key, token] : entry.versions) version_keys.push_back(key);
  auto expires = base::MonoClock::now() + *route_->memory_ttl;
  context_.tier.put(entry_key_, std::make_shared<const std::string>(cache::encodeEntry(entry)),
                    std::move(version_keys), expires, tier_tick_);
}

// The key of this request's variant: the route's key plus `vary_names`.
void Exchange::keyFor(const std::vector<std::string>& vary_names) {
  vary_names_ = vary_names;
  cache::RequestIdentity identity =
      cache::buildIdentity(request_.method, host_, *target_, *route_, request_.headers,
                           principal_.value_or(""), vary_names_);
  identity_ = identity.serialize();
  entry_key_ = vary_names_.empty() ? primary_key_ : cache::entryKey(config_->cache.key_prefix, identity);
}

// The answer varies on other fields than the key had (RFC 9111 §4.1): learn
// them, and capture the answer under this request's variant.
void Exchange::rekeyForVary(const http::ResponseHead& head) {
  std::vector<std::string> names = cache::unkeyedVaryNames(head.headers, *route_);
  if (names == vary_names_ || (names.size() == 1 && names[0] == "*")) return;
  // Order matters across workers: lead the variant's fill first, then
  // publish the Vary, then release the old fill's waiters, so a request
  // wanting this variant always finds this fetch.
  keyFor(names);
  auto previous = capture_->rekey(entry_key_, identity_, fillKey(), vary_names_);
  context_.vary_memo.remember(primary_key_, std::move(names));
  capture_->releaseFill(std::move(previous));
}

CacheSlot Exchange::cacheSlot() const {
  CacheSlot slot;
  slot.config = config_;
  slot.route = route_;
  slot.entry_key = entry_key_;
  slot.identity = identity_;
  slot.version_keys = version_keys_;
  slot.seen_versions = seen_versions_;
  slot.base_versions = base_versions_;
  slot.lookup_epoch = lookup_epoch_;
  slot.backlog = &context_.backlog;
  slot.fill_key = fillKey();
  slot.extra_vary = vary_names_;
  return slot;
}

// RFC 5861: the stale entry is served now; a fill with no reader refreshes
// it behind (proxy/fill_fetch.h).
void Exchange::refreshInBackground(const cache::Entry& stale) {
  std::string fill_key = fillKey();
  auto joined = context_.coalescer.join(fill_key, lookup_tick_);
  if (!joined.leader) return;  // a refresh or fetch is already under way
  FillRequest fetch = fillRequest();
  fetch.slot.fill_key = std::move(fill_key);
  fetch.slot.fill = std::move(joined.fill);
  fetch.stale = stale;
  context_.fetches.start(std::move(fetch));
}

bool Exchange::serveStaleOnError() {
  if (!stale_entry_ || stale_if_error_.count() == 0 ||
      cache::staleness(*stale_entry_, base::WallClock::now()) > stale_if_error_)
    return false;
  LOG_INFO("serving stale {} {}: upstream failed", request_.method, request_.target);
  capture_.reset();
  cache::Entry stale = std::move(*stale_entry_);
  stale_entry_.reset();
  serveEntry(std::move(stale), CacheVerdict::kStale);
  return true;
}

// Decodes only when the body will be sent in the identity form: a 304 and
// a client that accepts the stored coding need no decoding (a HEAD does,
// for its Content-Length). Idempotent: the identity form stays as it is.
bool Exchange::readyForm(cache::Entry& entry) {
  if (cache::servesStoredForm(entry, request_.headers) || cache::clientHasCurrent(request_.headers, entry.headers))
    return true;
  const cache::DecodeError error = cache::toIdentityForm(entry, config_->cache.max_object_size);
  recordDecode(cache::toString(error));
  if (error == cache::DecodeError::kNone) return true;
  LOG_WARN("stored entry for {} {} does not decode ({}): not served", request_.method, request_.target,
           cache::toString(error));
  return false;
}

void Exchange::serveEntry(cache::Entry&& entry, CacheVerdict verdict) {
  if (!readyForm(entry)) {
    // Only reached past a store that checked the entry (a revalidation, a
    // lock wait, stale-if-error): nothing else to answer with.
    replyLocally(502, "stored entry does not decode");
    return;
  }
  cache_status_ = verdict;
  base::WallTime now = base::WallClock::now();
  bool not_modified = cache::clientHasCurrent(request_.headers, entry.headers);
  http::HeaderMap headers = not_modified ? cache::notModifiedHeaders(entry.headers)
                                         : std::move(entry.headers);
  // Stored with the field by an instance configured to keep it.
  cache::stripSurrogateKeys(headers, config_->cache.surrogate_keys);
  cache::stripOwnTargetedFields(headers, config_->cache);
  const auto remaining = entry.ttl - std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::max(now - entry.stored_at, base::WallTime::duration::zero()));
  cache_report_.ttl = std::chrono::floor<std::chrono::seconds>(remaining).count();
  if (verdict == CacheVerdict::kRevalidated) {
    cache_report_.fwd = cache::CacheStatus::Forward::kStale;
    cache_report_.fwd_status = 304;
    cache_report_.stored = true;
  } else {
    cache_report_.hit = true;
    cache_report_.fwd = cache::CacheStatus::Forward::kNone;
  }
  status_ = not_modified ? 304 : entry.status;
  headers.set("Age", std::to_string(cache::currentAge(entry.stored_at, entry.initial_age_seconds, now)));
  std::string body = std::move(entry.body);
  // RFC 9110 §14: the parts of the complete stored answer that are asked for.
  if (!not_modified && request_.headers.has("Range"))
    status_ = http::applyRange(request_.headers, status_, headers, body, cache::newVersionToken());
  if (status_ == 204) {
    headers.remove("Content-Length");  // RFC 9110 §8.6, as in sendResponseHead
  } else if (!not_modified) {
    headers.set("Content-Length", std::to_string(body.size()));
  }
  addCacheStatusFields(headers);
  keep_alive_ = keep_alive_ && !client_.isShuttingDown();
  if (!keep_alive_) {
    headers.set("Connection", "close");
  } else if (request_.version_minor == 0) {
    headers.set("Connection", "keep-alive");
  }
  std::string head;
  head.reserve(512);
  http::appendResponseHead(request_.version_minor, status_,
                           status_ == entry.status ? std::string_view(entry.reason) : http::reasonPhrase(status_),
                           headers, head);
  if (head_request_ || not_modified || body.empty()) {
    client_.write(std::move(head));
  } else {
    body_bytes_sent_ = body.size();
    client_.write(std::move(head), std::move(body));
  }
  finish();
}

void Exchange::bypass(std::string_view reason) {
  LOG_DEBUG("cache bypass for {} {}: {}", request_.method, request_.target, reason);
  cache_status_ = CacheVerdict::kBypass;
  cache_report_.fwd = cache::CacheStatus::Forward::kBypass;
  cache_report_.detail = reason;
  proceedUpstream();
}

}  // namespace larder::proxy
