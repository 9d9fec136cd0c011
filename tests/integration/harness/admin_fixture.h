// Helpers for tests of larder's admin listener: a config section that turns
// it on at a free loopback port, and one-shot requests to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/harness_error.h"
#include "harness/http_client.h"
#include "harness/ports.h"
#include "harness/prometheus.h"

namespace larder::test {

// "admin:" with listen on `port` and, if given, token_file.
inline std::string adminSection(uint16_t port, std::string_view token_file = {}) {
  std::string text = fmt::format("admin:\n  listen: 127.0.0.1:{}\n", port);
  if (!token_file.empty()) text += fmt::format("  token_file: {}\n", token_file);
  return text;
}

// One request on a fresh connection to the admin port; `token` adds
// "Authorization: Bearer <token>".
inline std::optional<HttpResponse> adminRequest(uint16_t port, std::string_view method,
                                                std::string_view target,
                                                std::string_view token = {}) {
  HttpClient client(port);
  Headers headers;
  if (!token.empty()) headers.emplace_back("Authorization", fmt::format("Bearer {}", token));
  return client.request(method, target, headers, {}, 10s);
}

inline PrometheusText scrape(uint16_t port, std::string_view token = {}) {
  auto response = adminRequest(port, "GET", "/metrics", token);
  if (!response || response->status != 200) throw HarnessError("GET /metrics failed");
  return parsePrometheus(response->body);
}

}  // namespace larder::test
