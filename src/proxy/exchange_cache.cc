// The cache's part of an Exchange: route matching, lookup, hits, capturing a
// miss for the store, and invalidation by writes.
#include <fmt/format.h>

#include <algorithm>

#include "base/log.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "http/cache_control.h"
#include "http/serializer.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"

namespace larder::proxy {
namespace {

// Version keys outlive entries; an expired one only turns entries into misses.
constexpr std::chrono::milliseconds kVersionTtl = std::chrono::hours(24 * 7);
// Every entry also belongs to this namespace, so a purge of everything is
// one invalidation.
constexpr std::string_view kEverythingNamespace = "*";

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The host a request is for: its Host field, else the absolute-form authority.
std::string requestHost(const http::RequestHead& request, const http::Target& target) {
  if (const std::string* host = request.headers.find("Host")) return lowerCase(*host);
  return lowerCase(target.authority);
}

}  // namespace

void Exchange::route() {
  auto target = http::parseTarget(request_.target);
  if (!target) {
    keep_alive_ = false;
    replyLocally(400, "bad request target");
    return;
  }
  host_ = requestHost(request_, *target);
  path_ = target->path;
  route_ = config_->matchRoute(request_.method, path_, params_);
  if (!http::isSafeMethod(request_.method)) {
    // RFC 9111 §4.4: a non-error answer to an unsafe method invalidates.
    invalidates_ = true;
    proceedUpstream();
    return;
  }
  if (route_ != nullptr && route_->isRead() &&
      (request_.method == "GET" || request_.method == "HEAD")) {
    lookUp(*target, host_);
    return;
  }
  proceedUpstream();
}

void Exchange::lookUp(const http::Target& target, std::string_view host) {
  const config::Route& route = *route_;
  std::optional<std::string> principal;
  if (route.per_user) principal = cache::extractPrincipal(*route.per_user, request_.headers);
  auto decision = cache::classifyRequest(request_.method, request_.headers, route, principal.has_value());
  if (!decision.use_cache) {
    bypass(decision.reason);
    return;
  }
  cache::RequestIdentity identity = cache::buildIdentity(request_.method, host, target, route,
                                                         request_.headers, principal.value_or(""));
  const std::string& prefix = config_->cache.key_prefix;
  identity_ = identity.serialize();
  entry_key_ = cache::entryKey(prefix, identity);
  version_keys_.clear();
  for (const auto& ns : route.namespaces)
    version_keys_.push_back(cache::namespaceKey(prefix, ns.expand(params_)));
  version_keys_.push_back(cache::namespaceKey(prefix, cache::uriNamespace(host, target.path)));
  version_keys_.push_back(cache::namespaceKey(prefix, kEverythingNamespace));
  if (context_.backlog.isPending(version_keys_)) {
    // An invalidation of these namespaces has not reached the store yet.
    bypass("invalidation_pending");
    return;
  }
  setState(ExchangeState::kLookingUp);
  lookup_ = context_.store.lookup(version_keys_, entry_key_,
                                  [this](cache::LookupResult&& result) { onLookup(std::move(result)); });
}

void Exchange::onLookup(cache::LookupResult&& result) {
  lookup_ = cache::Pending();
  if (result.status != cache::StoreStatus::kOk) {
    if (config_->store.on_failure == config::StoreFailureMode::kReject) {
      cache_status_ = "BYPASS";
      replyLocally(503, "cache unavailable", "Retry-After: 1\r\n");
      return;
    }
    bypass("store_unavailable");
    return;
  }
  seen_versions_ = std::move(result.versions);
  seen_versions_.resize(version_keys_.size());
  if (result.entry) {
    auto entry = cache::decodeEntry(*result.entry);
    base::WallTime now = base::WallClock::now();
    // DESIGN invariant 7: the full identity decides, never the digest alone.
    // Invariant 3: every namespace must still hold the token it was fetched under.
    bool valid = entry && entry->identity == identity_ &&
                 entry->versions.size() == version_keys_.size() &&
                 cache::isFresh(entry->stored_at, entry->ttl, now);
    for (size_t i = 0; valid && i < version_keys_.size(); ++i) {
      valid = entry->versions[i].first == version_keys_[i] && seen_versions_[i] &&
              entry->versions[i].second == *seen_versions_[i];
    }
    if (valid) {
      serveHit(std::move(*entry));
      return;
    }
  }
  cache_status_ = "MISS";
  // A HEAD miss is fetched as GET so the answer can fill the cache.
  if (head_request_) upstream_method_ = "GET";
  proceedUpstream();
}

void Exchange::serveHit(cache::Entry&& entry) {
  cache_status_ = "HIT";
  status_ = entry.status;
  http::HeaderMap& headers = entry.headers;
  base::WallTime now = base::WallClock::now();
  headers.set("Age", std::to_string(cache::currentAge(entry.stored_at, entry.initial_age_seconds, now)));
  headers.set("Content-Length", std::to_string(entry.body.size()));
  headers.set(config_->cache.status_header, "HIT");
  keep_alive_ = keep_alive_ && !client_.isShuttingDown();
  if (!keep_alive_) {
    headers.set("Connection", "close");
  } else if (request_.version_minor == 0) {
    headers.set("Connection", "keep-alive");
  }
  std::string head;
  head.reserve(512);
  http::appendResponseHead(request_.version_minor, entry.status, entry.reason, headers, head);
  if (head_request_ || entry.body.empty()) {
    client_.write(std::move(head));
  } else {
    body_bytes_sent_ = entry.body.size();
    client_.write({std::move(head), std::move(entry.body)});
  }
  finish();
}

void Exchange::bypass(std::string_view reason) {
  LOG_DEBUG("cache bypass for {} {}: {}", request_.method, request_.target, reason);
  cache_status_ = "BYPASS";
  proceedUpstream();
}

void Exchange::startCapture(const http::ResponseHead& head) {
  std::optional<uint64_t> length;
  if (head.framing == http::BodyFraming::kContentLength) length = head.content_length;
  request_time_ = std::min(request_time_, base::WallClock::now());
  auto decision = cache::decideStore(*route_, upstream_method_, request_.headers, head.status,
                                     head.headers, length, config_->cache.max_object_size,
                                     base::WallClock::now());
  if (!decision.store) {
    LOG_DEBUG("not storing {} {}: {}", request_.method, request_.target, decision.reason);
    return;
  }
  capturing_ = true;
  capture_status_ = head.status;
  capture_reason_ = head.reason;
  capture_ttl_ = decision.ttl;
  capture_headers_ = cache::storableHeaders(head.headers, config_->cache.status_header);
  capture_initial_age_ = decision.initial_age_seconds;
  if (length) capture_body_.reserve(*length);
}

void Exchange::captureBody(std::string_view data) {
  // DESIGN invariant 8: past max_object_size the answer streams on, unstored.
  if (capture_body_.size() + data.size() > config_->cache.max_object_size) {
    capturing_ = false;
    std::string().swap(capture_body_);
    return;
  }
  capture_body_.append(data);
}

void Exchange::finishCapture() {
  capturing_ = false;
  cache::Entry entry;
  entry.status = capture_status_;
  entry.reason = std::move(capture_reason_);
  entry.headers = std::move(capture_headers_);
  entry.body = std::move(capture_body_);
  entry.stored_at = request_time_;
  entry.ttl = capture_ttl_;
  entry.initial_age_seconds = capture_initial_age_;
  entry.identity = identity_;
  cache::InsertRequest insert;
  insert.key = entry_key_;
  insert.ttl = capture_ttl_;
  insert.version_ttl = std::max<std::chrono::milliseconds>(kVersionTtl, capture_ttl_ * 2);
  // DESIGN invariant 3: stored under the versions seen *before* the fetch;
  // the store refuses it if any changed meanwhile.
  for (size_t i = 0; i < version_keys_.size(); ++i) {
    bool absent = !seen_versions_[i].has_value();
    std::string token = absent ? cache::newVersionToken() : *seen_versions_[i];
    entry.versions.emplace_back(version_keys_[i], token);
    insert.versions.push_back({version_keys_[i], std::move(token), absent});
  }
  insert.value = cache::encodeEntry(entry);
  context_.store.insert(std::move(insert), nullptr);
}

bool Exchange::invalidateBeforeAnswer(http::ResponseHead& head) {
  const std::string& prefix = config_->cache.key_prefix;
  std::vector<std::string> names;
  if (route_ != nullptr)
    for (const auto& ns : route_->invalidates) names.push_back(ns.expand(params_));
  names.push_back(cache::uriNamespace(host_, path_));
  // RFC 9111 §4.4: Location and Content-Location on the same host too.
  for (std::string_view field : {"Location", "Content-Location"}) {
    const std::string* value = head.headers.find(field);
    if (value == nullptr) continue;
    auto target = http::parseTarget(*value);
    if (!target) continue;
    if (!target->authority.empty() && lowerCase(target->authority) != host_) continue;
    names.push_back(cache::uriNamespace(host_, target->path));
  }
  cache::Invalidation invalidation;
  invalidation.version_ttl = kVersionTtl;
  for (const auto& name : names) {
    invalidation.version_keys.push_back(cache::namespaceKey(prefix, name));
    invalidation.tokens.push_back(cache::newVersionToken());
  }
  pending_invalidation_ = invalidation;
  held_head_ = std::move(head);
  setState(ExchangeState::kInvalidating);
  if (upstream_ != nullptr) upstream_->pauseReading();
  invalidation_ = context_.store.invalidate(
      std::move(invalidation), [this](cache::StoreStatus status) { onInvalidated(status); });
  return true;
}

void Exchange::onInvalidated(cache::StoreStatus status) {
  invalidation_ = cache::Pending();
  if (status != cache::StoreStatus::kOk) {
    // DESIGN invariant 5: kept, retried, and not served from cache meanwhile.
    LOG_WARN("invalidation of {} namespace(s) could not reach the store; will retry",
             pending_invalidation_.version_keys.size());
    context_.backlog.add(pending_invalidation_);
  }
  http::ResponseHead head = std::move(*held_head_);
  held_head_.reset();
  sendResponseHead(head);
  if (!held_body_.empty()) {
    std::string body = std::move(held_body_);
    held_body_.clear();
    onUpstreamBody(body);
  }
  if (held_complete_) {
    onUpstreamComplete();
    return;
  }
  if (upstream_ != nullptr) upstream_->resumeReading();
}

}  // namespace larder::proxy
