#include "http/serializer.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("a request head is serialized as HTTP/1.1 with its fields") {
  HeaderMap h;
  h.add("Host", "example.com");
  h.add("X-A", "b");
  std::string out = "prefix|";
  appendRequestHead("GET", "/p?q=1", h, out);
  CHECK(out == "prefix|GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\nX-A: b\r\n\r\n");
}

TEST_CASE("a response head carries its version, status and reason") {
  HeaderMap h;
  h.add("Content-Length", "0");
  std::string out;
  appendResponseHead(1, 404, reasonPhrase(404), h, out);
  CHECK(out == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  out.clear();
  appendResponseHead(0, 200, "OK", HeaderMap{}, out);
  CHECK(out == "HTTP/1.0 200 OK\r\n\r\n");
}

TEST_CASE("reason phrases come from one table") {
  CHECK(reasonPhrase(200) == "OK");
  CHECK(reasonPhrase(304) == "Not Modified");
  CHECK(reasonPhrase(413) == "Content Too Large");
  CHECK(reasonPhrase(431) == "Request Header Fields Too Large");
  CHECK(reasonPhrase(502) == "Bad Gateway");
  CHECK(reasonPhrase(504) == "Gateway Timeout");
  CHECK(reasonPhrase(799) == "Unknown");
}

TEST_CASE("chunk headers are lower-case hex sizes") {
  std::string out;
  appendChunkHeader(0, out);
  appendChunkHeader(255, out);
  appendChunkHeader(4096, out);
  appendChunkHeader(UINT64_MAX, out);
  CHECK(out == "0\r\nff\r\n1000\r\nffffffffffffffff\r\n");
  CHECK(kLastChunk == "0\r\n\r\n");
}

// The heads are written into space made once (serializer.cc's Writer):
// what was in `out` stays, and the space a short status did not use is
// given back.
TEST_CASE("a head appended after other bytes keeps them and has the exact length") {
  HeaderMap h;
  h.add("Age", "0");
  h.add("X-Empty", "");
  std::string out = "earlier bytes";
  appendResponseHead(1, 7, "", h, out);
  CHECK(out == "earlier bytesHTTP/1.1 7 \r\nAge: 0\r\nX-Empty: \r\n\r\n");
  out = "x";
  appendResponseHead(1, -5, "Odd", HeaderMap{}, out);  // a negative status writes 0
  CHECK(out == "xHTTP/1.1 0 Odd\r\n\r\n");
  out = "y";
  appendResponseHead(1, 2147483647, "Max", HeaderMap{}, out);
  CHECK(out == "yHTTP/1.1 2147483647 Max\r\n\r\n");
  out.clear();
  appendHeaders(HeaderMap{}, out);
  CHECK(out == "\r\n");
  appendHeaders(h, out);
  CHECK(out == "\r\nAge: 0\r\nX-Empty: \r\n\r\n");
}
