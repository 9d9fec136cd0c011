// GET /explain (admin/explain.h): parse, derive as the proxy does, read the
// store once, answer JSON (or the CLI's text with format=text).
#include <fmt/format.h>

#include "admin/admin_api.h"
#include "base/log.h"

namespace larder::admin {
namespace {

AdminResponse problem(int status, std::string_view message) {
  AdminResponse response;
  response.status = status;
  response.body = fmt::format("{{\"ok\":false,\"error\":{}}}\n", jsonString(message));
  return response;
}

AdminResponse rendered(const Explanation& explanation, bool text) {
  AdminResponse response;
  if (text) {
    response.content_type = "text/plain; charset=utf-8";
    response.body = renderExplanationText(explanation);
  } else {
    response.body = renderExplanationJson(explanation) + "\n";
  }
  return response;
}

}  // namespace

cache::Pending AdminApi::explain(std::string_view query, Respond respond) {
  std::string error;
  std::optional<ExplainQuery> request = parseExplainQuery(query, error);
  if (!request) {
    respond(problem(400, error));
    return {};
  }
  if (!explain_deps_.forward) {
    respond(problem(503, "explain is not available in this process"));
    return {};
  }
  auto explanation = explainRequest(*request, *config_, explain_deps_);
  if (!explanation) {
    respond(problem(400, explanation.error()));
    return {};
  }
  if (!explanation->needsLookup()) {
    respond(rendered(*explanation, request->text));
    return {};
  }
  LOG_DEBUG("admin: explain {} {} -> {}", request->method, request->url, explanation->entry_key);
  // One round trip, as the proxy's lookup (DESIGN invariant 1). The config
  // snapshot travels with the callback: explanation->route points into it.
  std::vector<std::string> keys = lookupKeys(*explanation);
  std::string entry_key = explanation->entry_key;
  return store_.lookup(std::move(keys), std::move(entry_key),
                       [config = config_, explanation = std::move(*explanation), text = request->text,
                        respond = std::move(respond)](cache::LookupResult&& result) mutable {
                         applyLookup(explanation, std::move(result), *config, base::WallClock::now());
                         respond(rendered(explanation, text));
                       });
}

}  // namespace larder::admin
