// HttpClient: a blocking HTTP/1.1 client over one TCP connection to
// 127.0.0.1:port, for driving larder byte by byte. send() writes raw bytes
// exactly as given (malformed requests included); readResponse() parses one
// response (Content-Length, chunked, or until close) and keeps whatever
// follows in its buffer, so pipelined responses are read one call at a time.
// Every call takes a timeout; none blocks forever.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/socket_io.h"
#include "harness/http_wire.h"

namespace larder::test {

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string version;   // "HTTP/1.1"
  Headers headers;       // arrival order, original case
  std::string body;      // decoded
  std::string raw;       // every byte of the response as received
  bool chunked = false;  // the body came chunked

  std::string header(std::string_view name) const { return headerValue(headers, name); }
  bool hasHeader(std::string_view name) const { return test::hasHeader(headers, name); }
  std::vector<std::string> headerValues(std::string_view name) const { return test::headerValues(headers, name); }
};

// The cache status larder stamps when cache.status_header is X-Cache (the
// tests' setting): HIT, MISS, STALE, BYPASS...
inline std::string xCache(const HttpResponse& response) { return response.header("X-Cache"); }

// A response whose body was counted and hashed (see pattern.h), not kept.
struct DiscardedResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  uint64_t body_bytes = 0;
  uint64_t body_checksum = 0;
  bool complete = false;  // the body ended as framed (false: cut short)

  std::string header(std::string_view name) const { return headerValue(headers, name); }
};

// Reading a body slowly: for the first slow_for of the body, read at most
// slow_piece bytes every slow_interval; then at full speed.
struct ReadPacing {
  Millis slow_for{0};
  size_t slow_piece = 4096;
  Millis slow_interval{10};
};

class HttpClient {
 public:
  // Connects; throws HarnessError if the connection fails or times out.
  explicit HttpClient(uint16_t port, Millis connect_timeout = 5s);

  uint16_t port() const { return port_; }
  bool send(std::string_view raw, Millis timeout = 10s);
  // Writes bytes pattern bytes (pattern.h) as a body: plain, or chunked with
  // chunks of piece bytes followed by the last chunk. Nothing is held whole.
  bool sendPatternBody(uint64_t bytes, bool chunked, size_t piece = 64 * 1024, Millis timeout = 60s);

  // One response (1xx interim responses are returned on their own). nullopt
  // if it is incomplete when the timeout passes or the connection closes;
  // after a nullopt the connection is only in sync if nothing had arrived.
  std::optional<HttpResponse> readResponse(Millis timeout = 10s, bool request_was_head = false);
  // The next response that is not 1xx (interim responses are skipped).
  std::optional<HttpResponse> readFinalResponse(Millis timeout = 10s, bool request_was_head = false);
  // The same, counting and hashing the body instead of keeping it.
  std::optional<DiscardedResponse> readResponseDiscardingBody(Millis timeout = 60s, ReadPacing pacing = {});

  // Reads until the peer closes the connection; returns what arrived (after
  // any response already parsed), or nullopt if it is still open at timeout.
  std::optional<std::string> readUntilClosed(Millis timeout = 5s);
  // True if the peer closes (FIN or reset) within timeout; data is discarded.
  bool isClosedByPeer(Millis timeout = 5s) { return readUntilClosed(timeout).has_value(); }

  // A request with Host: 127.0.0.1:port unless headers has one, and
  // Content-Length when there is a body (unless headers frame it).
  std::optional<HttpResponse> request(std::string_view method, std::string_view target, const Headers& headers = {},
                                      std::string_view body = {}, Millis timeout = 10s);
  std::optional<HttpResponse> get(std::string_view target, const Headers& headers = {}, Millis timeout = 10s) {
    return request("GET", target, headers, {}, timeout);
  }

  void shutdownWrite();
  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  // Reads the status line and headers into response.
  IoStatus readResponseHead(HttpResponse& response, Deadline deadline);

  uint16_t port_;
  Fd fd_;
  std::unique_ptr<StreamReader> reader_;
};

// The text of a request: request line, headers, framing, body.
std::string formatRequest(std::string_view method, std::string_view target, const Headers& headers,
                          std::string_view body, std::string_view default_host);

// One-shot GET on a fresh connection.
std::optional<HttpResponse> httpGet(uint16_t port, std::string_view target, Millis timeout = 10s);

}  // namespace larder::test
