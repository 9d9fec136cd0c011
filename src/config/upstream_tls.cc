#include "config/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "config/files.h"
#include "config/units.h"

namespace larder::config {

namespace {

using base::Unexpected;

// The Debian system bundle is about 200 KiB; a CA file is much smaller.
constexpr uint64_t kMaxCaFileSize = 8 * 1024 * 1024;

bool hasPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close != std::string_view::npos && close + 1 < authority.size();
  }
  return authority.find(':') != std::string_view::npos;
}

// A host name for SNI and verification (RFC 6066 §3: a DNS name, ASCII).
bool isHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return name.front() != '.' && name.front() != '-';
}

}  // namespace

base::Result<UpstreamServer, std::string> parseUpstreamServer(std::string_view text) {
  UpstreamServer server;
  std::string authority(text);
  std::string_view default_port;
  if (text.starts_with("https://")) {
    authority = text.substr(8);
    default_port = "443";
    server.address.tls = true;
  } else if (text.starts_with("http://")) {
    authority = text.substr(7);
    default_port = "80";
  } else if (text.find("://") != std::string_view::npos) {
    return Unexpected{std::string("only http:// and https:// servers are supported")};
  }
  server.has_scheme = !default_port.empty();
  if (server.has_scheme) {
    // A trailing slash is harmless; a path would be silently dropped.
    if (!authority.empty() && authority.back() == '/') authority.pop_back();
    if (authority.find('/') != std::string::npos)
      return Unexpected{std::string("a server is scheme://host[:port], without a path")};
    if (authority.find('@') != std::string::npos)
      return Unexpected{std::string("a server URL must not carry credentials")};
    if (!authority.empty() && !hasPort(authority)) authority += ":" + std::string(default_port);
  }
  auto address = parseAddress(authority);
  if (!address) return Unexpected{std::move(address.error())};
  if (server.has_scheme && address->kind != Address::Kind::kTcp)
    return Unexpected{std::string("a server URL needs a host")};
  const bool tls = server.address.tls;
  server.address = std::move(*address);
  server.address.tls = tls;
  return server;
}

base::Result<size_t, std::string> countPemCertificates(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                &BIO_free);
  if (!bio) return Unexpected{std::string("out of memory")};
  size_t count = 0;
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_free(cert);
    ++count;
  }
  // The loop ends at the end of the data ("no start line") or at a bad block.
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  if (error != 0 && !(ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE)) {
    char text[256];
    ERR_error_string_n(error, text, sizeof(text));
    return Unexpected{std::string("a certificate cannot be parsed (") + text + ")"};
  }
  return count;
}

bool loadUpstreamTls(NodeReader& reader, const YAML::Node& node, const std::string& path,
                     UpstreamTlsConfig& out) {
  MapReader m(reader, node, path);
  bool ok = m.isMap() || node.IsNull();
  if (auto v = m.take("verify")) ok &= reader.readBool(*v, m.pathOf("verify"), out.verify);
  if (auto v = m.take("server_name")) {
    std::string name;
    if (!reader.readNonEmptyString(*v, m.pathOf("server_name"), name)) {
      ok = false;
    } else if (!isHostName(name)) {
      reader.error(*v, m.pathOf("server_name"), "expected a host name (letters, digits, '-' and '.'), got \"" + name + "\"");
      ok = false;
    } else {
      out.server_name = std::move(name);
    }
  }
  if (auto v = m.take("ca_file")) {
    std::string file, error;
    if (!reader.readNonEmptyString(*v, m.pathOf("ca_file"), file)) {
      ok = false;
    } else if (!readRegularFile(file, kMaxCaFileSize, "CA file", out.ca_pem, error)) {
      reader.error(*v, m.pathOf("ca_file"), error);
      ok = false;
    } else if (auto count = countPemCertificates(out.ca_pem); !count) {
      reader.error(*v, m.pathOf("ca_file"), "\"" + file + "\": " + count.error());
      ok = false;
    } else if (*count == 0) {
      reader.error(*v, m.pathOf("ca_file"), "\"" + file + "\" holds no PEM certificate");
      ok = false;
    } else {
      out.ca_file = std::move(file);
    }
    if (ok && !out.verify) {
      reader.error(*v, m.pathOf("ca_file"), "is unused with verify: false (remove one of them)");
      ok = false;
    }
  }
  if (ok && !out.verify) {
    reader.warning(node, m.pathOf("verify"),
                   "upstream certificates are not verified: anyone on the path can impersonate the "
                   "upstream and fill the cache");
  }
  return ok;
}

}  // namespace larder::config
