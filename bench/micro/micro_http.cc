// Request parsing and header rewriting on a typical ~400-byte GET.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "http/header_map.h"
#include "http/hop_by_hop.h"
#include "http/message.h"
#include "http/request_parser.h"
#include "http/serializer.h"

namespace {

using namespace larder;

// 400 bytes give or take, what a browser or an API client sends.
constexpr std::string_view kTypicalGet =
    "GET /api/products/12345?page=2&sort=price&utm_source=newsletter HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-GB,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://shop.example.com/products\r\n"
    "X-Request-Id: 7f1c2a9e-0b4d-4e59-9a3c-1d2e3f4a5b6c\r\n"
    "Connection: keep-alive\r\n"
    "Keep-Alive: timeout=5\r\n"
    "\r\n";

struct CountingHandler final : http::RequestParser::Handler {
  http::RequestHead head;
  size_t requests = 0;
  void onRequestHead(http::RequestHead& h) override { head = std::move(h); }
  void onRequestBody(std::string_view) override {}
  void onRequestComplete() override { ++requests; }
};

// One parser per connection: parse a request, resume, parse the next one
// (the keep-alive steady state).
void BM_RequestParse(benchmark::State& state) {
  CountingHandler handler;
  http::RequestParser parser(handler, http::RequestParser::Limits{});
  for (auto _ : state) {
    size_t used = parser.feed(kTypicalGet);
    if (used != kTypicalGet.size() || parser.error() != http::ParseError::kNone) {
      state.SkipWithError("parse failed");
      break;
    }
    parser.resume();
    benchmark::DoNotOptimize(handler.head);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kTypicalGet.size()));
  state.SetLabel(std::to_string(kTypicalGet.size()) + " bytes");
}
BENCHMARK(BM_RequestParse);

http::HeaderMap typicalHeaders() {
  CountingHandler handler;
  http::RequestParser parser(handler, http::RequestParser::Limits{});
  parser.feed(kTypicalGet);
  return handler.head.headers;
}

// What the proxy does to a request head before forwarding it: drop the
// hop-by-hop fields, add the forwarding fields, serialize.
void BM_RewriteRequestHead(benchmark::State& state) {
  const http::HeaderMap original = typicalHeaders();
  std::string out;
  for (auto _ : state) {
    http::HeaderMap headers = original;
    http::removeHopByHop(headers);
    headers.add("X-Forwarded-For", "127.0.0.1");
    headers.set("X-Forwarded-Proto", "http");
    headers.add("Via", "1.1 larder");
    out.clear();
    http::appendRequestHead("GET", "/api/products/12345?page=2&sort=price&utm_source=newsletter",
                            headers, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::to_string(out.size()) + " bytes out");
}
BENCHMARK(BM_RewriteRequestHead);

// The two halves separately.
void BM_RemoveHopByHop(benchmark::State& state) {
  const http::HeaderMap original = typicalHeaders();
  for (auto _ : state) {
    http::HeaderMap headers = original;
    http::removeHopByHop(headers);
    benchmark::DoNotOptimize(headers);
  }
}
BENCHMARK(BM_RemoveHopByHop);

void BM_AppendRequestHead(benchmark::State& state) {
  http::HeaderMap headers = typicalHeaders();
  http::removeHopByHop(headers);
  std::string out;
  for (auto _ : state) {
    out.clear();
    http::appendRequestHead("GET", "/api/products/12345?page=2&sort=price&utm_source=newsletter",
                            headers, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AppendRequestHead);

}  // namespace
