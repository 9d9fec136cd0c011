#include "admin/admin_connection.h"

#include <fmt/format.h>

#include "base/log.h"

namespace larder::admin {
namespace {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Admin requests are small: a purge carries its subject in the target.
constexpr http::RequestParser::Limits kLimits{16 * 1024, 64 * 1024};

}  // namespace

AdminConnection::AdminConnection(net::Loop& loop, AdminApi& api, ClosedCallback on_closed)
    : api_(api),
      on_closed_(std::move(on_closed)),
      stream_(loop, *this),
      parser_(*this, kLimits),
      timer_(loop) {}

AdminConnection::~AdminConnection() = default;

bool AdminConnection::accept(uv_stream_t* server) {
  if (stream_.accept(server) != 0) {
    close();
    return false;
  }
  timer_.start(kRequestTimeout, [this] { close(); });
  stream_.startReading();
  return true;
}

void AdminConnection::close() {
  if (closing_) return;
  closing_ = true;
  timer_.stop();
  pending_.cancel();
  stream_.close();
}

void AdminConnection::onStreamRead(std::string_view data) {
  if (answered_) return;
  parser_.feed(data);
  if (parser_.error() != http::ParseError::kNone && !answered_) {
    AdminResponse response;
    response.status = http::statusFor(parser_.error());
    response.body = fmt::format("{{\"ok\":false,\"error\":{}}}\n", jsonString(parser_.errorReason()));
    respond(std::move(response));
  }
}

void AdminConnection::onStreamEnd(int) {
  // A client that half-closes after its request still gets the answer.
  if (!parser_.isPaused()) close();
}

void AdminConnection::onStreamWritten(int status) {
  if (status != 0 || (answered_ && stream_.writeQueueBytes() == 0)) close();
}

// The AdminServer destroys this connection on a later turn.
void AdminConnection::onStreamClosed() { on_closed_(*this); }

void AdminConnection::onRequestHead(http::RequestHead& head) {
  request_.method = head.method;
  request_.target = head.target;
  if (const std::string* authorization = head.headers.find("Authorization"))
    request_.authorization = *authorization;
}

void AdminConnection::onRequestComplete() {
  stream_.stopReading();
  pending_ = api_.handle(request_, [this](AdminResponse&& response) { respond(std::move(response)); });
}

void AdminConnection::respond(AdminResponse&& response) {
  if (answered_ || closing_) return;
  answered_ = true;
  timer_.stop();
  LOG_DEBUG("admin: {} {} -> {}", request_.method, request_.target, response.status);
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n{}"
      "Connection: close\r\n\r\n",
      response.status, reasonPhrase(response.status), response.content_type, response.body.size(),
      response.extra_headers);
  if (request_.method != "HEAD") out += response.body;
  if (!stream_.write(std::move(out))) close();
}

}  // namespace larder::admin
