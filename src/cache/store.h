// The Store interface: what the cache needs from a backend. A Store holds
// opaque bytes under keys, every key with a TTL (DESIGN invariant 2); HTTP
// semantics stay in cache/ (STYLE §1).
//
// Namespace versions: a version key holds a unique random token. Invalidating
// a namespace writes a fresh token. An entry records the tokens it was
// fetched under and is valid only while every one still matches. An absent
// version key never matches (DESIGN invariant 4: eviction of a version key
// invalidates, never resurrects): insert() creates missing version keys with
// the tokens the entry records, and only if they are still missing.
//
// The epoch (surrogate keys, cache/surrogate_keys.h): every invalidation
// also advances one epoch key, atomically with its writes, to
// max(the store's clock in microseconds, its previous value + 1), and writes
// each token as "<epoch>.<token>". A lookup that reads the epoch key can so
// tell, later, whether a version key it did not read was written after it.
//
// Threading and callbacks: a Store instance belongs to one worker loop. Every
// callback runs later on that loop, never inside the call that started the
// operation, exactly once unless its Pending was destroyed first (then never).
// Errors arrive as StoreStatus::kUnavailable; a Store never fails a request
// (DESIGN invariant 5): the caller bypasses the cache.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/entry_bytes.h"
#include "net/pending.h"

namespace larder::cache {

enum class StoreStatus {
  kOk,
  kUnavailable,  // down, timed out, circuit open: bypass the cache
};

// The handle of an operation in flight (STYLE L4, net/pending.h): the
// Store's operations do not abort, so destroying it, cancel() and detach()
// all just drop the callback; the operation may still complete.
using PendingState = net::PendingState;
using Pending = net::Pending;

struct LookupResult {
  StoreStatus status = StoreStatus::kOk;
  // One per requested version key, in order; nullopt when absent.
  std::vector<std::optional<std::string>> versions;
  // The entry bytes; none when absent. Possibly shared with the store
  // (EntryBytes): decode them with decodeEntry(std::move(result.entry)).
  EntryBytes entry;

  static LookupResult unavailable() {
    LookupResult result;
    result.status = StoreStatus::kUnavailable;
    return result;
  }
};

struct VersionExpectation {
  std::string key;    // version key
  std::string token;  // the token the entry records
  // true: the key was absent at lookup; create it with `token` if still absent.
  // false: it held `token` at lookup; it must still hold it.
  bool create = false;
};

struct InsertRequest {
  std::string key;                 // entry key
  std::string value;               // encoded entry
  std::chrono::milliseconds ttl;   // > 0
  std::vector<VersionExpectation> versions;
  std::chrono::milliseconds version_ttl;  // TTL set or refreshed on version keys
};

enum class InsertOutcome {
  kStored,
  kVersionChanged,  // a namespace was invalidated meanwhile: not stored (invariant 3)
  kUnavailable,
};

struct Invalidation {
  std::vector<std::string> version_keys;
  std::vector<std::string> tokens;  // fresh tokens, one per key
  std::chrono::milliseconds version_ttl;
  // Advanced with every invalidation (see the top); required with keys.
  std::string epoch_key;
  // A soft purge (cache/soft_purge.h): each key gets "<epoch>.<token>"
  // followed by the heads its previous value listed, read and written in
  // one atomic step. Only purges may set it, never a write (invariant 3).
  bool soft = false;
};

// Separates the epoch from the caller's token in what invalidate() writes.
inline constexpr char kEpochSeparator = '.';
// The epoch key's TTL (DESIGN invariant 2), at least: it outlives version
// keys, so a lookup rarely finds it expired (cache/versioned_insert.h).
inline constexpr std::chrono::milliseconds kEpochTtl = std::chrono::hours(24 * 30);

class Store {
 public:
  using LookupCallback = std::function<void(LookupResult&&)>;
  using InsertCallback = std::function<void(InsertOutcome)>;
  using StatusCallback = std::function<void(StoreStatus)>;

  virtual ~Store() = default;

  // Reads `version_keys` and `entry_key` together, in one round trip
  // (DESIGN invariant 1). An empty `entry_key` reads versions only (the
  // result's entry is nullopt).
  virtual Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                         LookupCallback on_done) = 0;

  // Stores the entry only if every version expectation holds, atomically
  // (DESIGN invariant 3). Owns the request until done (STYLE L6): the caller
  // may go away; `on_done` may be empty.
  virtual void insert(InsertRequest request, InsertCallback on_done) = 0;

  // Advances the epoch and writes "<epoch>.<token>" to each version key
  // (with version_ttl), all atomically. kOk once they are written;
  // kUnavailable if they could not be (the caller retries).
  virtual Pending invalidate(Invalidation invalidation, StatusCallback on_done) = 0;

  // Deletes keys (purges). kOk once done.
  virtual Pending remove(std::vector<std::string> keys, StatusCallback on_done) = 0;

  // Whether the backend is currently believed reachable (breaker closed).
  virtual bool isAvailable() const = 0;
  // Whether it can serve now (a Redis store: a connection is ready).
  virtual bool isReady() const { return isAvailable(); }
  virtual std::string_view name() const = 0;
};

}  // namespace larder::cache
