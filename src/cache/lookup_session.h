// LookupSession: the cache's lookup protocol for one read request, behind one
// interface (STYLE §2; Envoy's CacheSessions::lookup and its
// ActiveLookupResult: "the filter doesn't need to know which").
//
// It keys the request (its variant, from the VaryMemo), reads the in-process
// tier, then the entry and its namespace versions in one store round trip
// (DESIGN invariant 1; the epoch and the surrogate keys the SurrogateMemo
// names come in the same read), checks the entry's identity and versions
// (invariants 3 and 7), makes the second read of surrogate keys an entry
// names but the lookup did not read, and finally joins or leads the key's
// fill in the Coalescer (invariant 9). The proxy receives one typed
// LookupOutcome: hit(entry), join(fill), fetch(fill it leads, with a stale
// entry for revalidation) or bypass(reason). It never fetches: the proxy
// starts the fetch for a fill the session leads (proxy/fill_fetch.h).
//
// Ownership: the session owns its store operation (a cache::Pending), so
// destroying it mid-lookup drops a late reply. It borrows the services and
// the request's headers, which outlive it (the Exchange owns both).
// Threading: one loop; callbacks run on it. `done` runs exactly once per
// lookUp()/miss() call, possibly inside the call; it may destroy the session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/cache_status.h"
#include "cache/coalescer.h"
#include "cache/entry_codec.h"
#include "cache/invalidation_backlog.h"
#include "cache/memory_tier.h"
#include "cache/stored_coding.h"
#include "cache/store.h"
#include "cache/surrogate_keys.h"
#include "cache/vary.h"
#include "config/config.h"
#include "http/header_map.h"
#include "http/target.h"

namespace larder::cache {

// What a session borrows from its worker; all outlive it.
struct LookupServices {
  Store& store;
  Coalescer& coalescer;
  VaryMemo& vary_memo;
  SurrogateMemo& surrogate_memo;
  MemoryTier& tier;
  const InvalidationBacklog& backlog;
};

// The request as keyed (DESIGN invariant 11: as it will be forwarded).
struct LookupRequest {
  config::ConfigPtr config;
  const config::Route* route = nullptr;  // a read route, owned by `config`
  std::string method;                    // GET or HEAD
  std::string host;                      // the keyed host
  http::Target target;
  config::Params params;
  const http::HeaderMap* headers = nullptr;  // borrowed: outlives the session
  bool has_body = false;                     // a GET/HEAD with content (never keyed)
};

// Why the cache is not used for a request.
enum class BypassReason {
  kRequestBody,          // a GET/HEAD with a body: the key cannot cover it
  kRequestPolicy,        // cache::classifyRequest said no (detail: its reason)
  kInvalidationPending,  // an invalidation of its namespaces has not landed (invariant 5)
  kStoreUnavailable,     // the store failed and store.on_failure is reject
};
std::string_view toString(BypassReason reason);  // "request_body", ...

struct LookupOutcome {
  enum class Kind {
    kHit,     // `entry` answers (fresh, or stale within stale-while-revalidate)
    kJoin,    // another request's fetch fills `fill`: read it
    kFetch,   // the caller leads `fill`: start its fetch (`stale` revalidates)
    kBypass,  // forward without the cache (`reason`)
    kFound,   // shadow routes only: `entry` (or none), undecided; call miss()
  };
  Kind kind = Kind::kBypass;
  std::optional<Entry> entry;  // kHit (ready for this client), kFound
  bool stale = false;          // kHit: served stale (RFC 5861)
  bool from_tier = false;      // kHit: from the in-process tier (no round trip; counted by the caller)
  std::shared_ptr<Fill> fill;  // kJoin, kFetch
  // kJoin, kFetch: the store could not be asked; versions are unknown, so
  // such fills are shared only among themselves (fillKey()).
  bool store_unavailable = false;
  // kFetch: an expired entry kept for revalidation and stale-if-error.
  std::optional<Entry> stale_entry;
  std::chrono::milliseconds stale_if_error{0};
  BypassReason reason = BypassReason::kRequestPolicy;  // kBypass
  std::string_view detail;  // Cache-Status detail (static storage), or empty
  CacheStatus::Forward forward = CacheStatus::Forward::kNone;  // Cache-Status fwd
};

class LookupSession {
 public:
  using Done = std::function<void(LookupOutcome&&)>;
  // A stale entry is served and `fill` (led by the session) must be fetched
  // behind it with no reader (RFC 5861): called inside lookUp(), before
  // `done`; the session's keys describe the fill.
  using Refresh = std::function<void(std::shared_ptr<Fill> fill, const Entry& stale)>;

  // By rvalue: one per read request, moved once into place.
  LookupSession(LookupServices services, LookupRequest&& request, Refresh&& refresh);
  LookupSession(const LookupSession&) = delete;
  LookupSession& operator=(const LookupSession&) = delete;

  // Runs the whole protocol (again: a Vary learned meanwhile re-keys it).
  void lookUp(Done done);
  // After kFound: join or lead the fill for this request's variant.
  void miss(Done done);
  bool isInFlight() const { return lookup_.isActive(); }

  // The answer varies on fields the key lacked (RFC 9111 §4.1): re-key to
  // the variant, call `moved` (the caller moves its capture there), then
  // publish the Vary. False when nothing changed.
  bool rekeyForVary(const http::HeaderMap& response_headers, const std::function<void()>& moved);
  // The fill this request reads moved to its variant (Fill::abandonTo).
  void followVary();
  // The VaryMemo now says other fields than this session's key has.
  bool isVaryOutdated() const;

  // What the lookup saw: the fill's key and where its answer is stored.
  const std::string& primaryKey() const { return primary_key_; }
  const std::string& entryKey() const { return vary_names_.empty() ? primary_key_ : entry_key_; }
  const std::string& identity() const { return identity_; }
  const std::vector<std::string>& varyNames() const { return vary_names_; }
  const std::vector<std::string>& versionKeys() const { return version_keys_; }
  const std::vector<std::optional<std::string>>& seenVersions() const { return seen_versions_; }
  size_t baseVersions() const { return base_versions_; }
  std::optional<uint64_t> lookupEpoch() const { return lookup_epoch_; }
  std::string fillKey() const;
  const std::optional<std::string>& principal() const { return principal_; }
  const LookupRequest& request() const { return request_; }
  bool clientWantsFresh() const { return client_wants_fresh_; }
  bool isStoreUnavailable() const { return unavailable_; }

 private:
  void keyFor(const std::vector<std::string>& vary_names);
  bool serveFromTier();
  void onLookup(LookupResult&& result);
  void onChecked(LookupResult&& result, const std::vector<std::string>& keys);
  void useEntry(std::optional<Entry> entry);
  void keepInTier(const Entry& entry);
  void join(LookupOutcome&& outcome);
  void bypass(BypassReason reason, std::string_view detail);
  void deliver(LookupOutcome::Kind kind, LookupOutcome&& outcome);

  LookupServices services_;
  LookupRequest request_;
  Refresh refresh_;
  // The outcome is built on the stack and handed from step to step, not
  // kept here: a session is allocated per read request, and one larger than
  // glibc's per-thread cache serves (1032 bytes) takes malloc's slow path
  // both ways (lookup_session.cc asserts the size).
  Done done_;
  std::optional<std::string> principal_;
  std::string primary_key_;              // the key without upstream-varied fields
  std::vector<std::string> vary_names_;  // upstream-varied fields in the key
  std::string identity_;                 // serialized RequestIdentity
  std::string entry_key_;                // the variant's key; empty (unused) while vary_names_ is
  // Read by the lookup: the route's (the first base_versions_), then
  // surrogate keys (SurrogateMemo, or the second read's).
  std::vector<std::string> version_keys_;
  std::vector<std::optional<std::string>> seen_versions_;
  size_t base_versions_ = 0;
  std::optional<uint64_t> lookup_epoch_;  // the epoch the lookup read (cache/store.h)
  std::optional<Entry> checking_;         // its surrogate versions being read (onChecked)
  bool client_wants_fresh_ = false;       // honoured client no-cache / max-age=0
  bool unavailable_ = false;              // the store failed this lookup
  uint64_t lookup_tick_ = 0;              // Coalescer::tick() when the lookup was sent
  uint64_t tier_tick_ = 0;                // MemoryTier::tick() then; 0: not for the tier
  Pending lookup_;                        // last: destroyed first, drops a late reply
};

// The key of a fill: the entry key and the versions its lookup saw. Only a
// write's token separates fills (cache/versioned_insert.h); surrogate keys
// read in advance are named too (cache::fillServesLookup). `unavailable`:
// the store could not be asked, so such fills are shared only among
// themselves.
std::string fillKeyFor(std::string_view entry_key, bool unavailable,
                       const std::vector<std::string>& version_keys,
                       const std::vector<std::optional<std::string>>& seen_versions, size_t base_versions);

// `entry` in the form this client gets (cache/stored_coding.h): decoded
// unless the client accepts the stored coding or gets a 304 (kAsStored),
// or is sent it decoded while it is sent (kDecodeWhileSending, left coded
// here). nullopt (and counted) when its stored bytes do not decode within
// `limit`.
std::optional<ServedForm> readyForClient(Entry& entry, const http::HeaderMap& request_headers, uint64_t limit);

}  // namespace larder::cache
