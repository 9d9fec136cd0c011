#include "http/parse_error.h"

namespace larder::http {

std::string_view toString(ParseError error) {
  switch (error) {
    case ParseError::kNone: return "none";
    case ParseError::kMalformed: return "malformed";
    case ParseError::kHeadersTooLarge: return "headers_too_large";
    case ParseError::kBodyTooLarge: return "body_too_large";
    case ParseError::kTruncated: return "truncated";
    case ParseError::kUnsupported: return "unsupported";
  }
  return "unknown";
}

int statusFor(ParseError error) {
  switch (error) {
    case ParseError::kNone: return 200;
    case ParseError::kMalformed: return 400;
    case ParseError::kHeadersTooLarge: return 431;
    case ParseError::kBodyTooLarge: return 413;
    case ParseError::kTruncated: return 400;
    case ParseError::kUnsupported: return 505;
  }
  return 400;
}

}  // namespace larder::http
