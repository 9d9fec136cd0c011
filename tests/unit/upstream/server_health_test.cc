#include "upstream/server_health.h"

#include <doctest/doctest.h>

#include "base/metric_catalog.h"

using namespace larder;
using namespace larder::upstream;
using namespace std::chrono_literals;
using Admission = ServerHealth::Admission;

namespace {
config::PassiveHealthConfig threeFailures() { return config::PassiveHealthConfig{3, 1000ms}; }
}  // namespace

TEST_CASE("consecutive failures mark a server down for the cooldown; then one probe goes through") {
  ServerHealth& server = serverHealth("10.9.0.1:80");
  const auto config = threeFailures();
  const size_t series = server.metricIndex();
  CHECK(server.admit(0, config) == Admission::kUp);
  server.onFailure(10, config);
  server.onFailure(20, config);
  CHECK(server.admit(30, config) == Admission::kUp);  // two are not enough
  CHECK(server.isUp());
  server.onFailure(40, config);
  CHECK_FALSE(server.isUp());
  CHECK(base::metrics::upstream_server_up.value(series) == 0);
  CHECK(base::metrics::upstream_server_marked_down.value(series) == 1);
  CHECK(server.admit(41, config) == Admission::kDown);
  CHECK(server.admit(1039, config) == Admission::kDown);
  CHECK(server.admit(1040, config) == Admission::kProbe);  // cooldown over: one probe
  CHECK(server.admit(1041, config) == Admission::kDown);   // only one
  server.onSuccess();
  CHECK(server.isUp());
  CHECK(base::metrics::upstream_server_up.value(series) == 1);
  CHECK(server.admit(1042, config) == Admission::kUp);
}

TEST_CASE("a success resets the count; a failed probe starts another cooldown; a lost probe frees its slot") {
  ServerHealth& server = serverHealth("10.9.0.2:80");
  const auto config = threeFailures();
  server.onFailure(0, config);
  server.onFailure(0, config);
  server.onSuccess();
  server.onFailure(0, config);
  server.onFailure(0, config);
  CHECK(server.isUp());  // not three in a row
  server.onFailure(100, config);
  CHECK_FALSE(server.isUp());
  CHECK(server.admit(1100, config) == Admission::kProbe);
  server.onFailure(1150, config);  // the probe failed
  CHECK(server.admit(2149, config) == Admission::kDown);
  CHECK(server.admit(2150, config) == Admission::kProbe);
  // That probe never reports (its client left): another may go after a cooldown.
  CHECK(server.admit(3149, config) == Admission::kDown);
  CHECK(server.admit(3150, config) == Admission::kProbe);
}

TEST_CASE("failures 0: a server is never marked down, but failures are counted") {
  ServerHealth& server = serverHealth("10.9.0.3:80");
  const config::PassiveHealthConfig off{0, 1000ms};
  for (int i = 0; i < 10; ++i) server.onFailure(0, off);
  server.countFailure();
  CHECK(server.isUp());
  CHECK(server.admit(1, off) == Admission::kUp);
  CHECK(base::metrics::upstream_server_failures.value(server.metricIndex()) == 11);
}

TEST_CASE("the table has one entry per server name, at a stable address") {
  ServerHealth& a = serverHealth("10.9.0.4:80");
  for (int i = 0; i < 100; ++i) serverHealth("10.8.0." + std::to_string(i) + ":80");
  CHECK(&serverHealth("10.9.0.4:80") == &a);
  CHECK(&serverHealth("10.9.0.5:80") != &a);
}

TEST_CASE("active checks: one claimant per interval; a failed check marks down at once, a pass up") {
  ServerHealth& server = serverHealth("10.9.0.6:80");
  const auto config = threeFailures();
  CHECK(server.claimCheck(1000, 1000ms));
  CHECK_FALSE(server.claimCheck(1000, 1000ms));  // another worker, same turn
  CHECK_FALSE(server.claimCheck(1800, 1000ms));
  CHECK(server.claimCheck(1900, 1000ms));         // a tenth early is still its turn
  server.onCheckFailed(2000, config);
  CHECK_FALSE(server.isUp());
  CHECK(server.admit(2001, config) == Admission::kDown);
  server.onSuccess();
  CHECK(server.isUp());
}
