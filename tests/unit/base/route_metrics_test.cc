// Route-labelled families (base/route_metrics.h): bounded slots, names kept
// across reloads, lazy rendering of non-zero series only.
#include <doctest/doctest.h>

#include <string>

#include "base/route_metrics.h"

using namespace larder::base;

namespace {
RouteCounterFamily test_route_family("larder_test_route_things_total", "Things, by route and color.",
                                     "color", {"red", "blue"});
RouteHistogram test_route_histogram("larder_test_route_wait_seconds", "Waits, by route.");

bool includes(const std::string& text, const std::string& piece) {
  return text.find(piece) != std::string::npos;
}
}  // namespace

TEST_CASE("route slots: - and other are fixed, names keep their slot, the limit sends the rest to other") {
  RouteLabels& labels = RouteLabels::instance();
  CHECK(labels.slotOf("-", 10) == RouteLabels::kUnrouted);
  CHECK(labels.slotOf("other", 10) == RouteLabels::kOther);
  const uint32_t a = labels.slotOf("unit route a", 10);
  CHECK(a > RouteLabels::kOther);
  CHECK(labels.slotOf("unit route a", 10) == a);
  CHECK(labels.slotOf("unit route a", 0) == a);  // already named: kept
  CHECK(labels.slotOf("unit route new", 0) == RouteLabels::kOther);
  // The capacity bounds the label values whatever the limit asks for.
  for (int i = 0; i < 600; ++i) labels.slotOf("unit bulk " + std::to_string(i), 100000);
  CHECK(labels.rendered().size() == RouteLabels::kCapacity);
  CHECK(labels.slotOf("unit one too many", 100000) == RouteLabels::kOther);
  CHECK(labels.rendered()[RouteLabels::kUnrouted] == "route=\"-\"");
  CHECK(labels.rendered()[RouteLabels::kOther] == "route=\"other\"");
}

TEST_CASE("route families render only series that are not zero, route label first") {
  const uint32_t a = RouteLabels::instance().slotOf("unit route a", 10);
  std::string empty;
  test_route_family.renderSeries(empty);
  CHECK(empty.empty());
  test_route_family.add(a, 1, 3);
  test_route_family.add(RouteLabels::kUnrouted, 0, 1);
  test_route_family.add(RouteLabels::kCapacity + 5, 0, 2);  // out of range: other
  test_route_family.add(a, 9, 1);                            // out of range index: the last
  std::string text;
  test_route_family.renderSeries(text);
  CHECK(includes(text, "larder_test_route_things_total{route=\"unit route a\",color=\"blue\"} 4\n"));
  CHECK(includes(text, "larder_test_route_things_total{route=\"-\",color=\"red\"} 1\n"));
  CHECK(includes(text, "larder_test_route_things_total{route=\"other\",color=\"red\"} 2\n"));
  CHECK_FALSE(includes(text, "route=\"unit route a\",color=\"red\""));
}

TEST_CASE("route histograms are cumulative per route, with _sum and _count") {
  const uint32_t a = RouteLabels::instance().slotOf("unit route a", 10);
  test_route_histogram.observe(a, std::chrono::microseconds(300));
  test_route_histogram.observe(a, std::chrono::milliseconds(20));
  test_route_histogram.observe(a, std::chrono::seconds(30));
  CHECK(test_route_histogram.count(a) == 3);
  std::string text;
  test_route_histogram.renderSeries(text);
  CHECK(includes(text, "larder_test_route_wait_seconds_bucket{route=\"unit route a\",le=\"0.0005\"} 1\n"));
  CHECK(includes(text, "larder_test_route_wait_seconds_bucket{route=\"unit route a\",le=\"0.025\"} 2\n"));
  CHECK(includes(text, "larder_test_route_wait_seconds_bucket{route=\"unit route a\",le=\"+Inf\"} 3\n"));
  CHECK(includes(text, "larder_test_route_wait_seconds_sum{route=\"unit route a\"} 30.0203\n"));
  CHECK(includes(text, "larder_test_route_wait_seconds_count{route=\"unit route a\"} 3\n"));
  CHECK_FALSE(includes(text, "route=\"-\""));  // nothing observed there
}
