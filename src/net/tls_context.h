// TlsContext: the client side of TLS, one SSL_CTX (RAII) shared by every
// TlsStream made from one configuration. Built when a configuration is
// loaded or reloaded; streams hold it by shared_ptr, so a reload that
// replaces it leaves connections already open on the old one intact.
//
// Trust: with `verify`, peers are checked against the system store
// (SSL_CTX_set_default_verify_paths: Debian's /etc/ssl/certs) plus the
// `ca_pem` certificates; the host name check is per stream (TlsStream).
// Without `verify`, nothing is checked (an explicit opt-out).
//
// Session resumption: the last session each peer handed out (TLS 1.2
// session or TLS 1.3 ticket) is kept, keyed by the stream's session key,
// and offered on the next connection to that peer, which saves a full
// handshake when the server accepts it.
//
// Threading: one loop. The session map is not locked, so a context is used
// by the streams of one worker; each worker builds its own.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "base/result.h"

namespace larder::net {

class TlsContext {
 public:
  struct Options {
    bool verify = true;
    std::string ca_pem;  // trust anchors added to the system store
  };

  static base::Result<std::shared_ptr<TlsContext>, std::string> create(const Options& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* raw() const { return ctx_.get(); }
  bool verifies() const { return verify_; }
  // The session kept for `key`, or null. The SSL that uses it takes its own
  // reference (SSL_set_session).
  SSL_SESSION* session(const std::string& key) const;
  void forgetSession(const std::string& key) { sessions_.erase(key); }

 private:
  struct SessionFree {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
  };
  struct CtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };
  TlsContext() = default;
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  bool verify_ = true;
  std::unordered_map<std::string, std::unique_ptr<SSL_SESSION, SessionFree>> sessions_;
};

// The text of OpenSSL's oldest queued error (and clears the queue), or
// `fallback` when there is none.
std::string takeOpenSslError(const char* fallback);

}  // namespace larder::net
