#include "upstream/health_check.h"

#include "base/log.h"
#include "http/serializer.h"
#include "upstream/pool.h"
#include "upstream/server_health.h"

namespace larder::upstream {

HealthCheck::HealthCheck(Pool& pool, net::Loop& loop, ServerHealth& server, std::string host_header)
    : pool_(pool), server_(server), host_header_(std::move(host_header)), timeout_(loop) {}

void HealthCheck::run(const config::HealthCheckConfig& check) {
  if (request_ != nullptr) return;
  check_ = check;
  passed_ = false;
  OutgoingRequest out;
  out.method = "GET";
  out.server = &server_;
  http::HeaderMap headers;
  headers.set("Host", host_header_);
  headers.set("User-Agent", "larder-health-check");
  http::appendRequestHead("GET", check_.path, headers, out.head);
  timeout_.start(check_.timeout, [this] {
    server_.countFailure();
    finish(false, "no answer within the check's timeout");
  });
  request_ = pool_.start(std::move(out), *this);
}

void HealthCheck::onUpstreamHead(http::ResponseHead& head) {
  passed_ = check_.matches(head.status);
  if (!passed_) {
    server_.countFailure();
    finish(false, "status " + std::to_string(head.status));
  }
}

void HealthCheck::onUpstreamComplete() { finish(passed_, "passed"); }

// The connection has counted the failed attempt already.
void HealthCheck::onUpstreamError(UpstreamError error) { finish(false, toString(error)); }

void HealthCheck::finish(bool passed, std::string_view why) {
  timeout_.stop();
  request_.reset();  // allowed from its own callbacks; closes an unfinished exchange
  if (passed) {
    server_.onSuccess();
  } else {
    LOG_DEBUG("upstream {}: health check GET {} failed: {}", server_.name(), check_.path, why);
    server_.onCheckFailed(base::monoMillis(), pool_.config().passive_health);
  }
}

}  // namespace larder::upstream
