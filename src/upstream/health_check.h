// HealthCheck: the active check of one upstream server (upstream.health_check),
// owned by the Pool's entry for that server. Each run sends GET path on a
// new connection to that server only (no failover, no resend), and reports
// to the server's ServerHealth: the expected status passes, anything else,
// or nothing within the check's timeout, fails. Of all workers, only the one
// that claims the turn (ServerHealth::claimCheck) runs a check.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "net/timer.h"
#include "upstream/upstream_request.h"

namespace larder::upstream {

class Pool;
class ServerHealth;

class HealthCheck : public ResponseHandler {
 public:
  HealthCheck(Pool& pool, net::Loop& loop, ServerHealth& server, std::string host_header);
  // Starts a check unless one is running.
  void run(const config::HealthCheckConfig& check);
  bool isRunning() const { return request_ != nullptr; }

 private:
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view) override {}
  void onUpstreamComplete() override;
  void onUpstreamError(UpstreamError error) override;
  void finish(bool passed, std::string_view why);

  Pool& pool_;
  ServerHealth& server_;
  std::string host_header_;
  config::HealthCheckConfig check_;
  net::Timer timeout_;
  std::unique_ptr<UpstreamRequest> request_;  // the check in flight
  bool passed_ = false;
};

}  // namespace larder::upstream
