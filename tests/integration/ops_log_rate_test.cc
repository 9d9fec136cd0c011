// The error log under an upstream outage (issue #10 item 16): every failed
// request used to log a warning (94,897 lines in a 3 s outage under load).
// Each call site now writes at most log.rate_limit lines a second, then one
// "suppressed N similar messages" line, and the metric counts the rest.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <string>

#include "harness/admin_fixture.h"
#include "harness/gate.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

size_t countLines(const std::string& text, std::string_view containing) {
  size_t n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (std::string_view(text).substr(start, end - start).find(containing) != std::string_view::npos) ++n;
    start = end + 1;
  }
  return n;
}

}  // namespace

TEST_CASE("upstream down under a burst of requests: the error log stays bounded and counts what it held back") {
  const uint16_t admin_port = freePort();
  // Nothing listens on the upstream's port: every request fails to connect.
  LarderProcess larder(fmt::format("workers: 2\n"
                                   "upstream:\n"
                                   "  servers: [127.0.0.1:{}]\n"
                                   "  connect_timeout: 500ms\n"
                                   "log: {{ level: warn, rate_limit: 5 }}\n",
                                   freePort()) +
                       adminSection(admin_port));
  constexpr size_t kRequests = 1500;
  size_t bad_gateway = 0;
  const auto start = std::chrono::steady_clock::now();
  {
    auto client = std::make_unique<HttpClient>(larder.port());
    for (size_t i = 0; i < kRequests; ++i) {
      auto response = client->get(fmt::format("/down/{}", i));
      if (!response) {
        client = std::make_unique<HttpClient>(larder.port());
        continue;
      }
      if (response->status == 502) ++bad_gateway;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(bad_gateway >= kRequests * 9 / 10);

  // The metric says what was held back: every failure but the few written.
  PrometheusText metrics = scrape(admin_port);
  REQUIRE(waitUntil([&] {
    metrics = scrape(admin_port);
    return metrics.value("larder_log_lines_suppressed_total{level=\"warn\"}") > 0;
  }, 5s));
  // The supervisor reports an ended window within about a second.
  REQUIRE(waitUntil([&] { return larder.stderrText().find("similar messages") != std::string::npos; }, 5s));
  const std::string log = larder.stderrText();
  const size_t failures = countLines(log, "[warn] upstream ");
  const size_t summaries = countLines(log, "similar messages");
  MESSAGE(fmt::format("{} requests ({} answered 502) in {:.2f}s: {} upstream warning lines, {} summary lines, "
                      "{} suppressed",
                      kRequests, bad_gateway, seconds, failures, summaries,
                      metrics.value("larder_log_lines_suppressed_total{level=\"warn\"}")));
  // 5 lines per second per call site (a handful of sites), per window the
  // burst spanned, plus one summary per such window.
  const size_t windows = static_cast<size_t>(seconds) + 2;
  CHECK(failures <= 5 * windows * 2);
  CHECK(summaries >= 1);
  CHECK(summaries <= windows * 2 + 2);
  CHECK(countLines(log, "") < 100 + 20 * windows);
  CHECK(metrics.value("larder_log_lines_suppressed_total{level=\"warn\"}") + failures >= bad_gateway / 2);
  CHECK(larder.isRunning());
}

}  // namespace larder::test
