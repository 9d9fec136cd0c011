// EntryBytes: a lookup's encoded entry, or none. Owned bytes (what a store
// read for this lookup), or bytes shared with the store (a Redis worker's
// kept copy, store/redis/local_copies.h), which the entry decoded from them
// keeps viewing (cache/entry_body.h) instead of copying: a hit on a kept
// 1 MiB entry then copies none of it (issue 13).
//
// Reads like std::optional<std::string> (has_value, *, ->, == a string), so
// that a caller that only reads the bytes need not care which it holds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace larder::cache {

class EntryBytes {
 public:
  using Shared = std::shared_ptr<const std::string>;

  EntryBytes() = default;
  EntryBytes(std::nullopt_t) {}                                     // NOLINT: as optional
  EntryBytes(std::string owned) : owned_(std::move(owned)) {}       // NOLINT
  EntryBytes(std::optional<std::string> owned) : owned_(std::move(owned)) {}  // NOLINT
  // Null: none.
  static EntryBytes shared(Shared bytes) {
    EntryBytes result;
    result.shared_ = std::move(bytes);
    return result;
  }

  bool has_value() const { return owned_.has_value() || shared_ != nullptr; }
  explicit operator bool() const { return has_value(); }
  // Precondition: has_value().
  const std::string& operator*() const { return shared_ ? *shared_ : *owned_; }
  const std::string* operator->() const { return &**this; }
  std::string_view value_or(std::string_view fallback) const {
    return has_value() ? std::string_view(**this) : fallback;
  }
  // The shared bytes, or null when they are owned (or none).
  const Shared& sharedBytes() const { return shared_; }
  // Owned bytes, moved out (nullopt when shared or none).
  std::optional<std::string> takeOwned() && { return std::move(owned_); }

  friend bool operator==(const EntryBytes& a, std::string_view b) {
    return a.has_value() && std::string_view(*a) == b;
  }

 private:
  std::optional<std::string> owned_;
  Shared shared_;
};

}  // namespace larder::cache
