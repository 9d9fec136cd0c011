// Why an upstream exchange failed. proxy/local_reply maps these to statuses.
#pragma once

#include <string_view>

namespace larder::upstream {

enum class UpstreamError {
  kConnectFailed,    // refused or unreachable
  kConnectTimeout,   // connect_timeout elapsed
  kResponseTimeout,  // response_timeout elapsed waiting for bytes
  kReset,            // closed or reset before the response was complete
  kBadResponse,      // unparsable response
};

constexpr std::string_view toString(UpstreamError error) {
  switch (error) {
    case UpstreamError::kConnectFailed: return "connect_failed";
    case UpstreamError::kConnectTimeout: return "connect_timeout";
    case UpstreamError::kResponseTimeout: return "response_timeout";
    case UpstreamError::kReset: return "reset";
    case UpstreamError::kBadResponse: return "bad_response";
  }
  return "unknown";
}

}  // namespace larder::upstream
