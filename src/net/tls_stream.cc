#include "net/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace larder::net {

namespace {

bool isIpLiteral(const std::string& name) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 || inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

}  // namespace

TlsStream::TlsStream(Loop& loop, TcpStream::Handler& handler)
    : loop_(loop), handler_(handler), tcp_(loop, *this) {}

TlsStream::~TlsStream() = default;

std::string TlsStream::statusText(int status) {
  if (status == kHandshakeFailed) return "TLS handshake failed";
  if (status == kTruncated) return "TLS connection closed without close_notify";
  return uv_strerror(status);
}

bool TlsStream::useTls(std::shared_ptr<TlsContext> context, Peer peer) {
  ERR_clear_error();
  ssl_.reset(SSL_new(context->raw()));
  if (!ssl_) {
    error_ = takeOpenSslError("cannot create an SSL connection");
    return false;
  }
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    ssl_.reset();
    error_ = "out of memory";
    return false;
  }
  // An empty read BIO means "more to come", not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_connect_state(ssl_.get());
  context_ = std::move(context);
  peer_ = std::move(peer);
  SSL_set_app_data(ssl_.get(), &peer_.session_key);  // for TlsContext::onNewSession
  const std::string& name = peer_.server_name;
  const bool ip = isIpLiteral(name);
  bool ok = true;
  // SNI carries host names only (RFC 6066 §3).
  if (!ip && !name.empty()) ok &= SSL_set_tlsext_host_name(ssl_.get(), name.c_str()) == 1;
  if (context_->verifies() && !name.empty()) {
    // RFC 6125: the name must match a subjectAltName (DNS, or IP for an
    // address); partial wildcards ("a*.example") are not accepted.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
    if (ip) {
      ok &= X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok &= SSL_set1_host(ssl_.get(), name.c_str()) == 1;
    }
  }
  if (SSL_SESSION* session = context_->session(peer_.session_key)) SSL_set_session(ssl_.get(), session);
  if (!ok) {
    error_ = "cannot set the server name: " + takeOpenSslError("unknown error");
    ssl_.reset();
    return false;
  }
  return true;
}

int TlsStream::connect(const SocketAddress& address, std::function<void(int)> on_connected) {
  on_connected_ = std::move(on_connected);
  return tcp_.connect(address, [this](int status) {
    if (status != 0 || !ssl_) {
      auto callback = std::move(on_connected_);
      if (callback) callback(status);
      return;
    }
    // The handshake reads whatever the handler wants afterwards.
    handshaking_ = true;
    tcp_.startReading();
    handshake();
  });
}

void TlsStream::handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_.get());
  if (!flushCiphertext()) return failHandshake("cannot write to the socket");
  if (rc == 1) {
    handshaking_ = false;
    established_ = true;
    if (!reading_) tcp_.stopReading();
    auto callback = std::move(on_connected_);
    if (callback) callback(0);
    return;
  }
  const int error = SSL_get_error(ssl_.get(), rc);
  if (error == SSL_ERROR_WANT_READ) return;
  failHandshake(describeFailure("handshake failed"));
}

// Why the peer was refused, in the words an operator searches for:
// "certificate verify failed: hostname mismatch", "...: certificate has
// expired", "...: self-signed certificate", or OpenSSL's reason otherwise.
std::string TlsStream::describeFailure(const char* fallback) {
  const long verify = SSL_get_verify_result(ssl_.get());
  if (context_->verifies() && verify != X509_V_OK) {
    ERR_clear_error();
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  return takeOpenSslError(fallback);
}

void TlsStream::failHandshake(std::string reason) {
  handshaking_ = false;
  error_ = std::move(reason);
  // A failed resumption should not be offered again.
  context_->forgetSession(peer_.session_key);
  tcp_.stopReading();
  auto callback = std::move(on_connected_);
  if (callback) callback(kHandshakeFailed);
}

void TlsStream::startReading() {
  if (!ssl_) return tcp_.startReading();
  reading_ = true;
  tcp_.startReading();
}

void TlsStream::stopReading() {
  if (!ssl_) return tcp_.stopReading();
  reading_ = false;
  if (!handshaking_) tcp_.stopReading();
}

bool TlsStream::write(std::string data) {
  if (!ssl_) return tcp_.write(std::move(data));
  if (!established_ || tcp_.isClosing()) return false;
  if (data.empty()) return true;
  ERR_clear_error();
  // Memory BIOs take everything: SSL_write returns the whole length or fails.
  if (SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) <= 0) {
    error_ = takeOpenSslError("write failed");
    return false;
  }
  return flushCiphertext();
}

bool TlsStream::write(std::vector<std::string> pieces) {
  if (!ssl_) return tcp_.write(std::move(pieces));
  // One SSL_write, so a head and a small body share a record.
  size_t total = 0;
  for (const auto& piece : pieces) total += piece.size();
  std::string joined;
  joined.reserve(total);
  for (const auto& piece : pieces) joined += piece;
  return write(std::move(joined));
}

bool TlsStream::flushCiphertext() {
  const size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return true;
  std::string out(pending, '\0');
  const int n = BIO_read(wbio_, out.data(), static_cast<int>(pending));
  if (n <= 0) return true;
  out.resize(static_cast<size_t>(n));
  return tcp_.write(std::move(out));
}

void TlsStream::close() {
  if (tcp_.isClosing()) return;
  if (ssl_ && established_) {
    // close_notify, best effort: whatever the socket takes at once leaves
    // (the peer may log an unexpected EOF otherwise); nothing waits for it.
    SSL_shutdown(ssl_.get());
    ERR_clear_error();  // refused after a fatal alert: nothing to report
    tcp_.writeDirectly(true);
    flushCiphertext();
  }
  tcp_.close();
}

void TlsStream::onStreamRead(std::string_view data) {
  if (!ssl_) return handler_.onStreamRead(data);
  // `data` is the loop's read buffer: copied into the BIO first, so the
  // buffer can take the plaintext.
  if (BIO_write(rbio_, data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    error_ = "out of memory";
    if (handshaking_) return failHandshake(error_);
    return handler_.onStreamEnd(UV_ENOMEM);
  }
  if (handshaking_) {
    handshake();
    if (!established_ || tcp_.isClosing()) return;
  }
  if (established_) readPlaintext();
}

void TlsStream::readPlaintext() {
  char* buffer = loop_.readBuffer();
  const size_t capacity = loop_.readBufferSize();
  while (!tcp_.isClosing()) {
    size_t filled = 0;
    int error = SSL_ERROR_NONE;
    ERR_clear_error();
    while (filled < capacity) {
      const int n = SSL_read(ssl_.get(), buffer + filled, static_cast<int>(capacity - filled));
      if (n <= 0) {
        error = SSL_get_error(ssl_.get(), n);
        break;
      }
      filled += static_cast<size_t>(n);
    }
    // SSL_read may have produced bytes to send (a KeyUpdate answer).
    if (!flushCiphertext()) error = SSL_ERROR_SYSCALL;
    if (filled > 0) {
      handler_.onStreamRead(std::string_view(buffer, filled));
      if (tcp_.isClosing()) return;
    }
    if (error == SSL_ERROR_NONE) continue;  // the buffer was full: more may wait
    if (error == SSL_ERROR_WANT_READ) return;
    tcp_.stopReading();
    if (error == SSL_ERROR_ZERO_RETURN) {
      close_notify_ = true;
      handler_.onStreamEnd(UV_EOF);
    } else {
      error_ = takeOpenSslError("TLS error");
      handler_.onStreamEnd(UV_EPROTO);
    }
    return;
  }
}

void TlsStream::onStreamEnd(int status) {
  if (!ssl_) return handler_.onStreamEnd(status);
  if (handshaking_) {
    return failHandshake(status == UV_EOF ? "the server closed the connection during the handshake"
                                          : std::string("connection error during the handshake: ") + uv_strerror(status));
  }
  if (status == UV_EOF && !close_notify_) status = kTruncated;
  handler_.onStreamEnd(status);
}

}  // namespace larder::net
