// ShadowComparison: for a shadow route's sampled would-be hit
// (proxy/shadow_route.h), the stored answer's status and body digest,
// compared with the fresh answer once it is complete. Holds at most
// `max` body bytes (DESIGN invariant 8): past them the comparison is
// given up.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "cache/digest.h"

namespace larder::proxy {

class ShadowComparison {
 public:
  void expect(int status, const cache::Digest128& digest) {
    expected_ = Expected{status, digest};
    body_.clear();
  }
  void cancel() {
    expected_.reset();
    std::string().swap(body_);
  }
  bool isExpecting() const { return expected_.has_value(); }
  // The fresh body as it streams.
  void keep(std::string_view data, size_t max) {
    if (!expected_) return;
    if (body_.size() + data.size() > max) {
      cancel();
      return;
    }
    body_.append(data);
  }
  // The fresh answer is complete (status `status`): compared, if expected.
  void compare(int status) {
    if (!expected_) return;
    compared_ = true;
    mismatch_ = expected_->status != status || !(expected_->digest == cache::murmur3x64_128(body_));
    cancel();
  }
  bool isCompared() const { return compared_; }
  bool isMismatch() const { return mismatch_; }

 private:
  struct Expected {
    int status = 0;
    cache::Digest128 digest;
  };
  std::optional<Expected> expected_;
  std::string body_;
  bool compared_ = false;
  bool mismatch_ = false;
};

}  // namespace larder::proxy
