#include "store/request_checks.h"

#include "base/log.h"

namespace larder::store {

bool isValidInsert(const cache::InsertRequest& request) {
  if (request.ttl.count() <= 0) {
    LOG_WARN("store: insert of '{}' refused: ttl {}ms is not positive", request.key,
             request.ttl.count());
    return false;
  }
  if (!request.versions.empty() && request.version_ttl.count() <= 0) {
    LOG_WARN("store: insert of '{}' refused: version ttl {}ms is not positive", request.key,
             request.version_ttl.count());
    return false;
  }
  return true;
}

bool isValidInvalidation(const cache::Invalidation& invalidation) {
  if (invalidation.version_keys.size() != invalidation.tokens.size()) {
    LOG_WARN("store: invalidation refused: {} keys but {} tokens", invalidation.version_keys.size(),
             invalidation.tokens.size());
    return false;
  }
  if (!invalidation.version_keys.empty() && invalidation.version_ttl.count() <= 0) {
    LOG_WARN("store: invalidation refused: version ttl {}ms is not positive",
             invalidation.version_ttl.count());
    return false;
  }
  if (!invalidation.version_keys.empty() && invalidation.epoch_key.empty()) {
    LOG_WARN("store: invalidation refused: no epoch key");
    return false;
  }
  return true;
}

}  // namespace larder::store
