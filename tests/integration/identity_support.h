// A virtual-hosting origin behind larder, for the cache-identity tests
// (DESIGN invariant 11: keyed = forwarded). Its answer is a function of
// everything a real framework might build an answer from, each read the way
// lenient frameworks read it:
//  - the host: an absolute-form target's authority, else Host (RFC 9112
//    §3.2.2); no Host reads as the default virtual host "(default)";
//  - the path, taken literally: anything but /api/<kind>/<digits> is 404;
//  - the query: split on '&' and ';', names percent- and '+'-decoded, the
//    last "page" wins (PHP, Rack < 3);
//  - Accept-Language;
//  - override fields that frameworks trust, with '_' read as '-' (CGI);
//  - a request body.
// So an answer shows whatever reached it; a victim's answer must be exactly
// expectedBody() of the victim's own request.
#pragma once

#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "harness/fake_upstream.h"
#include "harness/http_client.h"
#include "harness/larder_process.h"
#include "harness/printing.h"

namespace larder::test {

inline std::string lowerAscii(std::string text) {
  for (char& c : text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return text;
}

inline std::string formDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// The fields the origin trusts (as a framework behind a "trusted" proxy would).
inline constexpr std::string_view kTrustedOverrides[] = {
    "x-forwarded-protocol", "front-end-https", "x-url-scheme",    "x-forwarded-uri",  "x-original-path",
    "x-envoy-original-path", "x-real-ip",      "true-client-ip", "x-original-url",   "forwarded",
    "x-forwarded-scheme",   "x-forwarded-port", "x-http-method-override", "transfer-encoding",
};

inline std::string expectedBody(std::string_view host, std::string_view path, std::string_view page = "",
                                std::string_view lang = "", std::string_view extra = "") {
  return fmt::format("host={} path={} page={} lang={} extra={}", host, path, page, lang, extra);
}

inline FakeResponse vhostAnswer(const RecordedRequest& request) {
  std::string host = request.hasHeader("Host") ? lowerAscii(request.header("Host")) : "(default)";
  std::string target = request.target;
  if (target.rfind("http://", 0) == 0) {
    const size_t slash = target.find_first_of("/?", 7);
    host = lowerAscii(target.substr(7, slash == std::string::npos ? std::string::npos : slash - 7));
    target = slash == std::string::npos ? "/" : target.substr(slash);
  }
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  std::string page;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    const size_t end = query.find_first_of("&;", start);
    const std::string piece = query.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const size_t eq = piece.find('=');
    if (formDecode(piece.substr(0, eq)) == "page") page = eq == std::string::npos ? "" : formDecode(piece.substr(eq + 1));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::string extra;
  for (const auto& [name, value] : request.headers) {
    std::string cgi = lowerAscii(name);
    for (char& c : cgi) c = c == '_' ? '-' : c;
    for (std::string_view trusted : kTrustedOverrides) {
      if (cgi == trusted) {
        extra += fmt::format("[{}={}]", cgi, value);
        break;
      }
    }
    if (cgi == "x-forwarded-host" && lowerAscii(value) != host) extra += fmt::format("[x-forwarded-host={}]", value);
  }
  if (request.hasHeader("X-User")) extra += "[user=" + request.header("X-User") + "]";
  if (!request.body.empty()) extra += "[body=" + request.body + "]";
  FakeResponse response;
  response.headers = {{"Content-Type", "text/plain"}};
  bool known = path.rfind("/api/", 0) == 0;
  if (known) {
    const size_t slash = path.find('/', 5);
    known = slash != std::string::npos && slash + 1 < path.size() &&
            path.find_first_not_of("0123456789", slash + 1) == std::string::npos;
  }
  if (!known) {
    response.status = 404;
    response.reason = "Not Found";
  }
  response.body = expectedBody(host, path, page, request.header("Accept-Language"), extra);
  return response;
}

// larder (memory store) in front of vhostAnswer. Routes: keep only "page"
// under /api/kept, key Accept-Language under /api/varied, per user (X-User)
// under /api/mine, everything else under /api/; 404s are stored (as the
// shipped example config does).
struct VhostFixture {
  explicit VhostFixture(std::string_view extra_config = {}) {
    upstream.setHandler([](const RecordedRequest& request) { return vhostAnswer(request); });
    larder = std::make_unique<LarderProcess>(fmt::format(
        "workers: 1\n"
        "upstream: {{ servers: [127.0.0.1:{}], connect_timeout: 500ms, response_timeout: 5s }}\n"
        "store: {{ memory: {{ max_size: 16MiB }} }}\n"
        "routes:\n"
        "  - match: GET /api/kept/{{id}}\n"
        "    ttl: 1m\n"
        "    statuses: [200, 404]\n"
        "    query: {{ keep: [page] }}\n"
        "  - match: GET /api/varied/{{id}}\n"
        "    ttl: 1m\n"
        "    statuses: [200, 404]\n"
        "    vary: [Accept-Language]\n"
        "  - match: GET /api/mine/{{id}}\n"
        "    ttl: 1m\n"
        "    per_user: {{ header: X-User }}\n"
        "  - match: GET /api/*\n"
        "    ttl: 1m\n"
        "    statuses: [200, 404]\n"
        "log: {{ level: error }}\n{}",
        upstream.port(), extra_config));
  }

  HttpClient client() { return HttpClient(larder->port()); }

  // Sends raw bytes on a fresh connection; the first answer, if any.
  std::optional<HttpResponse> raw(const std::string& bytes) {
    HttpClient c = client();
    if (!c.send(bytes)) return std::nullopt;
    return c.readResponse(5s);
  }

  FakeUpstream upstream;
  std::unique_ptr<LarderProcess> larder;
};

inline HttpResponse victimGet(VhostFixture& fixture, std::string_view target, Headers headers = {}) {
  headers.emplace_back("Host", "victim.example");
  HttpClient client = fixture.client();
  auto response = client.get(target, headers);
  REQUIRE_MESSAGE(response.has_value(), "no response to GET ", target);
  return *response;
}

}  // namespace larder::test
