// Storable statuses (RFC 9111 §3): under ttl: upstream any final status with
// explicit freshness is stored (never 206 or 304); a route's statuses, and a
// fixed TTL's default of 200, restrict that.
#include "rfc_support.h"

namespace larder::test {
namespace {

std::vector<Case> statusCases() {
  std::vector<Case> cases;
  for (int status : {200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 503, 504, 599})
    cases.push_back({"max-age, " + std::to_string(status), "/s/" + std::to_string(status), status,
                     {{"Cache-Control", "max-age=3600"}, {"Location", "/elsewhere"}}, true});
  cases.push_back({"206 is never a whole answer", "/s/206", 206,
                   {{"Cache-Control", "max-age=3600"}, {"Content-Range", "bytes 0-3/100"}}, false});
  cases.push_back({"404 without freshness", "/s/404-none", 404, {}, false});
  cases.push_back({"stale 404", "/s/404-stale", 404, {{"Cache-Control", "max-age=0"}}, false});
  return cases;
}

TEST_CASE("RFC 9111 §3: under ttl: upstream, any final status with explicit freshness is stored") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory, Mode::kTier}) checkReuse(mode, statusCases());
}

TEST_CASE("RFC 9111 §3: a route's statuses, and a fixed TTL's default of 200, restrict what is stored") {
  checkReuse(Mode::kRedis, {
      {"listed status", "/only200/a", 200, {{"Cache-Control", "max-age=3600"}}, true},
      {"unlisted status", "/only200/b", 404, {{"Cache-Control", "max-age=3600"}}, false},
      {"fixed ttl: 200", "/fixed/a", 200, {}, true},
      {"fixed ttl: 404 with max-age", "/fixed/b", 404, {{"Cache-Control", "max-age=3600"}}, false},
  });
}

}  // namespace
}  // namespace larder::test
