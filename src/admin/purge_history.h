// PurgeHistory: the last few purges this instance's admin API handled, for
// the status page (admin/status_page.h, GET /status/purges). Bounded: a ring
// of kCapacity records, oldest dropped first (DESIGN invariant 8). Runs on
// the admin loop only, like the AdminApi that owns it; no locking.
//
// Only this instance's purges: purges sent to another larder sharing the
// store are not seen here (the store does not record them).
#pragma once

#include <cstddef>
#include <deque>
#include <string>

#include "base/time.h"

namespace larder::admin {

struct PurgeRecord {
  base::WallTime at;
  std::string scope;    // namespace, url, all
  std::string subject;  // as given
  bool soft = false;
  bool ok = false;      // false: the store could not take it (queued for retry)
};

class PurgeHistory {
 public:
  static constexpr size_t kCapacity = 20;

  void add(PurgeRecord record);
  size_t size() const { return records_.size(); }

  // {"purges":[{"at":"<RFC 3339>","scope":..,"subject":..,"soft":..,"ok":..},...]},
  // newest first.
  std::string toJson() const;

 private:
  std::deque<PurgeRecord> records_;  // newest at the front
};

}  // namespace larder::admin
