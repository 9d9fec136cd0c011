#include <doctest/doctest.h>

#include <string>

#include "base/metric_catalog.h"
#include "base/metrics.h"

using namespace larder::base;

namespace {
Counter test_counter("larder_test_events_total", "Events of the unit test.");
CounterFamily test_family("larder_test_things_total", "Things, by color.",
                          labelSets("color", {"red", "blue"}));
Histogram test_histogram("larder_test_wait_seconds", "Waits.", {0.001, 0.01, 0.1});
Histogram test_labelled_histogram("larder_test_serve_seconds", "Serves, by result.", {0.001, 0.01},
                                  labelSets("cache", {"hit", "miss"}));

bool contains(const std::string& text, const std::string& piece) {
  return text.find(piece) != std::string::npos;
}
}  // namespace

TEST_CASE("counters render with HELP and TYPE lines and their labels") {
  test_counter.inc();
  test_counter.inc(2);
  test_family.add(1, 5);
  const std::string text = renderMetrics();
  CHECK(contains(text, "# HELP larder_test_events_total Events of the unit test.\n"
                       "# TYPE larder_test_events_total counter\n"
                       "larder_test_events_total 3\n"));
  CHECK(contains(text, "larder_test_things_total{color=\"red\"} 0\n"));
  CHECK(contains(text, "larder_test_things_total{color=\"blue\"} 5\n"));
}

TEST_CASE("an out-of-range label index clamps to the last series") {
  test_family.add(99, 1);
  CHECK(test_family.value(1) >= 1);
}

TEST_CASE("histograms are cumulative, with +Inf equal to _count and _sum in seconds") {
  test_histogram.observe(std::chrono::microseconds(500));    // <= 0.001
  test_histogram.observe(std::chrono::milliseconds(5));      // <= 0.01
  test_histogram.observe(std::chrono::milliseconds(10));     // <= 0.01 (bounds are inclusive)
  test_histogram.observe(std::chrono::seconds(2));           // +Inf
  const std::string text = renderMetrics();
  CHECK(contains(text, "# TYPE larder_test_wait_seconds histogram\n"));
  CHECK(contains(text, "larder_test_wait_seconds_bucket{le=\"0.001\"} 1\n"));
  CHECK(contains(text, "larder_test_wait_seconds_bucket{le=\"0.01\"} 3\n"));
  CHECK(contains(text, "larder_test_wait_seconds_bucket{le=\"0.1\"} 3\n"));
  CHECK(contains(text, "larder_test_wait_seconds_bucket{le=\"+Inf\"} 4\n"));
  CHECK(contains(text, "larder_test_wait_seconds_sum 2.0155\n"));
  CHECK(contains(text, "larder_test_wait_seconds_count 4\n"));
  CHECK(test_histogram.count() == 4);
}

TEST_CASE("a labelled histogram renders one series per label set, the label before le") {
  test_labelled_histogram.observe(1, std::chrono::milliseconds(5));
  test_labelled_histogram.observe(1, std::chrono::milliseconds(50));
  test_labelled_histogram.observe(0, std::chrono::microseconds(100));
  const std::string text = renderMetrics();
  CHECK(contains(text, "# TYPE larder_test_serve_seconds histogram\n"
                       "larder_test_serve_seconds_bucket{cache=\"hit\",le=\"0.001\"} 1\n"
                       "larder_test_serve_seconds_bucket{cache=\"hit\",le=\"0.01\"} 1\n"
                       "larder_test_serve_seconds_bucket{cache=\"hit\",le=\"+Inf\"} 1\n"
                       "larder_test_serve_seconds_sum{cache=\"hit\"} 0.0001\n"
                       "larder_test_serve_seconds_count{cache=\"hit\"} 1\n"
                       "larder_test_serve_seconds_bucket{cache=\"miss\",le=\"0.001\"} 0\n"
                       "larder_test_serve_seconds_bucket{cache=\"miss\",le=\"0.01\"} 1\n"
                       "larder_test_serve_seconds_bucket{cache=\"miss\",le=\"+Inf\"} 2\n"
                       "larder_test_serve_seconds_sum{cache=\"miss\"} 0.055\n"
                       "larder_test_serve_seconds_count{cache=\"miss\"} 2\n"));
  CHECK(test_labelled_histogram.count(0) == 1);
  CHECK(test_labelled_histogram.count(1) == 2);
}

TEST_CASE("a labelled histogram clamps an out-of-range series to the last one, as counters do") {
  const uint64_t last = test_labelled_histogram.count(1);
  test_labelled_histogram.observe(99, std::chrono::milliseconds(1));
  CHECK(test_labelled_histogram.count(1) == last + 1);
}

TEST_CASE("collectors run before a rendering and can be removed") {
  int runs = 0;
  auto id = MetricCollectors::add([&] {
    ++runs;
    metrics::memory_store_items.set(42);
  });
  const std::string text = renderMetrics();
  CHECK(runs == 1);
  CHECK(contains(text, "larder_memory_store_items 42\n"));
  MetricCollectors::remove(id);
  renderMetrics();
  CHECK(runs == 1);
}

TEST_CASE("families render sorted by name") {
  const std::string text = renderMetrics();
  CHECK(text.find("# HELP larder_build_info") < text.find("# HELP larder_requests_total"));
  CHECK(text.find("# HELP larder_requests_total") < text.find("# HELP larder_test_events_total"));
}

TEST_CASE("catalog helpers map exchange outcomes to label indexes") {
  using namespace larder::base::metrics;
  struct Row {
    std::string_view status;
    CacheResult result;
  };
  for (const Row& row : {Row{"HIT", CacheResult::kHit}, Row{"MISS", CacheResult::kMiss},
                         Row{"STALE", CacheResult::kStale}, Row{"REVALIDATED", CacheResult::kRevalidated},
                         Row{"BYPASS", CacheResult::kBypass}, Row{"-", CacheResult::kPass},
                         Row{"", CacheResult::kPass}}) {
    CHECK(cacheResult(row.status) == row.result);
  }
  CHECK(methodClass("GET") == MethodClass::kRead);
  CHECK(methodClass("HEAD") == MethodClass::kRead);
  CHECK(methodClass("DELETE") == MethodClass::kWrite);
  CHECK(methodClass("OPTIONS") == MethodClass::kOther);
  CHECK(statusClassIndex(200) == 1);
  CHECK(statusClassIndex(503) == 4);
  CHECK(statusClassIndex(99) == 4);
  CHECK(statusClassIndex(700) == 4);
  CHECK(storeRejectReasonIndex("method") == 0);
  CHECK(storeRejectReasonIndex("no_such_reason") == storeRejectReasonIndex("other"));
}

namespace {
KeyedFamily test_keyed("larder_test_per_server_total", "Per server.", "server");
}  // namespace

TEST_CASE("a keyed family learns label values at run time, escaped, and is bounded") {
  const size_t a = test_keyed.indexOf("10.0.0.1:8000");
  const size_t b = test_keyed.indexOf("api\"x\\y\n:1");
  CHECK(test_keyed.indexOf("10.0.0.1:8000") == a);  // the same value, the same series
  CHECK(a != b);
  test_keyed.add(a, 3);
  test_keyed.add(b, 1);
  std::string text = renderMetrics();
  CHECK(contains(text, "larder_test_per_server_total{server=\"10.0.0.1:8000\"} 3\n"));
  CHECK(contains(text, "larder_test_per_server_total{server=\"api\\\"x\\\\y\\n:1\"} 1\n"));
  for (size_t i = 0; i < KeyedFamily::kMaxSeries + 10; ++i) test_keyed.indexOf("host-" + std::to_string(i) + ":80");
  const size_t other = test_keyed.indexOf("one-too-many:80");
  CHECK(other == KeyedFamily::kMaxSeries - 1);
  test_keyed.add(other, 7);
  text = renderMetrics();
  CHECK(contains(text, "larder_test_per_server_total{server=\"other\"} 7\n"));
  CHECK(!contains(text, "one-too-many"));
}
