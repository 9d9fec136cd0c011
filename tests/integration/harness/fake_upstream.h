// FakeUpstream: a scripted HTTP/1.1 origin server on 127.0.0.1 that records
// what it receives (Varnish's `server s1 { rxreq; txresp }`).
//
// One thread accepts; each connection gets its own thread, which parses
// requests itself (Content-Length and chunked bodies, keep-alive by default),
// records each complete request, asks the handler for a FakeResponse and
// writes it. A request is recorded once its whole body has arrived and before
// the handler runs, so waitForRequests() is a barrier for "larder has sent
// it". Requests that arrive incomplete or malformed are not recorded (the
// connection is closed) but their bytes count in bytesReceived().
//
// stop() (also the destructor) closes the listener, shuts down every
// connection and releases responses held behind gates, then joins the threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/socket_io.h"
#include "harness/gate.h"
#include "harness/http_wire.h"

namespace larder::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string version;
  Headers headers;                    // arrival order, original case
  std::string body;                   // decoded; at most bodyRecordLimit() bytes kept
  uint64_t body_size = 0;             // the whole decoded body
  uint64_t body_checksum = 0;         // Checksum of the whole decoded body
  bool body_truncated = false;        // body holds only the first bytes
  bool chunked = false;               // the body came chunked
  size_t connection_index = 0;        // 0 = the first connection accepted
  size_t index_on_connection = 0;     // 0 = first request on its connection
  std::string raw_head;               // request line and headers as received

  std::string header(std::string_view name) const { return headerValue(headers, name); }
  bool hasHeader(std::string_view name) const { return test::hasHeader(headers, name); }
  std::vector<std::string> headerValues(std::string_view name) const { return test::headerValues(headers, name); }
};

struct FakeResponse {
  int status = 200;
  std::string reason = "OK";
  Headers headers;                    // sent as given; Content-Length or
                                      // Transfer-Encoding added if absent
  std::string body;
  bool chunked = false;               // send body as chunks of chunk_size
  size_t chunk_size = 4096;
  Millis delay{0};                    // wait before writing the response
  bool close_after = false;           // close the connection after it
  std::shared_ptr<Gate> hold;         // wait for this gate before answering
  std::shared_ptr<Gate> hold_body;    // after the head, wait for this gate before the body
  Millis hold_timeout{30000};         // gate not opened in time: close, no answer
  std::optional<uint64_t> stream_bytes;  // instead of body: this many pattern
                                         // bytes (see pattern.h), generated
                                         // in pieces as they are written
  std::optional<std::string> raw;     // send exactly these bytes instead
};

// Body of N generated pattern bytes, as a FakeResponse.
FakeResponse streamingResponse(uint64_t bytes, bool chunked = false);

class FakeUpstream {
 public:
  using Handler = std::function<FakeResponse(const RecordedRequest&)>;

  // Listens on 127.0.0.1 on a port chosen by the kernel. The default handler
  // answers 200 with body "hello from upstream".
  FakeUpstream();
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  uint16_t port() const { return port_; }
  // The handler runs on connection threads, possibly concurrently.
  void setHandler(Handler handler);
  // Answer "100 Continue" before reading the body of a request that has
  // Expect: 100-continue. Off by default: the body is just read.
  void setInterim100(bool on) { interim_100_ = on; }
  // Bodies are recorded up to this many bytes (default 16 MiB).
  void setBodyRecordLimit(size_t bytes) { body_record_limit_ = bytes; }

  std::vector<RecordedRequest> requests() const;
  size_t requestCount() const;
  size_t connectionCount() const { return connections_accepted_; }
  // Connections closed (by either side) so far.
  size_t closedConnectionCount() const { return connections_closed_; }
  // Bytes of response bodies written (raw responses count whole).
  uint64_t bodyBytesSent() const { return body_bytes_sent_; }
  // Every byte received on every connection, complete requests or not.
  uint64_t bytesReceived() const { return bytes_received_; }

  // True once at least n requests have been recorded.
  bool waitForRequests(size_t n, Millis timeout) const;
  bool waitForConnections(size_t n, Millis timeout) const;

  void stop();

 private:
  void acceptLoop();
  void serveConnection(int fd, size_t index);
  // Reads one request; false if the connection should close instead.
  bool readRequest(StreamReader& reader, int fd, RecordedRequest& request);
  bool writeResponse(int fd, const RecordedRequest& request, const FakeResponse& response);
  // Waits for delay/hold; false if the upstream is stopping or the hold timed out.
  bool waitBeforeAnswer(const FakeResponse& response);

  Fd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> interim_100_{false};
  std::atomic<size_t> body_record_limit_{16 * 1024 * 1024};
  std::atomic<size_t> connections_accepted_{0};
  std::atomic<size_t> connections_closed_{0};
  std::atomic<uint64_t> body_bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
  std::set<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  std::thread accept_thread_;
  Gate stopped_;
};

}  // namespace larder::test
