// TlsOrigin: a local HTTPS server for the upstream TLS tests, with
// certificates made at run time (Debian's python3 with ssl and
// python3-cryptography). Each origin makes its own CA (ca.pem in its
// directory, for upstream.tls.ca_file) and a server certificate of the
// kind asked for:
//   kGood        for kOriginName, signed by the CA, valid now;
//   kWrongName   for another name, signed by the CA;
//   kExpired     for kOriginName, signed by the CA, expired yesterday;
//   kSelfSigned  for kOriginName, signed by itself (in no store).
// It answers GET and POST with 200 "METHOD PATH #n" (Content-Length framed,
// keep-alive; a POST adds " len=L", the body bytes it read) and echoes the
// Host it got in X-Seen-Host; GET /bytes/N answers N bytes, byte i being
// i % 256. It counts in a
// file what it saw: TLS connections that completed a handshake, requests,
// GET /health requests, and the SNI of the last handshake, so a test can
// tell "no request served" and "one connection" from the server's side.
#pragma once

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/harness_error.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "harness/gate.h"
#include "harness/ports.h"

namespace larder::test {

inline constexpr std::string_view kOriginName = "origin.larder.test";

inline constexpr std::string_view kTlsOriginScript = R"PY(
import datetime, http.server, os, socketserver, ssl, sys, threading
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

directory, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
NAME = "origin.larder.test"
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def make_cert(cn, sans, key, issuer, issuer_key, ca, not_before, not_after):
    builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())

def write(path, data):
    with open(os.path.join(directory, path), "wb") as f:
        f.write(data)

ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = f"larder test CA {port}"  # unique: two origins' CAs may share one ca_file
ca_cert = make_cert(ca_name, [], ca_key, name(ca_name), ca_key, True, now - day, now + 30 * day)
write("ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
key = ec.generate_private_key(ec.SECP256R1())
if kind == "good":
    cert = make_cert(NAME, [NAME], key, ca_cert.subject, ca_key, False, now - day, now + 30 * day)
elif kind == "wrong_name":
    cert = make_cert("other.larder.test", ["other.larder.test"], key, ca_cert.subject, ca_key, False,
                     now - day, now + 30 * day)
elif kind == "expired":
    cert = make_cert(NAME, [NAME], key, ca_cert.subject, ca_key, False, now - 30 * day, now - day)
elif kind == "self_signed":
    cert = make_cert(NAME, [NAME], key, name(NAME), key, False, now - day, now + 30 * day)
else:
    sys.exit("unknown kind " + kind)
write("server.pem", cert.public_bytes(serialization.Encoding.PEM))
write("server.key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))

lock = threading.Lock()
stats = {"connections": 0, "requests": 0, "health": 0, "sni": "-"}

def save():
    path = os.path.join(directory, "stats")
    with open(path + ".tmp", "w") as f:
        for k, v in stats.items():
            f.write(f"{k} {v}\n")
    os.replace(path + ".tmp", path)

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
def on_sni(sock, server_name, ctx):
    with lock:
        stats["sni"] = server_name or "-"
context.sni_callback = on_sni

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    def setup(self):
        self.request.do_handshake()  # in this thread; a failure ends it here
        super().setup()
        with lock:
            stats["connections"] += 1
            save()
    def do_POST(self):
        self.received = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.do_GET()
    def do_GET(self):
        if self.path.startswith("/bytes/"):
            return self.send_bytes(int(self.path[len("/bytes/"):]))
        with lock:
            stats["requests"] += 1
            if self.path == "/health":
                stats["health"] += 1
            n = stats["requests"]
            save()
        body = f"{self.command} {self.path} #{n}".encode()
        if self.command == "POST":
            body += f" len={self.received}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        self.end_headers()
        self.wfile.write(body)
    def send_bytes(self, size):
        with lock:
            stats["requests"] += 1
            save()
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        block = bytes(range(256)) * 256  # 64 KiB; byte i of the body is i % 256
        while size > 0:
            self.wfile.write(block[:min(size, len(block))])
            size -= len(block)
    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def get_request(self):
        sock, addr = self.socket.accept()
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr
    def handle_error(self, request, client_address):
        pass

server = Server(("127.0.0.1", port), Handler)
save()
server.serve_forever()
)PY";

class TlsOrigin {
 public:
  enum class Cert { kGood, kWrongName, kExpired, kSelfSigned };

  explicit TlsOrigin(Cert cert) : port_(freePort()) {
    dir_.writeFile("tls_origin.py", kTlsOriginScript);
    static constexpr const char* kKinds[] = {"good", "wrong_name", "expired", "self_signed"};
    process_ = std::make_unique<Process>(std::vector<std::string>{
        "/usr/bin/python3", (dir_.path() / "tls_origin.py").string(), dir_.path().string(),
        std::to_string(port_), kKinds[static_cast<int>(cert)]});
    // Key generation and imports take a second or more on a busy machine.
    // The stats file is written once the socket listens.
    if (!waitUntil([&] { return stat("connections") == 0 ||
                                !process_->isRunning(); },
                   30s) ||
        !process_->isRunning()) {
      throw HarnessError("the TLS origin did not start (python3-cryptography installed?): " +
                         process_->stderrText());
    }
  }

  uint16_t port() const { return port_; }
  // This origin's CA certificate (PEM file).
  std::string caFile() const { return (dir_.path() / "ca.pem").string(); }
  std::string caPem() const { return readFileText(dir_.path() / "ca.pem"); }
  // The server's own certificate (PEM file): trusted as is for kSelfSigned.
  std::string certFile() const { return (dir_.path() / "server.pem").string(); }
  // A counter from the origin's stats file: connections, requests, health;
  // -1 when the file is not there (yet).
  long stat(std::string_view key) const {
    const std::string value = statText(key);
    long number = -1;
    std::from_chars(value.data(), value.data() + value.size(), number);
    return number;
  }
  // The SNI of the last handshake ("-" when none was sent).
  std::string sni() const { return statText("sni"); }

 private:
  std::string statText(std::string_view key) const {
    const std::string text = readFileText(dir_.path() / "stats");
    const std::string prefix = std::string(key) + " ";
    size_t at = 0;
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + at, end - at);
      if (line.starts_with(prefix)) return std::string(line.substr(prefix.size()));
      at = end + 1;
    }
    return "";
  }

  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<Process> process_;
};

}  // namespace larder::test
