#include "app/explain_wiring.h"

#include "cache/store_decisions.h"
#include "proxy/forwarding.h"

namespace larder::app {

admin::ExplainDeps explainDeps(SharedState& shared) {
  admin::ExplainDeps deps;
  // The very derivation the proxy runs (DESIGN invariant 11). The client
  // address and HTTP version only shape X-Forwarded-For and Via, which no
  // key reads.
  deps.forward = [](std::string_view method, const http::Target& target, http::HeaderMap headers,
                    const config::Config& config,
                    const config::Route* route) -> base::Result<admin::ForwardedView, std::string> {
    auto forwarded = proxy::deriveForwardedRequest(method, target, std::move(headers), 1, "127.0.0.1", config, route);
    if (!forwarded) return base::Unexpected{std::string(proxy::toString(forwarded.error()))};
    return admin::ForwardedView{std::move(forwarded->host), std::move(forwarded->parsed),
                                std::move(forwarded->headers)};
  };
  deps.vary_memo = &shared.vary_memo;
  deps.surrogate_memo = &shared.surrogate_memo;
  deps.backlog = &shared.backlog;
  deps.decisions = &cache::storeDecisions();
  return deps;
}

}  // namespace larder::app
