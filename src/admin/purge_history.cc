#include "admin/purge_history.h"

#include <fmt/format.h>

#include <ctime>

#include "admin/admin_api.h"

namespace larder::admin {

void PurgeHistory::add(PurgeRecord record) {
  records_.push_front(std::move(record));
  while (records_.size() > kCapacity) records_.pop_back();
}

std::string PurgeHistory::toJson() const {
  std::string out = "{\"purges\":[";
  bool first = true;
  for (const PurgeRecord& record : records_) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{{\"at\":{},\"scope\":{},\"subject\":{},\"soft\":{},\"ok\":{}}}",
                       jsonString(rfc3339(record.at)), jsonString(record.scope), jsonString(record.subject),
                       record.soft, record.ok);
  }
  out += "]}";
  return out;
}

std::string rfc3339(base::WallTime time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<int64_t>(seconds) * 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

}  // namespace larder::admin
