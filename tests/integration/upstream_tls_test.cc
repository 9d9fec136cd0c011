// TLS to the upstream (README "Upstream servers"): real HTTPS origins the
// test starts, with certificates made at run time (upstream_tls_support.h).
// A good certificate (via ca_file) is served and cached; a wrong name, an
// expired or a self-signed certificate is a 502 with the reason in the
// error log, and no request reaches the origin; verify: false connects
// anyway. Connections are reused over TLS as over TCP, sessions are
// resumed, health checks and failover work over TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <fstream>
#include <string>

#include "harness/admin_fixture.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"
#include "upstream_support.h"
#include "upstream_tls_support.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

// One worker, the memory store, a cached route under /api and pass-through
// elsewhere. `servers` and `tls` are YAML flow values.
std::string tlsConfig(const std::string& servers, const std::string& tls, uint16_t admin_port,
                      const std::string& upstream_extra = "") {
  return fmt::format(
      "workers: 1\n"
      "upstream:\n"
      "  servers: {}\n"
      "  tls: {}\n"
      "  idle_timeout: 30s\n"
      "{}"
      "routes:\n"
      "  - match: GET /api/{{name}}\n"
      "    ttl: 1m\n"
      "log: {{ level: info }}\n"
      "{}",
      servers, tls, upstream_extra, adminSection(admin_port));
}

std::string httpsServer(const TlsOrigin& origin) { return fmt::format("https://127.0.0.1:{}", origin.port()); }

std::string verifiedBy(const TlsOrigin& origin) {
  return fmt::format("{{ ca_file: {}, server_name: {} }}", origin.caFile(), kOriginName);
}

double handshakes(uint16_t admin_port, const char* result) {
  return scrape(admin_port).value(fmt::format("larder_upstream_tls_handshakes_total{{result=\"{}\"}}", result));
}

TEST_CASE("a good certificate via ca_file: 200, then a cached hit; SNI is the server name, Host as keyed") {
  TlsOrigin origin(TlsOrigin::Cert::kGood);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), verifiedBy(origin), admin_port));
  HttpClient client(larder.port());
  auto first = client.get("/api/widgets", {{"Host", "shop.example"}});
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->body == "GET /api/widgets #1");
  CHECK(first->header("X-Cache") == "MISS");
  CHECK(first->header("X-Seen-Host") == "shop.example");
  auto second = client.get("/api/widgets", {{"Host", "shop.example"}});
  REQUIRE(second);
  CHECK(second->status == 200);
  CHECK(second->body == "GET /api/widgets #1");
  CHECK(second->header("X-Cache") == "HIT");
  CHECK(origin.stat("requests") == 1);
  CHECK(origin.sni() == kOriginName);
  CHECK(handshakes(admin_port, "full") == 1);
  CHECK(handshakes(admin_port, "failed") == 0);
}

struct Refusal {
  TlsOrigin::Cert cert;
  bool with_ca_file;
  const char* reason;  // in the error log line
};

TEST_CASE("a certificate that fails verification: 502, the reason logged, no request served") {
  const Refusal rows[] = {
      {TlsOrigin::Cert::kWrongName, true, "certificate verify failed: hostname mismatch"},
      {TlsOrigin::Cert::kExpired, true, "certificate verify failed: certificate has expired"},
      // Not in the system store, and no ca_file.
      {TlsOrigin::Cert::kSelfSigned, false, "certificate verify failed: self-signed certificate"},
  };
  for (const Refusal& row : rows) {
    CAPTURE(row.reason);
    TlsOrigin origin(row.cert);
    const uint16_t admin_port = freePort();
    const std::string tls = row.with_ca_file ? verifiedBy(origin)
                                             : fmt::format("{{ server_name: {} }}", kOriginName);
    LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), tls, admin_port));
    HttpClient client(larder.port());
    auto response = client.get("/api/widgets");
    REQUIRE(response);
    CHECK(response->status == 502);
    auto pass = client.get("/other");
    REQUIRE(pass);
    CHECK(pass->status == 502);
    CHECK(origin.stat("requests") == 0);
    CHECK(origin.stat("connections") == 0);
    CHECK(handshakes(admin_port, "failed") >= 2);
    CHECK(handshakes(admin_port, "full") == 0);
    const std::string log = larder.stderrText();
    CHECK(log.find(fmt::format("upstream 127.0.0.1:{}: TLS handshake failed: {}", origin.port(), row.reason)) !=
          std::string::npos);
    CHECK(scrape(admin_port).value("larder_upstream_errors_total{reason=\"connect_failed\"}") >= 2);
  }
}

TEST_CASE("verify: false connects to a self-signed origin, and says so at start") {
  TlsOrigin origin(TlsOrigin::Cert::kSelfSigned);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), "{ verify: false }", admin_port));
  HttpClient client(larder.port());
  auto response = client.get("/api/widgets");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "GET /api/widgets #1");
  CHECK(origin.stat("requests") == 1);
  // Without server_name, an IP server sends no SNI (RFC 6066 §3).
  CHECK(origin.sni() == "-");
  CHECK(larder.stderrText().find("upstream certificates are not verified") != std::string::npos);
}

TEST_CASE("keep-alive over TLS: many requests, one TLS connection at the origin") {
  TlsOrigin origin(TlsOrigin::Cert::kGood);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), verifiedBy(origin), admin_port));
  HttpClient client(larder.port());
  constexpr int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    // Half misses of the cached route, half pass-through.
    const std::string target = i % 2 == 0 ? fmt::format("/api/item{}", i) : fmt::format("/pass/{}", i);
    auto response = client.get(target);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == fmt::format("GET {} #{}", target, i + 1));
  }
  CHECK(origin.stat("requests") == kRequests);
  CHECK(origin.stat("connections") == 1);
  CHECK(handshakes(admin_port, "full") == 1);
}

// (Not necessarily on one connection: a POST reuses only a connection idle
// for at most 250 ms, README "Upstream connections".)
TEST_CASE("large bodies both ways over TLS: many records, whole and in order") {
  TlsOrigin origin(TlsOrigin::Cert::kGood);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), verifiedBy(origin), admin_port));
  HttpClient client(larder.port());
  constexpr size_t kSize = 3 * 1024 * 1024 + 7;  // far past a read buffer and a 16 KiB record
  auto big = client.get(fmt::format("/bytes/{}", kSize), {}, 30s);
  REQUIRE(big);
  CHECK(big->status == 200);
  REQUIRE(big->body.size() == kSize);
  size_t wrong = 0;
  for (size_t i = 0; i < kSize; ++i) wrong += static_cast<unsigned char>(big->body[i]) != i % 256;
  CHECK(wrong == 0);
  // A request body past the 64 KiB that is read whole: streamed upstream.
  const std::string body(1024 * 1024 + 3, 'b');
  auto posted = client.request("POST", "/upload", {}, body, 30s);
  REQUIRE(posted);
  CHECK(posted->status == 200);
  CHECK(posted->body == fmt::format("POST /upload #2 len={}", body.size()));
}

TEST_CASE("a new connection resumes the TLS session of the last one") {
  TlsOrigin origin(TlsOrigin::Cert::kGood);
  const uint16_t admin_port = freePort();
  // keepalive 0: no idle connection is kept, each request opens a new one.
  LarderProcess larder(
      tlsConfig(fmt::format("[{}]", httpsServer(origin)), verifiedBy(origin), admin_port, "  keepalive: 0\n"));
  HttpClient client(larder.port());
  for (int i = 0; i < 3; ++i) {
    auto response = client.get(fmt::format("/pass/{}", i));
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  CHECK(origin.stat("connections") == 3);
  CHECK(handshakes(admin_port, "full") == 1);
  CHECK(handshakes(admin_port, "resumed") == 2);
}

TEST_CASE("active health checks run over TLS") {
  TlsOrigin origin(TlsOrigin::Cert::kGood);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), verifiedBy(origin), admin_port,
                                 "  health_check: { path: /health, interval: 100ms }\n"));
  REQUIRE(waitUntil([&] { return origin.stat("health") >= 2; }, 10s));
  CHECK(scrape(admin_port).value(fmt::format("larder_upstream_server_up{{server=\"127.0.0.1:{}\"}}", origin.port())) ==
        1);
}

TEST_CASE("a failed handshake fails over to the next server, for any method") {
  TlsOrigin bad(TlsOrigin::Cert::kWrongName);
  TlsOrigin good(TlsOrigin::Cert::kGood);
  TempDir dir;
  // Both CAs trusted: only the name is wrong on the first server.
  const auto ca = dir.writeFile("both.pem", bad.caPem() + good.caPem());
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}, {}]", httpsServer(bad), httpsServer(good)),
                                 fmt::format("{{ ca_file: {}, server_name: {} }}", ca.string(), kOriginName),
                                 admin_port));
  HttpClient client(larder.port());
  for (int i = 0; i < 6; ++i) {
    auto response = client.request(i % 2 == 0 ? "GET" : "POST", fmt::format("/pass/{}", i), {}, i % 2 == 0 ? "" : "{}");
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  CHECK(bad.stat("requests") == 0);
  CHECK(good.stat("requests") == 6);
  CHECK(handshakes(admin_port, "failed") >= 1);  // the first server was tried
}

TEST_CASE("the handshake counts in connect_timeout: a server that never answers the ClientHello is a 504") {
  // Listening, never accepting: the kernel completes the TCP handshake, and
  // the ClientHello waits unread.
  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(listener.isValid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(listener.get(), 16) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const uint16_t port = ntohs(address.sin_port);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[https://127.0.0.1:{}]", port), "{ verify: false }", admin_port,
                                 "  connect_timeout: 300ms\n"));
  HttpClient client(larder.port());
  auto response = client.get("/api/widgets");
  REQUIRE(response);
  CHECK(response->status == 504);
  CHECK(scrape(admin_port).value("larder_upstream_errors_total{reason=\"connect_timeout\"}") == 1);
}

TEST_CASE("a plain HTTP server named https://: 502, the handshake failure logged") {
  UvicornServer app;
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[https://{}]", app.address()), "{ verify: false }", admin_port));
  HttpClient client(larder.port());
  auto response = client.get("/api/widgets");
  REQUIRE(response);
  CHECK(response->status == 502);
  CHECK(larder.stderrText().find(fmt::format("upstream {}: TLS handshake failed: ", app.address())) !=
        std::string::npos);
  CHECK(handshakes(admin_port, "failed") == 1);
}

TEST_CASE("a reload rebuilds the TLS settings and closes idle connections made under the old ones") {
  TlsOrigin origin(TlsOrigin::Cert::kSelfSigned);
  const uint16_t admin_port = freePort();
  LarderProcess larder(tlsConfig(fmt::format("[{}]", httpsServer(origin)), "{ verify: false }", admin_port));
  const std::string listen = fmt::format("listen: 127.0.0.1:{}\n", larder.port());
  auto reload = [&](const std::string& tls) {
    std::ofstream(larder.configPath(), std::ios::trunc)
        << listen + tlsConfig(fmt::format("[{}]", httpsServer(origin)), tls, admin_port);
    const double before = scrape(admin_port).value("larder_config_reloads_total{result=\"ok\"}");
    REQUIRE(larder.process().signal(SIGHUP));
    REQUIRE(waitUntil([&] { return scrape(admin_port).value("larder_config_reloads_total{result=\"ok\"}") > before; },
                      10s));
  };
  HttpClient client(larder.port());
  auto first = client.get("/pass/1");
  REQUIRE(first);
  CHECK(first->status == 200);  // and its connection waits in the pool

  // Verification on, the self-signed certificate not trusted: the pooled
  // connection must not carry the next request.
  reload(fmt::format("{{ server_name: {} }}", kOriginName));
  auto refused = client.get("/pass/2");
  REQUIRE(refused);
  CHECK(refused->status == 502);
  CHECK(origin.stat("requests") == 1);

  // The certificate itself trusted through ca_file: served again.
  reload(fmt::format("{{ ca_file: {}, server_name: {} }}", origin.certFile(), kOriginName));
  auto trusted = client.get("/pass/3");
  REQUIRE(trusted);
  CHECK(trusted->status == 200);
  CHECK(origin.stat("requests") == 2);
}

TEST_CASE("a malformed upstream.tls is refused at start, naming the key") {
  TempDir dir;
  const auto garbage = dir.writeFile("ca.pem", "not a certificate\n");
  LarderConfig config = buildLarderConfig(
      fmt::format("upstream:\n  servers: [https://127.0.0.1:1]\n  tls: {{ ca_file: {} }}\n", garbage.string()));
  const auto file = dir.writeFile("larder.yaml", config.text);
  Process check({larderBinary(), "--check-config", "-c", file.string()});
  const auto code = check.waitExit(10s);
  REQUIRE(code);
  CHECK(*code != 0);
  CHECK(check.stderrText().find("upstream.tls.ca_file") != std::string::npos);
  CHECK(check.stderrText().find("holds no PEM certificate") != std::string::npos);
}

}  // namespace
}  // namespace larder::test
