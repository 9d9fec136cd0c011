#include "harness/fake_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "common/harness_error.h"
#include "harness/pattern.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

constexpr Millis kIdleTimeout = 120s;       // a kept-alive connection with no request
constexpr Millis kRequestTimeout = 120s;    // one request, head and body
constexpr Millis kWriteProgressTimeout = 60s;
constexpr size_t kStreamPiece = 64 * 1024;

}  // namespace

FakeResponse streamingResponse(uint64_t bytes, bool chunked) {
  FakeResponse response;
  response.stream_bytes = bytes;
  response.chunked = chunked;
  response.headers = {{"Content-Type", "application/octet-stream"}};
  return response;
}

FakeUpstream::FakeUpstream() {
  handler_ = [](const RecordedRequest&) {
    FakeResponse response;
    response.headers = {{"Content-Type", "text/plain"}};
    response.body = "hello from upstream";
    return response;
  };
  listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_.isValid()) throw HarnessError(fmt::format("socket: {}", std::strerror(errno)));
  // A reserved port, not port 0: once stop() closes it, tests use it as a
  // down server, and the kernel would hand a port-0 one to the next process
  // that binds, another test's upstream (common/reserved_port.h).
  port_ = freePort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_.get(), 512) != 0) {
    throw HarnessError(fmt::format("FakeUpstream cannot listen on port {}: {}", port_, std::strerror(errno)));
  }
  accept_thread_ = std::thread([this] { acceptLoop(); });
}

FakeUpstream::~FakeUpstream() { stop(); }

void FakeUpstream::setHandler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<RecordedRequest> FakeUpstream::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t FakeUpstream::requestCount() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool FakeUpstream::waitForRequests(size_t n, Millis timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool FakeUpstream::waitForConnections(size_t n, Millis timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return connections_accepted_ >= n; });
}

void FakeUpstream::stop() {
  if (stopping_.exchange(true)) return;
  stopped_.open();
  ::shutdown(listener_.get(), SHUT_RDWR);  // wakes the accept loop's poll
  if (accept_thread_.joinable()) accept_thread_.join();
  listener_.reset();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    // Wakes every connection thread blocked in poll/recv/send.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(connection_threads_);
  }
  for (auto& t : threads) t.join();
}

void FakeUpstream::acceptLoop() {
  while (!stopping_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      break;
    }
    size_t index = connections_accepted_++;
    open_fds_.insert(fd);
    connection_threads_.emplace_back([this, fd, index] { serveConnection(fd, index); });
    changed_.notify_all();
  }
}

void FakeUpstream::serveConnection(int fd, size_t index) {
  StreamReader reader(fd);
  reader.setByteCounter(&bytes_received_);
  for (size_t n = 0; !stopping_; ++n) {
    RecordedRequest request;
    request.connection_index = index;
    request.index_on_connection = n;
    if (!readRequest(reader, fd, request)) break;
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      handler = handler_;
    }
    changed_.notify_all();
    FakeResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FakeUpstream handler threw: %s\n", e.what());
      response = FakeResponse{};
      response.status = 500;
      response.reason = "Handler Threw";
      response.body = e.what();
      response.close_after = true;
    }
    if (!waitBeforeAnswer(response)) break;
    if (!writeResponse(fd, request, response)) break;
    bool client_closes = request.version == "HTTP/1.0"
                             ? !headerHasToken(request.headers, "Connection", "keep-alive")
                             : headerHasToken(request.headers, "Connection", "close");
    if (response.close_after || client_closes || response.raw) break;
  }
  {
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
    ::close(fd);
    ++connections_closed_;
  }
  changed_.notify_all();
}

bool FakeUpstream::readRequest(StreamReader& reader, int fd, RecordedRequest& request) {
  MessageHead head;
  if (readHead(reader, head, deadlineIn(kIdleTimeout), kMaxHeadSize) != IoStatus::kOk) return false;
  Deadline deadline = deadlineIn(kRequestTimeout);
  std::string_view line = head.start_line;
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.version = line.substr(sp2 + 1);
  request.headers = std::move(head.headers);
  request.raw_head = std::move(head.raw);

  if (interim_100_ && equalsIgnoreCase(request.header("Expect"), "100-continue")) {
    if (!sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n", deadlineIn(kWriteProgressTimeout))) return false;
  }
  Checksum checksum;
  size_t limit = body_record_limit_;
  Sink sink = [&](std::string_view piece) {
    checksum.update(piece);
    if (request.body.size() < limit) {
      size_t keep = std::min(piece.size(), limit - request.body.size());
      request.body.append(piece.substr(0, keep));
    }
  };
  IoStatus st = IoStatus::kOk;
  if (headerHasToken(request.headers, "Transfer-Encoding", "chunked")) {
    request.chunked = true;
    st = readChunkedBody(reader, deadline, sink);
  } else if (request.hasHeader("Content-Length")) {
    uint64_t length = 0;
    try {
      length = std::stoull(request.header("Content-Length"));
    } catch (const std::exception&) {
      return false;
    }
    st = reader.readExact(length, deadline, sink);
  }
  if (st != IoStatus::kOk) return false;
  request.body_size = checksum.size();
  request.body_checksum = checksum.value();
  request.body_truncated = request.body.size() < request.body_size;
  return true;
}

bool FakeUpstream::waitBeforeAnswer(const FakeResponse& response) {
  if (response.hold) {
    Deadline deadline = deadlineIn(response.hold_timeout);
    while (!response.hold->wait(20ms)) {
      if (stopping_ || Clock::now() >= deadline) return false;
    }
  }
  if (response.delay > 0ms && stopped_.wait(response.delay)) return false;
  return !stopping_;
}

bool FakeUpstream::writeResponse(int fd, const RecordedRequest& request, const FakeResponse& response) {
  if (response.raw) {
    bool ok = sendAll(fd, *response.raw, deadlineIn(kWriteProgressTimeout));
    if (ok) body_bytes_sent_ += response.raw->size();
    return ok;
  }
  bool has_body = request.method != "HEAD" && !isBodylessStatus(response.status);
  uint64_t length = response.stream_bytes ? *response.stream_bytes : response.body.size();
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", response.status, response.reason);
  for (const auto& [name, value] : response.headers) head += fmt::format("{}: {}\r\n", name, value);
  if (response.chunked) {
    if (!hasHeader(response.headers, "Transfer-Encoding")) head += "Transfer-Encoding: chunked\r\n";
  } else if (!hasHeader(response.headers, "Content-Length") && !isBodylessStatus(response.status)) {
    head += fmt::format("Content-Length: {}\r\n", length);
  }
  if (response.close_after && !hasHeader(response.headers, "Connection")) head += "Connection: close\r\n";
  head += "\r\n";
  if (!sendAll(fd, head, deadlineIn(kWriteProgressTimeout))) return false;
  if (!has_body) return true;
  if (response.hold_body) {
    Deadline deadline = deadlineIn(response.hold_timeout);
    while (!response.hold_body->wait(20ms)) {
      if (stopping_ || Clock::now() >= deadline) return false;
    }
  }

  auto sendPiece = [&](std::string_view data) {
    Deadline deadline = deadlineIn(kWriteProgressTimeout);
    bool ok = response.chunked ? sendAll(fd, fmt::format("{:x}\r\n", data.size()), deadline) &&
                                     sendAll(fd, data, deadline) && sendAll(fd, "\r\n", deadline)
                               : sendAll(fd, data, deadline);
    if (ok) body_bytes_sent_ += data.size();
    return ok;
  };
  if (response.stream_bytes) {
    PatternSource source;
    std::string buffer(kStreamPiece, '\0');
    for (uint64_t left = length; left > 0 && !stopping_;) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
      source.fill(buffer.data(), take);
      if (!sendPiece(std::string_view(buffer.data(), take))) return false;
      left -= take;
    }
  } else {
    size_t piece = response.chunked ? std::max<size_t>(response.chunk_size, 1) : kStreamPiece;
    for (size_t at = 0; at < response.body.size(); at += piece) {
      if (!sendPiece(std::string_view(response.body).substr(at, piece))) return false;
    }
  }
  if (response.chunked && !sendAll(fd, "0\r\n\r\n", deadlineIn(kWriteProgressTimeout))) return false;
  return !stopping_;
}

}  // namespace larder::test
