// Why a client connection closed or got a local error answer: one table
// generates the enum, the metric label, the is-error flag and the text
// (STYLE E4). Every close records exactly one reason.
#pragma once

#include <string_view>

namespace larder::proxy {

// X(name, label, is_error, text)
#define LARDER_CLOSE_REASONS(X)                                                   \
  X(kNone, "none", false, "open")                                                 \
  X(kClientClosed, "client_closed", false, "client closed the connection")        \
  X(kNotKeepAlive, "not_keep_alive", false, "response ended the connection")     \
  X(kIdleTimeout, "idle_timeout", false, "keep-alive connection idle too long")   \
  X(kShutdown, "shutdown", false, "server shutting down")                         \
  X(kHeaderTimeout, "header_timeout", true, "request head not received in time")  \
  X(kBodyTimeout, "body_timeout", true, "request body stalled")                   \
  X(kSendTimeout, "send_timeout", true, "client left its answers unread too long") \
  X(kBadRequest, "bad_request", true, "malformed request")                        \
  X(kHeadersTooLarge, "headers_too_large", true, "request header section too large") \
  X(kBodyTooLarge, "body_too_large", true, "request body too large")              \
  X(kUnsupported, "unsupported", true, "unsupported protocol feature")            \
  X(kClientError, "client_error", true, "client connection error")                \
  X(kUpstreamFailed, "upstream_failed", true, "upstream failed mid-response")     \
  X(kFellBehind, "fell_behind", true, "reader fell behind an unstored shared answer's window") \
  X(kStoredCorrupt, "stored_corrupt", true, "a stored entry stopped decoding mid-answer")  \
  X(kConnectionLimit, "connection_limit", true, "worker connection limit reached")

enum class CloseReason {
#define LARDER_X(name, label, is_error, text) name,
  LARDER_CLOSE_REASONS(LARDER_X)
#undef LARDER_X
};

constexpr std::string_view label(CloseReason reason) {
  switch (reason) {
#define LARDER_X(name, label, is_error, text) \
  case CloseReason::name: return label;
    LARDER_CLOSE_REASONS(LARDER_X)
#undef LARDER_X
  }
  return "unknown";
}

constexpr bool isError(CloseReason reason) {
  switch (reason) {
#define LARDER_X(name, label, is_error, text) \
  case CloseReason::name: return is_error;
    LARDER_CLOSE_REASONS(LARDER_X)
#undef LARDER_X
  }
  return true;
}

constexpr std::string_view text(CloseReason reason) {
  switch (reason) {
#define LARDER_X(name, label, is_error, text) \
  case CloseReason::name: return text;
    LARDER_CLOSE_REASONS(LARDER_X)
#undef LARDER_X
  }
  return "unknown";
}

}  // namespace larder::proxy
