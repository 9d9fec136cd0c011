// What the admin API's /explain borrows from the rest of the process
// (admin/explain.h): the proxy's forwarding derivation, which admin may not
// include (STYLE §1 layering), and the process-wide memos the proxy keys by.
#pragma once

#include "admin/explain.h"
#include "app/worker.h"

namespace larder::app {

// `shared` must outlive the admin server.
admin::ExplainDeps explainDeps(SharedState& shared);

}  // namespace larder::app
