#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace larder::net {

namespace {

// Peers are few (the configured servers, times their addresses); the bound
// only guards against a name that resolves to ever new addresses.
constexpr size_t kMaxSessions = 1024;

}  // namespace

std::string takeOpenSslError(const char* fallback) {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) return fallback;
  const char* reason = ERR_reason_error_string(error);
  if (reason != nullptr) return reason;
  char text[256];
  ERR_error_string_n(error, text, sizeof(text));
  return text;
}

base::Result<std::shared_ptr<TlsContext>, std::string> TlsContext::create(const Options& options) {
  std::shared_ptr<TlsContext> context(new TlsContext());
  ERR_clear_error();
  context->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = context->ctx_.get();
  if (ctx == nullptr) return base::Unexpected{takeOpenSslError("cannot create an SSL context")};
  // TLS 1.2 is the oldest version without known protocol-level breaks (RFC 8996
  // deprecates 1.0 and 1.1).
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Memory BIOs never block, and the stream writes whole buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  context->verify_ = options.verify;
  if (options.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return base::Unexpected{"cannot load the system certificate store: " + takeOpenSslError("unknown error")};
    if (!options.ca_pem.empty()) {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(
          BIO_new_mem_buf(options.ca_pem.data(), static_cast<int>(options.ca_pem.size())), &BIO_free);
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      size_t added = 0;
      while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        const int ok = X509_STORE_add_cert(store, cert);
        X509_free(cert);
        if (ok != 1) return base::Unexpected{"cannot add a CA certificate: " + takeOpenSslError("unknown error")};
        ++added;
      }
      ERR_clear_error();  // the end of the PEM data reads as an error
      if (added == 0) return base::Unexpected{std::string("ca_file holds no PEM certificate")};
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  // Client-side caching by larder, not OpenSSL's internal store (which is
  // for servers): each new session goes to onNewSession.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsContext::onNewSession);
  SSL_CTX_set_app_data(ctx, context.get());
  return context;
}

TlsContext::~TlsContext() = default;

SSL_SESSION* TlsContext::session(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

// Called by OpenSSL when a handshake completes (TLS 1.2) or a ticket
// arrives (TLS 1.3, after the handshake, inside SSL_read). The stream set
// its session key as the SSL's app data.
int TlsContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const auto* key = static_cast<const std::string*>(SSL_get_app_data(ssl));
  if (self == nullptr || key == nullptr) return 0;
  if (self->sessions_.size() >= kMaxSessions && self->sessions_.find(*key) == self->sessions_.end())
    self->sessions_.clear();
  self->sessions_[*key].reset(session);
  return 1;  // the reference is ours now
}

}  // namespace larder::net
