// Why a message could not be parsed, and the status a client gets for it.
#pragma once

#include <string_view>

namespace larder::http {

enum class ParseError {
  kNone,
  kMalformed,        // 400: syntax, smuggling defences, bad chunking
  kHeadersTooLarge,  // 431: header section over its limit
  kBodyTooLarge,     // 413: declared or received body over its limit
  kTruncated,        // the peer closed mid-message
  kUnsupported,      // 505 for HTTP versions other than 1.0/1.1; 501 for upgrades
};

std::string_view toString(ParseError error);
// 400, 431, 413, 400 for kTruncated, 505 for kUnsupported.
int statusFor(ParseError error);

}  // namespace larder::http
