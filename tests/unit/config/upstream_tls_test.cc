// https:// servers and upstream.tls: what turns TLS on, the defaults, and
// bad input (config/upstream_tls.h).
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"
#include "config/upstream_tls.h"

using namespace larder::config;

namespace {

// Any valid certificate will do: only its parsing is under test.
constexpr const char* kCertificate = R"(-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUez5HeaF4+kmXuVD7HVERJNRfov8wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbGFyZGVyLXVuaXQtdGVzdDAeFw0yNjEyMDYxNzI2MjJaFw0z
NjEyMDMxNzI2MjJaMBsxGTAXBgNVBAMMEGxhcmRlci11bml0LXRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQi7Y13TSi9Qi0KOXCFAJI5Bt2bR0FkmvJGhIQ5
b5U2iArg6GKq93sLa+1oz+RJ5MiNGH+iFpkhkJLR8wMwHvsHo1MwUTAdBgNVHQ4E
FgQUvaCYf9s6CVNXCgbbSXiP6V/bqq8wHwYDVR0jBBgwFoAUvaCYf9s6CVNXCgbb
SXiP6V/bqq8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAuicJ
l1zSES9va2nnEgL/mbXULa83QJw7563Qzmg2ZekCIG7SDlpihJdlLQqinqKvcjtQ
rZTyh/qSVZItZ4HUvvWu
-----END CERTIFICATE-----
)";

struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    std::string name = (std::filesystem::temp_directory_path() / "larder-tls-test-XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file, std::ios::binary) << text;
    return (path / file).string();
  }
};

LoadResult loadUpstream(const std::string& upstream_lines) {
  return loadConfigString("upstream:\n" + upstream_lines, "conf.yaml");
}

}  // namespace

TEST_CASE("server URLs: https:// is TLS on port 443 by default, http:// and host:port are plain") {
  struct Row {
    const char* text;
    const char* host;
    uint16_t port;
    bool tls;
    bool has_scheme;
  };
  const Row rows[] = {
      {"https://api.example.com", "api.example.com", 443, true, true},
      {"https://api.example.com/", "api.example.com", 443, true, true},
      {"https://api.example.com:8443", "api.example.com", 8443, true, true},
      {"https://[::1]", "::1", 443, true, true},
      {"https://[::1]:9443", "::1", 9443, true, true},
      {"http://backend", "backend", 80, false, true},
      {"127.0.0.1:8000", "127.0.0.1", 8000, false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    auto server = parseUpstreamServer(row.text);
    REQUIRE(server.ok());
    CHECK(server->address.host == row.host);
    CHECK(server->address.port == row.port);
    CHECK(server->address.tls == row.tls);
    CHECK(server->has_scheme == row.has_scheme);
  }
}

TEST_CASE("server URLs: bad ones are refused with the reason") {
  const std::pair<const char*, const char*> rows[] = {
      {"https://api.example.com/v1", "without a path"},
      {"https://user@api.example.com", "credentials"},
      {"ftp://api.example.com:21", "only http:// and https://"},
      {"https://", "empty"},
      {"https://api.example.com:http", "port"},
      {"https://unix:/run/api.sock", "without a path"},
      {"https://api.example.com:99999", "port"},
  };
  for (const auto& [text, reason] : rows) {
    CAPTURE(std::string(text));
    auto server = parseUpstreamServer(text);
    REQUIRE_FALSE(server.ok());
    CAPTURE(server.error());
    CHECK(server.error().find(reason) != std::string::npos);
  }
}

TEST_CASE("an https:// server turns TLS on with the defaults: verify, system store, the host as name") {
  auto result = loadUpstream("  servers: [https://api.example.com, 127.0.0.1:8000]\n");
  REQUIRE(result.ok());
  const UpstreamConfig& upstream = (*result)->upstream;
  REQUIRE(upstream.tls.has_value());
  CHECK(upstream.tls->verify);
  CHECK(upstream.tls->ca_file.empty());
  CHECK(upstream.tls->server_name.empty());
  CHECK(upstream.servers[0].tls);
  CHECK_FALSE(upstream.servers[1].tls);  // per server: the other one stays plain
  CHECK((*result)->warnings.empty());
}

TEST_CASE("plain servers and no upstream.tls: no TLS at all") {
  auto result = loadUpstream("  servers: [127.0.0.1:8000]\n");
  REQUIRE(result.ok());
  CHECK_FALSE((*result)->upstream.tls.has_value());
  CHECK_FALSE((*result)->upstream.servers[0].tls);
}

TEST_CASE("upstream.tls applies to servers without a scheme; an http:// server stays plain") {
  ScratchDir dir;
  const std::string ca = dir.write("ca.pem", kCertificate);
  auto result = loadUpstream("  servers: [10.0.0.1:8443, http://10.0.0.2:8000]\n"
                     "  tls: { ca_file: " + ca + ", server_name: api.internal }\n");
  REQUIRE(result.ok());
  const UpstreamConfig& upstream = (*result)->upstream;
  REQUIRE(upstream.tls.has_value());
  CHECK(upstream.servers[0].tls);
  CHECK_FALSE(upstream.servers[1].tls);
  CHECK(upstream.tls->ca_file == ca);
  CHECK(upstream.tls->ca_pem == kCertificate);
  CHECK(upstream.tls->server_name == "api.internal");
  CHECK(upstream.tls->verify);
}

TEST_CASE("verify: false is accepted, with a warning at load") {
  auto result = loadUpstream("  servers: [https://api.example.com]\n  tls: { verify: false }\n");
  REQUIRE(result.ok());
  CHECK_FALSE((*result)->upstream.tls->verify);
  REQUIRE((*result)->warnings.size() == 1);
  CHECK((*result)->warnings[0].find("upstream.tls.verify") != std::string::npos);
  CHECK((*result)->warnings[0].find("not verified") != std::string::npos);
}

TEST_CASE("malformed upstream.tls: an error naming the key, at its line") {
  ScratchDir dir;
  const std::string garbage = dir.write("garbage.pem", "not a certificate\n");
  const std::string broken = dir.write(
      "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  const std::string good = dir.write("ca.pem", kCertificate);
  const std::string missing = (dir.path / "missing.pem").string();
  struct Row {
    std::string yaml;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {"  tls: { verify: maybe }\n", "upstream.tls.verify: expected true or false"},
      {"  tls: { ca_file: " + missing + " }\n", "upstream.tls.ca_file: cannot read"},
      {"  tls: { ca_file: " + dir.path.string() + " }\n", "is not a regular file"},
      {"  tls: { ca_file: " + garbage + " }\n", "holds no PEM certificate"},
      {"  tls: { ca_file: " + broken + " }\n", "a certificate cannot be parsed"},
      {"  tls: { ca_file: \"\" }\n", "upstream.tls.ca_file"},
      {"  tls: { verify: false, ca_file: " + good + " }\n", "unused with verify: false"},
      {"  tls: { server_name: \"a b\" }\n", "upstream.tls.server_name: expected a host name"},
      {"  tls: { server_name: \"api.example\\r\\nX: y\" }\n", "upstream.tls.server_name: expected a host name"},
      {"  tls: { sni: api.example }\n", "unknown key upstream.tls.sni"},
      {"  tls: [verify]\n", "upstream.tls: expected a mapping"},
      {"  tls: true\n", "upstream.tls: expected a mapping"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    auto result = loadUpstream("  servers: [127.0.0.1:8443]\n" + row.yaml);
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() == 1);
    CHECK(result.error()[0].message.find(row.message) != std::string::npos);
    CHECK(result.error()[0].line == 3);
  }
}

TEST_CASE("a bad https:// server is an error naming its index") {
  auto result = loadUpstream("  servers: [127.0.0.1:8000, https://api.example.com/v1]\n");
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.error().size() == 1);
  CHECK(result.error()[0].message.find("upstream.servers[1]: invalid address") != std::string::npos);
}

TEST_CASE("countPemCertificates: counts, and tells a broken block from the end of the data") {
  CHECK(*countPemCertificates(kCertificate) == 1);
  CHECK(*countPemCertificates(std::string(kCertificate) + kCertificate) == 2);
  CHECK(*countPemCertificates("") == 0);
  CHECK_FALSE(countPemCertificates("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n").ok());
}
