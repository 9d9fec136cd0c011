#include "app/purge_command.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "config/loader.h"

namespace larder::app {
namespace {

constexpr const char* kDefaultConfig = "/etc/larder/larder.yaml";
constexpr int kTimeoutMs = 10000;

struct PurgeOptions {
  std::string scope;    // namespace, url, all
  std::string subject;  // NAME or URL
  std::string admin;    // HOST:PORT
  std::string token_file;
  std::string config_path;
  bool soft = false;  // mark stale instead of invalid (cache/soft_purge.h)
};

int usage(std::string_view problem) {
  std::fprintf(stderr,
               "larder purge: %.*s\nusage: larder purge namespace NAME | url URL | all "
               "[--soft] [--admin HOST:PORT] [--token-file FILE] [-c FILE]\n",
               static_cast<int>(problem.size()), problem.data());
  return 2;
}

// Every byte but the RFC 3986 unreserved ones as %XX.
std::string percentEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// "host:port" or "[v6]:port" -> host, port.
bool splitAddress(const std::string& address, std::string& host, std::string& port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty();
}

bool waitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, kTimeoutMs);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// One HTTP/1.1 exchange with Connection: close; the response text, or an
// error message in `error`.
std::optional<std::string> httpExchange(const std::string& host, const std::string& port,
                                        const std::string& request, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = fmt::format("cannot resolve {}: {}", host, gai_strerror(rc));
    return std::nullopt;
  }
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = fmt::format("cannot connect to {}:{}: {}", host, port, std::strerror(errno));
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return std::nullopt;
  size_t sent = 0;
  while (sent < request.size()) {
    if (!waitFor(fd, POLLOUT)) break;
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[16384];
  while (sent == request.size() && waitFor(fd, POLLIN)) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (sent != request.size() || response.empty()) {
    error = fmt::format("no answer from the admin API at {}:{}", host, port);
    return std::nullopt;
  }
  return response;
}

// The "warning" string of the admin API's JSON answer, unescaped, if any.
std::optional<std::string> warningOf(std::string_view body) {
  constexpr std::string_view kKey = "\"warning\":\"";
  const size_t at = body.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::string text;
  for (size_t i = at + kKey.size(); i < body.size(); ++i) {
    if (body[i] == '"') return text;
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    text += body[i];
  }
  return std::nullopt;
}

int parsePurgeArguments(int argc, char** argv, PurgeOptions& options) {
  std::vector<std::string_view> positional;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--admin") {
      if (!value(options.admin)) return usage("--admin needs HOST:PORT");
    } else if (arg == "--token-file") {
      if (!value(options.token_file)) return usage("--token-file needs a file");
    } else if (arg == "-c" || arg == "--config") {
      if (!value(options.config_path)) return usage("-c needs a file");
    } else if (arg == "--soft") {
      options.soft = true;
    } else if (arg == "-h" || arg == "--help") {
      return usage("help");
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return usage(fmt::format("unknown option '{}'", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty()) return usage("what to purge is missing");
  options.scope = positional[0];
  if (options.scope == "all") {
    if (positional.size() != 1) return usage("'all' takes no argument");
  } else if (options.scope == "namespace" || options.scope == "url") {
    if (positional.size() != 2 || positional[1].empty())
      return usage(fmt::format("'{}' takes exactly one argument", options.scope));
    options.subject = positional[1];
  } else {
    return usage(fmt::format("unknown purge scope '{}' (namespace, url or all)", options.scope));
  }
  return -1;
}

}  // namespace

int runPurgeCommand(int argc, char** argv) {
  PurgeOptions options;
  if (int status = parsePurgeArguments(argc, argv, options); status >= 0) return status;

  std::string token;
  std::string address = options.admin;
  std::string config_path = options.config_path;
  if (config_path.empty() && options.admin.empty() && std::filesystem::exists(kDefaultConfig))
    config_path = kDefaultConfig;
  if (!config_path.empty()) {
    auto result = config::loadConfigFile(config_path);
    if (!result.ok()) {
      for (const auto& error : result.error()) std::fprintf(stderr, "%s\n", error.toString().c_str());
      return 1;
    }
    const config::Config& config = *result.value();
    if (address.empty()) {
      if (!config.admin.listen) {
        std::fprintf(stderr, "larder purge: admin.listen is off in %s\n", config_path.c_str());
        return 1;
      }
      address = config.admin.listen->toString();
    }
    token = config.admin.token;
  }
  if (address.empty()) address = "127.0.0.1:9091";
  if (!options.token_file.empty()) {
    std::ifstream file(options.token_file);
    if (!file) {
      std::fprintf(stderr, "larder purge: cannot read %s: %s\n", options.token_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
    std::stringstream content;
    content << file.rdbuf();
    token = trimmed(content.str());
  }
  std::string host, port;
  if (!splitAddress(address, host, port)) {
    std::fprintf(stderr, "larder purge: bad admin address '%s' (HOST:PORT)\n", address.c_str());
    return 2;
  }

  std::string target;
  if (options.scope == "all") {
    target = "/purge/all";
  } else if (options.scope == "namespace") {
    target = "/purge/namespace/" + percentEncode(options.subject);
  } else {
    target = "/purge?url=" + percentEncode(options.subject);
  }
  if (options.soft) target += target.find('?') == std::string::npos ? "?soft=1" : "&soft=1";
  std::string request = fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n", target, address);
  if (!token.empty()) request += fmt::format("Authorization: Bearer {}\r\n", token);
  request += "Connection: close\r\nUser-Agent: larder-purge\r\n\r\n";

  std::string error;
  auto response = httpExchange(host, port, request, error);
  if (!response) {
    std::fprintf(stderr, "larder purge: %s\n", error.c_str());
    return 1;
  }
  int status = 0;
  if (std::sscanf(response->c_str(), "HTTP/1.%*d %d", &status) != 1) {
    std::fprintf(stderr, "larder purge: not an HTTP answer from %s\n", address.c_str());
    return 1;
  }
  size_t body_at = response->find("\r\n\r\n");
  std::string body = body_at == std::string::npos ? std::string() : response->substr(body_at + 4);
  std::fputs(body.c_str(), stdout);
  if (!body.empty() && body.back() != '\n') std::fputc('\n', stdout);
  if (auto warning = warningOf(body))
    std::fprintf(stderr, "larder purge: warning: %s\n", warning->c_str());
  if (status != 200) {
    std::fprintf(stderr, "larder purge: the admin API answered %d\n", status);
    return 1;
  }
  return 0;
}

}  // namespace larder::app
