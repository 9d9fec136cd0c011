// TlsStream: a TcpStream, optionally with TLS (client side) on top, behind
// the TcpStream interface. Without useTls() bytes pass straight through, so
// an owner such as an upstream connection has one code path for plain and
// TLS peers, and keeps the same pooling, timeouts and backpressure.
//
// TLS runs over memory BIOs: ciphertext read from the socket is fed to
// OpenSSL, the plaintext it yields is handed to the handler; plaintext
// written is encrypted and the ciphertext written to the socket. OpenSSL
// never touches the file descriptor, so all I/O stays on libuv.
//
// Lifetime: as TcpStream (STYLE L2, L3); the handler's onStreamClosed()
// runs from the TCP close callback. The SSL is freed with the stream; the
// TlsContext is shared and outlives every stream made from it.
//
// connect(): `on_connected(0)` fires once the TCP connection is up and, with
// TLS, the handshake and the certificate checks succeeded. A failed
// handshake fires it with kHandshakeFailed and tlsError() says why
// ("certificate verify failed: hostname mismatch"). Write only after that.
//
// Reading: each chunk read from the socket is decrypted whole and delivered
// as the plaintext it holds (one onStreamRead() for up to a read buffer),
// also when the handler paused reading meanwhile: the same bound as a plain
// TcpStream, which delivers a read chunk whole. A TLS peer that closes the
// TCP connection without close_notify ends the stream with
// kTruncated rather than UV_EOF (RFC 8446 §6.1): a body delimited by the
// close cannot be told from a truncated one.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/tcp_stream.h"
#include "net/tls_context.h"

namespace larder::net {

class TlsStream : private TcpStream::Handler {
 public:
  // Statuses beside libuv's (negative, outside libuv's range).
  static constexpr int kHandshakeFailed = -100001;
  static constexpr int kTruncated = -100002;

  // The peer's identity: `server_name` is sent as SNI and checked against
  // the certificate, unless it is an IP address (then no SNI, RFC 6066 §3,
  // and the certificate must name the IP). `session_key` keys session
  // resumption in the context (one per peer).
  struct Peer {
    std::string server_name;
    std::string session_key;
  };

  TlsStream(Loop& loop, TcpStream::Handler& handler);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Before connect(): speak TLS to `peer`. Returns false (and sets
  // tlsError()) if OpenSSL cannot set it up.
  bool useTls(std::shared_ptr<TlsContext> context, Peer peer);
  bool isTls() const { return ssl_ != nullptr; }

  int connect(const SocketAddress& address, std::function<void(int)> on_connected);
  void startReading();
  void stopReading();
  bool isReading() const { return ssl_ ? reading_ : tcp_.isReading(); }
  bool write(std::string data);
  bool write(std::vector<std::string> pieces);
  // Ciphertext bytes queued, with TLS: close enough for backpressure.
  size_t writeQueueBytes() const { return tcp_.writeQueueBytes(); }
  void writeDirectly(bool enabled) { tcp_.writeDirectly(enabled); }
  void close();
  bool isClosing() const { return tcp_.isClosing(); }
  // Why the handshake failed or the TLS session broke.
  const std::string& tlsError() const { return error_; }
  // The handshake resumed an earlier session (no certificate exchange).
  bool isResumed() const { return ssl_ && SSL_session_reused(ssl_.get()) == 1; }
  // Human-readable text for a status from this stream (libuv's or ours).
  static std::string statusText(int status);

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  // TcpStream::Handler
  void onStreamRead(std::string_view data) override;
  void onStreamEnd(int status) override;
  void onStreamWritten(int status) override { handler_.onStreamWritten(status); }
  void onStreamClosed() override { handler_.onStreamClosed(); }

  void handshake();
  void failHandshake(std::string reason);
  void readPlaintext();
  bool flushCiphertext();
  std::string describeFailure(const char* fallback);

  Loop& loop_;
  TcpStream::Handler& handler_;
  TcpStream tcp_;
  std::shared_ptr<TlsContext> context_;
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_: ciphertext from the peer
  BIO* wbio_ = nullptr;  // owned by ssl_: ciphertext to the peer
  Peer peer_;
  std::function<void(int)> on_connected_;
  std::string error_;
  bool handshaking_ = false;
  bool established_ = false;
  bool close_notify_ = false;
  bool reading_ = false;  // what the handler asked for, with TLS
};

}  // namespace larder::net
