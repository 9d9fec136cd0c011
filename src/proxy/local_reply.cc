#include "proxy/local_reply.h"

#include <fmt/format.h>

#include "http/serializer.h"

namespace larder::proxy {

int statusFor(upstream::UpstreamError error) {
  switch (error) {
    case upstream::UpstreamError::kConnectTimeout:
    case upstream::UpstreamError::kResponseTimeout:
      return 504;
    case upstream::UpstreamError::kConnectFailed:
    case upstream::UpstreamError::kReset:
    case upstream::UpstreamError::kBadResponse:
      return 502;
  }
  return 502;
}

std::string buildLocalReply(int status, std::string_view message, bool close, int version_minor,
                            bool head_request, std::string_view extra_headers) {
  std::string body = fmt::format("{}\n", message);
  std::string out = fmt::format(
      "HTTP/1.{} {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{}{}\r\n",
      version_minor == 0 ? 0 : 1, status, http::reasonPhrase(status), body.size(),
      close ? "Connection: close\r\n" : "", extra_headers);
  if (!head_request) out += body;
  return out;
}

}  // namespace larder::proxy
