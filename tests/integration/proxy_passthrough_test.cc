// Requests that larder forwards untouched: methods and bodies byte-exact,
// chunked both ways, keep-alive and pipelining, 100-continue, HEAD, and the
// headers a proxy must drop (hop-by-hop) or add (X-Forwarded-*, Via).
#include <sys/socket.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/pattern.h"
#include "harness/proxy_fixture.h"
#include "harness/upstream_script.h"

namespace larder::test {
namespace {

// Bytes that a careless proxy would mangle: NUL, CR/LF, high bytes, and
// enough of them to need several reads.
std::string awkwardBody(size_t size) {
  static constexpr char kPrefix[] = "\0\r\n\r\n\xff\xfe HTTP/1.1 200 OK\r\n";
  std::string body(kPrefix, sizeof kPrefix - 1);
  std::string filler(size - body.size(), '\0');
  PatternSource().fill(filler.data(), filler.size());
  return body + filler;
}

// The upstream answers with a fixed response; checks that the request and the
// response cross larder unchanged.
void checkPassThrough(std::string_view method, std::string_view target, const std::string& request_body,
                      const FakeResponse& upstream_response) {
  ProxyFixture proxy;
  proxy.upstream.setHandler([&](const RecordedRequest&) { return upstream_response; });
  HttpClient client = proxy.client();
  Headers headers = {{"Accept", "application/json"}, {"X-Request-Id", "req-1 with  spaces"}};
  if (!request_body.empty()) headers.emplace_back("Content-Type", "application/octet-stream");
  auto response = client.request(method, target, headers, request_body);
  REQUIRE(response);

  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CHECK(received.method == method);
  CHECK(received.target == target);
  CHECK(received.header("Accept") == "application/json");
  CHECK(received.header("X-Request-Id") == "req-1 with  spaces");
  CHECK(received.body.size() == request_body.size());
  CHECK(received.body == request_body);
  if (!request_body.empty()) CHECK(received.header("Content-Type") == "application/octet-stream");

  CHECK(response->status == upstream_response.status);
  CHECK(response->body.size() == upstream_response.body.size());
  CHECK(response->body == upstream_response.body);
  for (const auto& [name, value] : upstream_response.headers) {
    CAPTURE(name);
    CHECK(response->headerValues(name) == headerValues(upstream_response.headers, name));
  }
  // The connection is still in step after the exchange.
  auto again = client.request(method, target, headers, request_body);
  REQUIRE(again);
  CHECK(again->status == upstream_response.status);
  CHECK(again->body == upstream_response.body);
}

FakeResponse fixedResponse(int status, std::string reason, std::string body) {
  FakeResponse response = statusAnswer(status, std::move(reason), std::move(body));
  response.headers = {{"Content-Type", "application/json; charset=utf-8"},
                      {"X-Upstream", "Value With  Spaces"},
                      {"X-Multi", "one"},
                      {"X-Multi", "two"},
                      {"ETag", "\"v1\""}};
  return response;
}

TEST_CASE("GET passes through byte-exact: method, target, headers, status and body") {
  checkPassThrough("GET", "/api/items/42?b=2&a=1&enc=%2F%20x&empty=", "",
                   fixedResponse(200, "OK", R"({"id":42,"name":"caf\u00e9"})"));
}

TEST_CASE("POST passes through byte-exact with a binary body") {
  checkPassThrough("POST", "/api/items", awkwardBody(200 * 1024),
                   fixedResponse(201, "Created", R"({"created":true})"));
}

TEST_CASE("PUT passes through byte-exact with a binary body") {
  checkPassThrough("PUT", "/api/items/42", awkwardBody(3000), fixedResponse(200, "OK", awkwardBody(150 * 1024)));
}

TEST_CASE("DELETE passes through and a 204 answer keeps the connection in step") {
  checkPassThrough("DELETE", "/api/items/42", "", fixedResponse(204, "No Content", ""));
}

TEST_CASE("upstream error statuses and their bodies pass through unchanged") {
  for (int status : {404, 500, 503}) {
    CAPTURE(status);
    checkPassThrough("GET", "/api/missing", "", fixedResponse(status, "Whatever", fmt::format("error {}", status)));
  }
}

TEST_CASE("chunked upload: the upstream receives the decoded body, framed once") {
  ProxyFixture proxy;
  HttpClient client = proxy.client();
  client.send("POST /upload HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
              "7\r\nHello, \r\n"
              "8;name=value\r\nchunked \r\n"
              "6\r\nworld!\r\n"
              "0\r\n\r\n");
  auto response = client.readResponse();
  REQUIRE(response);
  CHECK(response->status == 200);
  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CHECK(received.method == "POST");
  CHECK(received.body == "Hello, chunked world!");
  // Exactly one framing reaches the upstream: never both.
  CHECK_FALSE((received.hasHeader("Content-Length") && received.hasHeader("Transfer-Encoding")));
  CHECK(received.headerValues("Transfer-Encoding").size() <= 1);
}

TEST_CASE("chunked download: the client receives the whole body") {
  ProxyFixture proxy;
  std::string body = awkwardBody(50 * 1024);
  proxy.upstream.setHandler([&](const RecordedRequest&) {
    FakeResponse response;
    response.chunked = true;
    response.chunk_size = 777;
    response.headers = {{"Content-Type", "application/octet-stream"}};
    response.body = body;
    return response;
  });
  HttpClient client = proxy.client();
  auto response = client.get("/download");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == body);
  CHECK(response->header("Content-Type") == "application/octet-stream");
  auto again = client.get("/download");  // the framing ended where it should
  REQUIRE(again);
  CHECK(again->body == body);
}

TEST_CASE("keep-alive: 20 sequential requests on one client connection use one upstream connection") {
  ProxyFixture proxy;
  proxy.upstream.setHandler(echoTarget);
  HttpClient client = proxy.client();
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    auto response = client.get(fmt::format("/seq/{}", i));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == fmt::format("GET /seq/{}", i));
  }
  CHECK(proxy.upstream.requestCount() == 20);
  CHECK(proxy.upstream.connectionCount() == 1);
}

TEST_CASE("pipelined requests in one write are answered in order") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response = echoTarget(request);
    if (request.target == "/first") response.delay = 100ms;  // the slowest comes first
    return response;
  });
  HttpClient client = proxy.client();
  client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /second HTTP/1.1\r\nHost: x\r\n\r\n"
              "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  for (std::string target : {"/first", "/second", "/third"}) {
    CAPTURE(target);
    auto response = client.readResponse();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "GET " + target);
  }
  CHECK(proxy.upstream.requestCount() == 3);
}

TEST_CASE("Expect: 100-continue gets 100 Continue, then the final answer") {
  ProxyFixture proxy;
  proxy.upstream.setInterim100(true);
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    response.status = 201;
    response.reason = "Created";
    response.body = "got " + request.body;
    return response;
  });
  HttpClient client = proxy.client();
  client.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
  auto interim = client.readResponse(5s);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  CHECK(interim->body.empty());
  REQUIRE(client.send("hello world"));
  auto final_response = client.readFinalResponse(5s);
  REQUIRE(final_response);
  CHECK(final_response->status == 201);
  CHECK(final_response->body == "got hello world");
  REQUIRE(proxy.upstream.requestCount() == 1);
  CHECK(proxy.upstream.requests()[0].body == "hello world");
}

TEST_CASE("HEAD gets the headers and no body, and the connection stays in step") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Content-Type", "text/plain"}, {"X-Upstream", "yes"}};
    response.body = "eleven char";  // FakeUpstream sends no body to HEAD
    return response;
  });
  HttpClient client = proxy.client();
  auto head = client.request("HEAD", "/resource");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->header("Content-Length") == "11");
  CHECK(head->header("X-Upstream") == "yes");
  auto get = client.get("/resource");
  REQUIRE(get);
  CHECK(get->body == "eleven char");
  auto requests = proxy.upstream.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].method == "HEAD");
}

// RFC 9110 §8.6: never a Content-Length on a 204; on a 304 the origin's
// value (the representation's length) may stay; RFC 9112 §6.3: both end at
// their head whatever the fields say.
TEST_CASE("a 204 loses the upstream's Content-Length and Transfer-Encoding; a 304 keeps its Content-Length") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target == "/no-content") {
      response.raw = "HTTP/1.1 204 No Content\r\nContent-Length: 44\r\nX-Kept: yes\r\n\r\n";
    } else if (request.target == "/no-content-chunked") {
      response.raw = "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n";
    } else if (request.target == "/not-modified") {
      response.raw = "HTTP/1.1 304 Not Modified\r\nContent-Length: 44\r\nETag: \"v1\"\r\n\r\n";
    } else {
      response.body = "after";
    }
    return response;
  });
  for (std::string_view target : {"/no-content", "/no-content-chunked"}) {
    CAPTURE(target);
    HttpClient client = proxy.client();
    auto response = client.get(target, {}, 5s);
    REQUIRE(response);
    CHECK(response->status == 204);
    CHECK(response->header("X-Kept") == "yes");
    CHECK_FALSE(response->hasHeader("Content-Length"));
    CHECK_FALSE(response->hasHeader("Transfer-Encoding"));
    auto next = client.get("/after", {}, 5s);  // still in step
    REQUIRE(next);
    CHECK(next->body == "after");
  }
  HttpClient client = proxy.client();
  auto response = client.get("/not-modified", {{"If-None-Match", "\"v1\""}}, 5s);
  REQUIRE(response);
  CHECK(response->status == 304);
  CHECK(response->header("Content-Length") == "44");
  CHECK(response->body.empty());
}

TEST_CASE("hop-by-hop request headers are not forwarded upstream") {
  ProxyFixture proxy;
  HttpClient client = proxy.client();
  auto response = client.get("/hop", {{"Connection", "keep-alive, X-Hop-Secret"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"TE", "trailers"},
                                      {"Trailer", "X-Checksum"},
                                      {"Upgrade", "h2c"},
                                      {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                                      {"X-Hop-Secret", "must-not-leak"},
                                      {"X-End-To-End", "kept"}});
  REQUIRE(response);
  CHECK(response->status == 200);
  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CAPTURE(received.raw_head);
  for (std::string name : {"Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authorization", "X-Hop-Secret"}) {
    CAPTURE(name);
    CHECK_FALSE(received.hasHeader(name));
  }
  // larder may send a Connection header of its own, but not the client's.
  for (const auto& value : received.headerValues("Connection")) CHECK(value.find("X-Hop-Secret") == std::string::npos);
  CHECK(received.header("X-End-To-End") == "kept");
}

TEST_CASE("hop-by-hop response headers are not forwarded to the client") {
  ProxyFixture proxy;
  proxy.upstream.setHandler([](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Connection", "X-Upstream-Hop"},
                        {"Keep-Alive", "timeout=99"},
                        {"X-Upstream-Hop", "internal"},
                        {"X-End-To-End", "kept"}};
    response.body = "ok";
    return response;
  });
  auto response = httpGet(proxy.larder.port(), "/hop");
  REQUIRE(response);
  CAPTURE(response->raw);
  CHECK_FALSE(response->hasHeader("X-Upstream-Hop"));
  CHECK(response->header("Keep-Alive").find("timeout=99") == std::string::npos);
  for (const auto& value : response->headerValues("Connection")) CHECK(value.find("X-Upstream-Hop") == std::string::npos);
  CHECK(response->header("X-End-To-End") == "kept");
  CHECK(response->body == "ok");
}

TEST_CASE("X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Via are set; Host passes through") {
  ProxyFixture proxy;
  HttpClient client = proxy.client();
  auto response = client.get("/who", {{"Host", "shop.example.test"}});
  REQUIRE(response);
  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CAPTURE(received.raw_head);
  CHECK(received.header("Host") == "shop.example.test");
  CHECK(received.headerValues("Host").size() == 1);
  CHECK(received.header("X-Forwarded-For") == "127.0.0.1");
  CHECK(received.header("X-Forwarded-Proto") == "http");
  CHECK(received.header("X-Forwarded-Host") == "shop.example.test");
  CHECK(received.header("Via").rfind("1.1 ", 0) == 0);
}

TEST_CASE("X-Forwarded-For and Via from the client are appended to, not replaced") {
  ProxyFixture proxy;
  HttpClient client = proxy.client();
  auto response = client.get("/who", {{"Host", "shop.example.test"},
                                      {"X-Forwarded-For", "203.0.113.7"},
                                      {"Via", "1.0 fred"}});
  REQUIRE(response);
  REQUIRE(proxy.upstream.requestCount() == 1);
  RecordedRequest received = proxy.upstream.requests()[0];
  CAPTURE(received.raw_head);
  std::string forwarded_for;
  for (const auto& value : received.headerValues("X-Forwarded-For")) {
    forwarded_for += (forwarded_for.empty() ? "" : ", ") + value;
  }
  CHECK(forwarded_for == "203.0.113.7, 127.0.0.1");
  std::string via;
  for (const auto& value : received.headerValues("Via")) via += (via.empty() ? "" : ", ") + value;
  CHECK(via.rfind("1.0 fred, 1.1 ", 0) == 0);
}

// A finished exchange is destroyed on a later turn (net::Graveyard), after
// the next pipelined request has already started inside its finish(); and
// a client may reset in the turn its answer completes. Hits, misses, HEAD,
// pass-through reads and writes, answered in order; resets leave larder
// serving (ASan: no use after free of an exchange or a connection).
TEST_CASE("pipelined requests each start inside the previous one's end; clients that reset at the end leave no trace") {
  ProxyFixture proxy(
      "store: { memory: { max_size: 16MiB } }\n"
      "routes:\n"
      "  - match: GET /c/{id}\n"
      "    ttl: 1h\n");
  proxy.upstream.setHandler([](const RecordedRequest& request) {
    FakeResponse response;
    if (request.target.rfind("/c/", 0) == 0) response.headers = {{"Cache-Control", "max-age=60"}};
    response.body = request.method + " " + request.target;
    return response;
  });
  REQUIRE(proxy.client().get("/c/1"));  // stored: later ones are hits
  HttpClient client = proxy.client();
  const std::string pipeline = formatRequest("GET", "/c/1", {}, {}, "x") + formatRequest("HEAD", "/c/1", {}, {}, "x") +
                               formatRequest("GET", "/c/2", {}, {}, "x") + formatRequest("GET", "/p", {}, {}, "x") +
                               formatRequest("POST", "/p", {}, "x", "x") + formatRequest("GET", "/c/1", {}, {}, "x");
  REQUIRE(client.send(pipeline));
  const std::vector<std::pair<bool, std::string>> expected = {
      {false, "GET /c/1"}, {true, ""}, {false, "GET /c/2"}, {false, "GET /p"}, {false, "POST /p"}, {false, "GET /c/1"}};
  for (const auto& [head, body] : expected) {
    CAPTURE(body);
    auto response = client.readResponse(10s, head);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == body);
  }
  for (int i = 0; i < 30; ++i) {
    CAPTURE(i);
    HttpClient resetting = proxy.client();
    const std::string target = i % 3 == 0 ? "/c/1" : i % 3 == 1 ? "/p" : fmt::format("/c/r{}", i);
    REQUIRE(resetting.send(formatRequest("GET", target, {}, {}, "x") + formatRequest("GET", "/c/1", {}, {}, "x")));
    if (i % 2 == 0) resetting.readResponse(5s);  // the first answer in, the second racing the reset
    // RST instead of FIN: SO_LINGER with a zero timeout.
    struct linger abort_on_close {1, 0};
    REQUIRE(::setsockopt(resetting.fd(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
    resetting.close();
  }
  auto after = proxy.client().get("/c/1");
  REQUIRE(after);
  CHECK(after->body == "GET /c/1");
  CHECK(proxy.larder.isRunning());
}

}  // namespace
}  // namespace larder::test
