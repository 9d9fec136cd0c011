// HTTP/1.x response parser over llhttp, for upstream answers. It knows the
// request method (a HEAD answer has no body) and handles 1xx interim
// responses, delivering each as its own head + complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"
#include "http/parse_error.h"

namespace larder::http {

class ResponseParser {
 public:
  struct Limits {
    uint64_t max_header_bytes = 64 * 1024;
  };

  class Handler {
   public:
    virtual ~Handler() = default;
    // Once per response head, interim (1xx) heads included.
    virtual void onResponseHead(ResponseHead& head) = 0;
    // Body bytes with chunk framing removed.
    virtual void onResponseBody(std::string_view data) = 0;
    // The response (or an interim response) is complete; the parser is
    // paused until resume().
    virtual void onResponseComplete() = 0;
  };

  ResponseParser(Handler& handler, Limits limits);
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Call before the response to each request: a HEAD answer has no body.
  void expectResponseTo(std::string_view request_method);
  size_t feed(std::string_view data);
  bool isPaused() const { return paused_; }
  void resume();
  // The upstream closed. Completes a close-delimited body (calling
  // onResponseComplete) and returns kNone; kTruncated if the close cut a
  // response short; kNone if no response was in progress.
  ParseError finish();

  ParseError error() const { return error_; }
  const std::string& errorReason() const { return error_reason_; }
  bool isMidMessage() const { return mid_message_; }

 private:
  struct Impl;
  friend struct Impl;
  std::unique_ptr<Impl> impl_;
  bool paused_ = false;
  bool mid_message_ = false;
  ParseError error_ = ParseError::kNone;
  std::string error_reason_;
};

}  // namespace larder::http
