// AdminApi: the admin listener's endpoints, independent of sockets.
//
//   GET  /metrics                   Prometheus text (token required if set)
//   GET  /healthz                   200 "ok" while the process runs
//   GET  /readyz                    200 + JSON when serving; 503 otherwise
//   POST /purge/namespace/{name}    invalidate one namespace
//   POST /purge?url=URL             invalidate every variant of one URL
//   POST /purge/all                 invalidate everything
//   GET  /explain?url=URL&h=...     why a URL is a HIT, MISS or BYPASS (admin/explain.h)
//        (each purge: ?soft=1 marks stale instead, cache/soft_purge.h)
//   GET  /                          the status page (admin/status_page.h)
//   GET  /status/purges             this instance's recent purges, JSON
//
// Protection: the listener binds to loopback by default; with
// admin.token_file set, /metrics and every purge need
// "Authorization: Bearer <token>" (401 otherwise). Health endpoints stay open
// for probes. Unknown paths get 404, known paths with another method 405.
// The status page itself holds no data and is open; /status/purges needs
// the token like /metrics.
//
// Runs on the admin loop only. Purges go through that loop's cache::Store,
// so they reach every larder sharing the same Redis.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "admin/explain.h"
#include "admin/purge_history.h"
#include "cache/invalidation_backlog.h"
#include "cache/memory_tier.h"
#include "cache/store.h"
#include "config/config.h"
#include "config/namespace_index.h"

namespace larder::admin {

struct PurgeRequest;

struct AdminRequest {
  std::string method;
  std::string target;         // raw request-target
  std::string authorization;  // the Authorization field, if any
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string extra_headers;  // complete "Name: value\r\n" lines
};

// What /readyz reports besides the store.
// What the process keeps besides the store that a purge must reach; either
// may be null.
struct PurgeReach {
  cache::InvalidationBacklog* backlog = nullptr;  // retries purges the store could not take
  cache::MemoryTier* tier = nullptr;               // forgets purged copies at once
};

struct Readiness {
  std::atomic<bool> listening{false};
};

class AdminApi {
 public:
  using Respond = std::function<void(AdminResponse&&)>;

  AdminApi(config::ConfigPtr config, cache::Store& store, PurgeReach reach, const Readiness& readiness);

  // Answers through `respond`: at once (before returning, and then the
  // returned Pending is empty) or later on this loop, once the store has
  // answered. Destroying the returned Pending drops a late answer.
  cache::Pending handle(const AdminRequest& request, Respond respond);

  void setConfig(config::ConfigPtr config);
  // What /explain reads besides the config and the store; without it
  // (forward unset) /explain answers 503.
  void setExplainDeps(ExplainDeps deps) { explain_deps_ = std::move(deps); }

 private:
  bool isAuthorized(const AdminRequest& request) const;
  cache::Pending purge(const PurgeRequest& purge, Respond respond);
  cache::Pending ready(Respond respond);
  cache::Pending explain(std::string_view query, Respond respond);  // explain_endpoint.cc

  config::ConfigPtr config_;
  // The read routes' namespaces of config_, for the purge answer's warning.
  std::shared_ptr<const config::NamespaceIndex> namespaces_;
  cache::Store& store_;
  PurgeReach reach_;
  const Readiness& readiness_;
  ExplainDeps explain_deps_;
  PurgeHistory history_;  // for the status page
};

// Minimal JSON string escaping (quotes included).
std::string jsonString(std::string_view text);

}  // namespace larder::admin
