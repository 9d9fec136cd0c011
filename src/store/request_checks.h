// Precondition checks shared by the stores. A request that breaks the Store
// contract (a key without a TTL would break DESIGN invariant 2) is refused
// with a warning rather than stored or crashed on.
#pragma once

#include "cache/store.h"

namespace larder::store {

bool isValidInsert(const cache::InsertRequest& request);
bool isValidInvalidation(const cache::Invalidation& invalidation);

}  // namespace larder::store
