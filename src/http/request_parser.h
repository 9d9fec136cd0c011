// Strict HTTP/1.x request parser over llhttp (no lenient flags), with the
// request-smuggling checks llhttp 8 leaves to its user: bare LF line ends,
// obsolete line folding, Transfer-Encoding other than a final "chunked",
// Content-Length together with Transfer-Encoding, differing duplicate
// Content-Length, NUL and control bytes in fields.
//
// The parser pauses after each complete request so pipelined requests are
// handled one at a time: feed() then returns fewer bytes than given and the
// caller keeps the rest until it calls resume().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/parse_error.h"

namespace larder::http {

class RequestParser {
 public:
  struct Limits {
    uint64_t max_header_bytes = 16 * 1024;  // request line + fields; over: 431
    uint64_t max_body_bytes = 0;            // 0 = unlimited; over: 413
  };

  // Callbacks run synchronously inside feed(). Views are valid only during
  // the call (STYLE L5).
  class Handler {
   public:
    virtual ~Handler() = default;
    // Once per request, when the header section is complete. The handler may
    // move fields out of `head`.
    virtual void onRequestHead(RequestHead& head) = 0;
    // Body bytes with chunk framing removed; may fire many times.
    virtual void onRequestBody(std::string_view data) = 0;
    // The request is complete; the parser is now paused.
    virtual void onRequestComplete() = 0;
  };

  RequestParser(Handler& handler, Limits limits);
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from `data`; returns how many bytes were consumed. Consumes less
  // than all when a request completed (paused) or on error.
  size_t feed(std::string_view data);
  bool isPaused() const { return paused_; }
  // Allows the next pipelined request to be parsed.
  void resume();
  // The client closed its side. Returns kTruncated if a request was in
  // progress, kNone otherwise.
  ParseError finish();

  ParseError error() const { return error_; }
  // A short human-readable reason for the error, for logs and 400 bodies.
  const std::string& errorReason() const { return error_reason_; }
  // True between the first byte of a request and its completion.
  bool isMidMessage() const { return mid_message_; }
  // True once the head of the current request has been delivered.
  bool hasHead() const { return has_head_; }

 private:
  struct Impl;
  friend struct Impl;
  std::unique_ptr<Impl> impl_;
  bool paused_ = false;
  bool mid_message_ = false;
  bool has_head_ = false;
  ParseError error_ = ParseError::kNone;
  std::string error_reason_;
};

}  // namespace larder::http
