// AdminServer: the admin listener (admin.listen) on its own thread and loop,
// apart from the workers so a busy proxy never delays /metrics or a purge.
//
// Ownership (STYLE L7): the AdminServer owns the thread; the thread owns the
// loop and, on it, the listener, the AdminConnections, the AdminApi and the
// admin's own cache::Store (made by the factory the app passes in, because
// admin may not see the store module). Other threads talk to it only through
// reconfigure(), setListening() and stop().
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "admin/admin_api.h"
#include "cache/invalidation_backlog.h"
#include "cache/store.h"
#include "config/config.h"
#include "net/loop.h"

namespace larder::admin {

class AdminServer {
 public:
  // Called on the admin thread with the admin loop.
  using StoreFactory = std::function<std::unique_ptr<cache::Store>(net::Loop&, const config::Config&)>;

  // `reach`: the backlog takes purges the store could not take, for the
  // workers to retry; the tier forgets purged copies.
  AdminServer(config::ConfigPtr config, StoreFactory make_store, PurgeReach reach);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds admin.listen and starts the thread. Returns an error message, or
  // empty once listening. Call once; does nothing if admin.listen is off.
  std::string start();
  // What /explain reads (admin/explain.h). Call before start().
  void setExplainDeps(ExplainDeps deps) { explain_deps_ = std::move(deps); }
  // New requests see `config` (token, key prefix); the address stays.
  void reconfigure(config::ConfigPtr config);
  // Whether the public listener serves (reported by /readyz).
  void setListening(bool listening) { readiness_.listening = listening; }
  // Closes the listener and connections and joins the thread. Idempotent.
  void stop();

 private:
  struct State;
  void run(std::promise<std::string> started);

  config::ConfigPtr initial_config_;
  StoreFactory make_store_;
  PurgeReach reach_;
  Readiness readiness_;
  ExplainDeps explain_deps_;
  std::thread thread_;
  // Created and destroyed on the admin thread; used by other threads only
  // between start() and stop() (its queue).
  std::unique_ptr<State> state_;
};

}  // namespace larder::admin
