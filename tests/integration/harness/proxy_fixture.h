// The usual arrangement of a proxy test: a FakeUpstream and a larder in
// front of it (one worker). Declaration order matters: the upstream starts
// first and is stopped last.
#pragma once

#include <string_view>

#include "harness/fake_upstream.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {

struct ProxyFixture {
  // extra: more top-level YAML (timeouts:, limits:, ...).
  explicit ProxyFixture(std::string_view extra = {}, std::string_view response_timeout = "30s")
      : larder(proxyConfig(upstream.port(), extra, response_timeout)) {}

  HttpClient client() { return HttpClient(larder.port()); }

  FakeUpstream upstream;
  LarderProcess larder;
};

}  // namespace larder::test
