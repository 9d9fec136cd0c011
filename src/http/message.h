// Parsed message heads. Bodies are never part of these: they stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/header_map.h"

namespace larder::http {

// How the body of a message is delimited on the wire.
enum class BodyFraming {
  kNone,           // no body (GET without length, HEAD answers, 1xx/204/304)
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding
  kUntilClose,     // responses only: read until the connection closes
};

struct RequestHead {
  std::string method;  // upper case as sent, e.g. "GET"
  std::string target;  // request-target as sent
  int version_minor = 1;  // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  HeaderMap headers;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // when framing == kContentLength
  bool keep_alive = true;       // client wants the connection kept open
  bool expect_continue = false; // "Expect: 100-continue"
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version_minor = 1;
  HeaderMap headers;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;       // upstream keeps the connection open
  bool isInterim() const { return status >= 100 && status < 200; }
};

// Methods that RFC 9110 §9.2.1 calls safe; anything else is treated as unsafe.
bool isSafeMethod(std::string_view method);
// GET, HEAD, PUT, DELETE, OPTIONS, TRACE (RFC 9110 §9.2.2).
bool isIdempotentMethod(std::string_view method);

}  // namespace larder::http
