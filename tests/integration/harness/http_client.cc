#include "harness/http_client.h"

#include <sys/socket.h>

#include <thread>

#include <fmt/format.h>

#include "common/harness_error.h"
#include "harness/pattern.h"

namespace larder::test {
namespace {

enum class Framing { kNone, kLength, kChunked, kUntilClose };

Framing framingOf(const HttpResponse& head, bool request_was_head, uint64_t& length) {
  if (request_was_head || isBodylessStatus(head.status)) return Framing::kNone;
  if (headerHasToken(head.headers, "Transfer-Encoding", "chunked")) return Framing::kChunked;
  if (head.hasHeader("Content-Length")) {
    length = std::stoull(head.header("Content-Length"));
    return Framing::kLength;
  }
  return Framing::kUntilClose;
}

}  // namespace

HttpClient::HttpClient(uint16_t port, Millis connect_timeout) : port_(port) {
  fd_ = connectLoopback(port, connect_timeout);
  if (!fd_.isValid()) throw HarnessError(fmt::format("HttpClient: cannot connect to 127.0.0.1:{}", port));
  reader_ = std::make_unique<StreamReader>(fd_.get());
}

bool HttpClient::send(std::string_view raw, Millis timeout) {
  return fd_.isValid() && sendAll(fd_.get(), raw, deadlineIn(timeout));
}

bool HttpClient::sendPatternBody(uint64_t bytes, bool chunked, size_t piece, Millis timeout) {
  Deadline deadline = deadlineIn(timeout);
  PatternSource source;
  std::string buffer(piece, '\0');
  for (uint64_t left = bytes; left > 0;) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, piece));
    source.fill(buffer.data(), take);
    std::string_view data(buffer.data(), take);
    bool ok = chunked ? sendAll(fd_.get(), fmt::format("{:x}\r\n", take), deadline) &&
                            sendAll(fd_.get(), data, deadline) && sendAll(fd_.get(), "\r\n", deadline)
                      : sendAll(fd_.get(), data, deadline);
    if (!ok) return false;
    left -= take;
  }
  return !chunked || sendAll(fd_.get(), "0\r\n\r\n", deadline);
}

IoStatus HttpClient::readResponseHead(HttpResponse& response, Deadline deadline) {
  MessageHead head;
  IoStatus st = readHead(*reader_, head, deadline, kMaxHeadSize);
  if (st != IoStatus::kOk) return st;
  // "HTTP/1.1 200 OK": the reason may be empty or hold spaces.
  std::string_view line = head.start_line;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || line.substr(0, 5) != "HTTP/") return IoStatus::kMalformed;
  response.version = line.substr(0, sp1);
  std::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  std::string code(rest.substr(0, sp2));
  if (code.size() != 3 || code.find_first_not_of("0123456789") != std::string::npos) return IoStatus::kMalformed;
  response.status = std::stoi(code);
  response.reason = sp2 == std::string_view::npos ? "" : rest.substr(sp2 + 1);
  response.headers = std::move(head.headers);
  response.raw = std::move(head.raw);
  return IoStatus::kOk;
}

std::optional<HttpResponse> HttpClient::readResponse(Millis timeout, bool request_was_head) {
  if (!fd_.isValid()) return std::nullopt;
  Deadline deadline = deadlineIn(timeout);
  HttpResponse response;
  if (readResponseHead(response, deadline) != IoStatus::kOk) return std::nullopt;
  uint64_t length = 0;
  Framing framing;
  try {
    framing = framingOf(response, request_was_head, length);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  Sink keep = [&](std::string_view piece) { response.body.append(piece); };
  reader_->setCapture(true);
  IoStatus st = IoStatus::kOk;
  switch (framing) {
    case Framing::kNone: break;
    case Framing::kLength: st = reader_->readExact(length, deadline, keep); break;
    case Framing::kChunked:
      response.chunked = true;
      st = readChunkedBody(*reader_, deadline, keep);
      break;
    case Framing::kUntilClose: st = reader_->readUntilClose(deadline, keep); break;
  }
  reader_->setCapture(false);
  response.raw += reader_->takeCapture();
  if (st != IoStatus::kOk) return std::nullopt;
  return response;
}

std::optional<HttpResponse> HttpClient::readFinalResponse(Millis timeout, bool request_was_head) {
  Deadline deadline = deadlineIn(timeout);
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    auto response = readResponse(std::max(left, Millis(0)), request_was_head);
    if (!response || response->status >= 200) return response;
  }
}

std::optional<DiscardedResponse> HttpClient::readResponseDiscardingBody(Millis timeout, ReadPacing pacing) {
  if (!fd_.isValid()) return std::nullopt;
  Deadline deadline = deadlineIn(timeout);
  HttpResponse head;
  if (readResponseHead(head, deadline) != IoStatus::kOk) return std::nullopt;
  DiscardedResponse response;
  response.status = head.status;
  response.reason = head.reason;
  response.headers = head.headers;
  uint64_t length = 0;
  Framing framing;
  try {
    framing = framingOf(head, false, length);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  Checksum checksum;
  Deadline slow_until = Clock::now() + pacing.slow_for;
  bool slow = pacing.slow_for > 0ms;
  if (slow) reader_->setReadSize(pacing.slow_piece);
  Sink count = [&](std::string_view piece) {
    checksum.update(piece);
    if (!slow) return;
    if (Clock::now() < slow_until) {
      std::this_thread::sleep_for(pacing.slow_interval);
    } else {
      slow = false;
      reader_->setReadSize(64 * 1024);
    }
  };
  IoStatus st = IoStatus::kOk;
  switch (framing) {
    case Framing::kNone: break;
    case Framing::kLength: st = reader_->readExact(length, deadline, count); break;
    case Framing::kChunked: st = readChunkedBody(*reader_, deadline, count); break;
    case Framing::kUntilClose: st = reader_->readUntilClose(deadline, count); break;
  }
  reader_->setReadSize(64 * 1024);
  response.body_bytes = checksum.size();
  response.body_checksum = checksum.value();
  response.complete = st == IoStatus::kOk;
  if (st == IoStatus::kTimeout) return std::nullopt;
  return response;
}

std::optional<std::string> HttpClient::readUntilClosed(Millis timeout) {
  if (!fd_.isValid()) return std::string();
  std::string data;
  IoStatus st = reader_->readUntilClose(deadlineIn(timeout), [&](std::string_view piece) {
    if (data.size() < 1024 * 1024) data.append(piece);
  });
  if (st == IoStatus::kTimeout) return std::nullopt;
  return data;
}

std::string formatRequest(std::string_view method, std::string_view target, const Headers& headers,
                          std::string_view body, std::string_view default_host) {
  std::string text = fmt::format("{} {} HTTP/1.1\r\n", method, target);
  if (!hasHeader(headers, "Host")) text += fmt::format("Host: {}\r\n", default_host);
  for (const auto& [name, value] : headers) text += fmt::format("{}: {}\r\n", name, value);
  bool framed = hasHeader(headers, "Content-Length") || hasHeader(headers, "Transfer-Encoding");
  bool sends_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (!framed && sends_body) text += fmt::format("Content-Length: {}\r\n", body.size());
  text += "\r\n";
  text += body;
  return text;
}

std::optional<HttpResponse> HttpClient::request(std::string_view method, std::string_view target,
                                                const Headers& headers, std::string_view body, Millis timeout) {
  std::string text = formatRequest(method, target, headers, body, fmt::format("127.0.0.1:{}", port_));
  if (!send(text, timeout)) return std::nullopt;
  return readResponse(timeout, method == "HEAD");
}

void HttpClient::shutdownWrite() {
  if (fd_.isValid()) ::shutdown(fd_.get(), SHUT_WR);
}

std::optional<HttpResponse> httpGet(uint16_t port, std::string_view target, Millis timeout) {
  HttpClient client(port, timeout);
  return client.get(target, {}, timeout);
}

}  // namespace larder::test
