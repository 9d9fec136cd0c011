// EntryBody: an entry's body, either its own bytes or a read-only view of
// bytes shared with the store (a Redis worker's kept copy of the entry,
// store/redis/local_copies.h). A hit on a shared body sends the store's
// bytes as they are: no copy of a 1 MiB body per hit, and no fresh memory
// to fault in for it (issue 13).
//
// Reading never copies. Every way to change the bytes goes through own(),
// which first copies a shared body into owned bytes, so the shared ones are
// never written and nothing can change through a view.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace larder::cache {

class EntryBody {
 public:
  using Owner = std::shared_ptr<const std::string>;

  EntryBody() = default;
  EntryBody(std::string owned) : owned_(std::move(owned)) {}  // NOLINT: a string is a body
  EntryBody(const char* owned) : owned_(owned) {}              // NOLINT
  // `bytes` lies within *owner, which keeps it alive.
  static EntryBody shared(Owner owner, std::string_view bytes) {
    EntryBody body;
    body.owner_ = std::move(owner);
    body.shared_ = bytes;
    return body;
  }

  std::string_view view() const { return owner_ ? shared_ : std::string_view(owned_); }
  operator std::string_view() const { return view(); }  // NOLINT: reads as bytes
  const char* data() const { return view().data(); }
  size_t size() const { return view().size(); }
  bool empty() const { return view().empty(); }
  bool isShared() const { return owner_ != nullptr; }
  // What keeps a shared body's bytes alive (null when owned).
  const Owner& owner() const { return owner_; }

  // The bytes to change; a shared body becomes an owned copy first.
  std::string& own() {
    if (owner_) {
      owned_.assign(shared_);
      owner_.reset();
      shared_ = {};
    }
    return owned_;
  }
  // The bytes as a string: moved out when owned, copied when shared.
  std::string take() && { return std::move(own()); }

  EntryBody& operator=(std::string owned) {
    owner_.reset();
    shared_ = {};
    owned_ = std::move(owned);
    return *this;
  }
  EntryBody& operator=(const char* owned) { return *this = std::string(owned); }
  void assign(std::string_view bytes) { own().assign(bytes); }
  void assign(size_t count, char c) { own().assign(count, c); }
  void clear() { *this = std::string(); }

  friend bool operator==(const EntryBody& a, std::string_view b) { return a.view() == b; }

 private:
  std::string owned_;
  Owner owner_;
  std::string_view shared_;
};

}  // namespace larder::cache
