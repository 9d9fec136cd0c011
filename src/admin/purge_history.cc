#include "admin/purge_history.h"

#include <fmt/format.h>


#include "admin/admin_api.h"
#include "base/log.h"

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
                       jsonString(base::rfc3339(record.at)), jsonString(record.scope), jsonString(record.subject),
                       record.soft, record.ok);
  }
  out += "]}";
  return out;
}


}  // namespace larder::admin
