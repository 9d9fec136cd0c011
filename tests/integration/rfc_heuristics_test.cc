// Heuristic freshness (RFC 9111 §4.2.2): a fraction of the time since
// Last-Modified, for heuristically cacheable statuses (RFC 9110 §15.1) or
// answers marked public; `heuristic: off` turns it off.
#include "rfc_support.h"

namespace larder::test {
namespace {

std::vector<Case> heuristicCases() {
  const Headers modified = {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-24h)}};
  std::vector<Case> cases;
  for (int status : {200, 203, 204, 404, 405, 410, 414, 501})
    cases.push_back({"heuristically cacheable " + std::to_string(status), "/h/" + std::to_string(status), status,
                     modified, true});
  for (int status : {201, 202, 403, 502, 503, 504, 599})
    cases.push_back({"not heuristically cacheable " + std::to_string(status), "/h/" + std::to_string(status),
                     status, modified, false});
  Headers with_public = modified;
  with_public.emplace_back("Cache-Control", "public");
  cases.push_back({"public makes 599 heuristically cacheable", "/h/599-public", 599, with_public, true});
  cases.push_back({"Last-Modified in the future", "/h/future", 200,
                   {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(1h)}}, false});
  cases.push_back({"Age past the heuristic lifetime", "/h/aged", 200,
                   {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-100s)}, {"Age", "60"}}, false});
  return cases;
}

TEST_CASE("RFC 9111 §4.2.2: heuristic freshness from Last-Modified for heuristically cacheable statuses") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory, Mode::kTier}) checkReuse(mode, heuristicCases());
  checkReuse(Mode::kMemory, {{"heuristic: off", "/noheuristic/a", 200,
                              {{"Date", httpDate(0s)}, {"Last-Modified", httpDate(-24h)}}, false}});
}

}  // namespace
}  // namespace larder::test
