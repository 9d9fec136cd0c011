#include "net/tcp_stream.h"

namespace larder::net {

// Owns the buffers of one uv_write until its callback runs.
struct TcpStream::WriteRequest {
  uv_write_t req;
  std::vector<std::string> pieces;
  std::shared_ptr<const void> owner;  // keeps `shared` alive
  std::string_view shared;            // sent after the pieces
  size_t bytes = 0;
};

TcpStream::TcpStream(Loop& loop, Handler& handler)
    : loop_(loop), handler_(handler), raw_(handle_.get()) {
  uv_tcp_init(loop.raw(), handle_.get());
  handle_.markInitialized();
  handle_.get()->data = this;
}

TcpStream::~TcpStream() {
  // Normally destroyed from onStreamClosed. Otherwise (loop teardown) no
  // callback may reach this object any more: clearing `data` makes cancelled
  // writes only free their requests and the close callback do nothing.
  if (closed_) return;
  raw_->data = nullptr;
  if (connect_req_) connect_req_->data = nullptr;
  handle_.close();
}

int TcpStream::accept(uv_stream_t* server) {
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(raw_));
  if (rc == 0) setNoDelay(true);
  return rc;
}

int TcpStream::connect(const SocketAddress& address, std::function<void(int)> on_connected) {
  on_connected_ = std::move(on_connected);
  connect_req_ = std::make_unique<uv_connect_t>();
  connect_req_->data = this;
  int rc = uv_tcp_connect(connect_req_.get(), raw_, address.get(),
                          [](uv_connect_t* req, int status) {
                            auto* self = static_cast<TcpStream*>(req->data);
                            if (self == nullptr) return;
                            if (status == 0) self->setNoDelay(true);
                            auto callback = std::move(self->on_connected_);
                            if (callback) callback(status);
                          });
  if (rc != 0) connect_req_.reset();
  return rc;
}

void TcpStream::startReading() {
  if (reading_ || closing_) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(raw_), &TcpStream::onAlloc, &TcpStream::onRead) == 0) reading_ = true;
}

void TcpStream::stopReading() {
  if (!reading_) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(raw_));
  reading_ = false;
}

void TcpStream::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(handle->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(self->loop_.readBuffer(), static_cast<unsigned>(self->loop_.readBufferSize()));
}

void TcpStream::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpStream*>(stream->data);
  if (self == nullptr || self->closing_) return;
  if (nread > 0) {
    self->handler_.onStreamRead(std::string_view(buf->base, static_cast<size_t>(nread)));
  } else if (nread < 0) {
    self->stopReading();
    self->handler_.onStreamEnd(static_cast<int>(nread));
  }
}

bool TcpStream::write(std::string data) { return writePieces(&data, 1); }

bool TcpStream::write(std::string first, std::string second) {
  std::string pieces[2] = {std::move(first), std::move(second)};
  return writePieces(pieces, 2);
}

bool TcpStream::write(std::vector<std::string> pieces) { return writePieces(pieces.data(), pieces.size()); }

bool TcpStream::write(std::string head, std::shared_ptr<const void> owner, std::string_view shared) {
  return writePieces(&head, 1, &owner, shared);
}

// What the socket takes at once leaves from the caller's strings; only a
// rest that must wait is moved into a WriteRequest. A hit's answer (head
// and body) thus costs no allocation here: no request, no vector of pieces
// and no vector of buffers (three per hit before; issue 13).
bool TcpStream::writePieces(std::string* pieces, size_t count, std::shared_ptr<const void>* owner,
                            std::string_view shared) {
  if (closing_) return false;
  constexpr size_t kStackBuffers = 8;
  uv_buf_t stack_bufs[kStackBuffers];
  std::vector<uv_buf_t> heap_bufs;
  uv_buf_t* bufs = stack_bufs;
  if (count + 1 > kStackBuffers) {
    heap_bufs.resize(count + 1);
    bufs = heap_bufs.data();
  }
  size_t nbufs = 0;
  size_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    if (pieces[i].empty()) continue;
    bufs[nbufs++] = uv_buf_init(pieces[i].data(), static_cast<unsigned>(pieces[i].size()));
    bytes += pieces[i].size();
  }
  // libuv's buffers are not const, but it only reads what it sends.
  const auto sharedBuf = [](std::string_view bytes) {
    return uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  };
  if (!shared.empty()) {
    bufs[nbufs++] = sharedBuf(shared);
    bytes += shared.size();
  }
  if (nbufs == 0) return true;
  auto* stream = reinterpret_cast<uv_stream_t*>(raw_);
  // Straight to the socket when nothing is queued: what fits leaves now,
  // without a write request, its callback, or libuv re-arming the fd in
  // epoll afterwards (one epoll_ctl per response otherwise). Only the rest
  // is queued; bytes never overtake queued ones (libuv refuses then). An
  // error is left to uv_write, which reports it through onStreamWritten as
  // before, never from inside this call.
  size_t skip = 0;
  if (write_directly_ && queued_bytes_ == 0) {
    int written = uv_try_write(stream, bufs, static_cast<unsigned>(nbufs));
    if (written > 0) skip = static_cast<size_t>(written);
  }
  if (skip == bytes) return true;
  // The rest is queued: the unsent pieces move into the request, and the
  // buffers are made again from them (a moved short string lives inside
  // its new owner).
  auto request = std::make_unique<WriteRequest>();
  request->pieces.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (pieces[i].empty()) continue;
    if (request->pieces.empty() && skip >= pieces[i].size()) {
      skip -= pieces[i].size();  // left whole
      continue;
    }
    request->pieces.push_back(std::move(pieces[i]));
  }
  if (!shared.empty()) {
    // Every piece left whole: what left of the shared bytes is skipped
    // here. They stay where they are; the request keeps their owner.
    if (request->pieces.empty()) {
      shared.remove_prefix(skip);
      skip = 0;
    }
    request->shared = shared;
    request->owner = std::move(*owner);
  }
  // `skip` < the first kept piece's size: the part of it that left.
  nbufs = 0;
  for (std::string& piece : request->pieces) {
    bufs[nbufs] = uv_buf_init(piece.data(), static_cast<unsigned>(piece.size()));
    ++nbufs;
  }
  if (!request->shared.empty()) bufs[nbufs++] = sharedBuf(request->shared);
  bufs[0].base += skip;
  bufs[0].len -= static_cast<decltype(bufs[0].len)>(skip);
  for (size_t i = 0; i < nbufs; ++i) request->bytes += bufs[i].len;
  request->req.data = request.get();
  int rc = uv_write(&request->req, stream, bufs, static_cast<unsigned>(nbufs), &TcpStream::onWrite);
  if (rc != 0) return false;
  queued_bytes_ += request->bytes;
  request.release();  // owned by libuv until onWrite
  return true;
}

void TcpStream::onWrite(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  // The stream's memory outlives this callback (freed only in the close
  // callback), but its owner may be gone: `data` is null then.
  auto* self = static_cast<TcpStream*>(req->handle->data);
  if (self == nullptr) return;
  self->queued_bytes_ -= request->bytes;
  request.reset();
  self->handler_.onStreamWritten(status);
}

void TcpStream::close() {
  if (closing_) return;
  closing_ = true;
  stopReading();
  handle_.close(&TcpStream::onClosed);
}

void TcpStream::onClosed(uv_handle_t* handle) {
  auto* self = static_cast<TcpStream*>(handle->data);
  if (self == nullptr) return;
  self->closed_ = true;
  self->handler_.onStreamClosed();
}

std::string TcpStream::peerIp() const {
  if (closing_) return "";
  SocketAddress address;
  int length = sizeof(address.storage);
  if (uv_tcp_getpeername(raw_, reinterpret_cast<sockaddr*>(&address.storage), &length) != 0)
    return "";
  return address.ip();
}

}  // namespace larder::net
