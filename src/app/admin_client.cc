#include "app/admin_client.h"

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
#include <sstream>

#include "config/loader.h"

namespace larder::app {
namespace {

constexpr int kTimeoutMs = 10000;

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

}  // namespace

std::optional<std::string> jsonStringField(std::string_view body, std::string_view name) {
  const std::string key = fmt::format("\"{}\":\"", name);
  const size_t at = body.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string text;
  for (size_t i = at + key.size(); i < body.size(); ++i) {
    if (body[i] == '"') return text;
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    text += body[i];
  }
  return std::nullopt;  // unterminated
}

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

bool takeAdminOption(int argc, char** argv, int& i, AdminOptions& options, std::string& problem) {
  const std::string_view arg = argv[i];
  std::string* out = nullptr;
  if (arg == "--admin") {
    out = &options.admin;
    problem = "--admin needs HOST:PORT";
  } else if (arg == "--token-file") {
    out = &options.token_file;
    problem = "--token-file needs a file";
  } else if (arg == "-c" || arg == "--config") {
    out = &options.config_path;
    problem = "-c needs a file";
  } else {
    return false;
  }
  if (i + 1 >= argc) return true;
  *out = argv[++i];
  problem.clear();
  return true;
}

int resolveAdminTarget(std::string_view command, const AdminOptions& options, AdminTarget& out) {
  const std::string name(command);
  const std::string& token_file = options.token_file;
  out.address = options.admin;
  std::string config_path = options.config_path;
  if (config_path.empty() && options.admin.empty() && std::filesystem::exists(kDefaultConfigPath))
    config_path = kDefaultConfigPath;
  if (!config_path.empty()) {
    auto result = config::loadConfigFile(config_path);
    if (!result.ok()) {
      for (const auto& error : result.error()) std::fprintf(stderr, "%s\n", error.toString().c_str());
      return 1;
    }
    const config::Config& config = *result.value();
    if (out.address.empty()) {
      if (!config.admin.listen) {
        std::fprintf(stderr, "%s: admin.listen is off in %s\n", name.c_str(), config_path.c_str());
        return 1;
      }
      out.address = config.admin.listen->toString();
    }
    out.token = config.admin.token;
  }
  if (out.address.empty()) out.address = "127.0.0.1:9091";
  if (!token_file.empty()) {
    std::ifstream file(token_file);
    if (!file) {
      std::fprintf(stderr, "%s: cannot read %s: %s\n", name.c_str(), token_file.c_str(), std::strerror(errno));
      return 1;
    }
    std::stringstream content;
    content << file.rdbuf();
    out.token = trimmed(content.str());
  }
  std::string host, port;
  if (!splitAddress(out.address, host, port)) {
    std::fprintf(stderr, "%s: bad admin address '%s' (HOST:PORT)\n", name.c_str(), out.address.c_str());
    return 2;
  }
  return -1;
}

std::optional<AdminAnswer> askAdmin(const AdminTarget& target, std::string_view method,
                                    std::string_view request_target, std::string_view user_agent,
                                    std::string& error) {
  std::string host, port;
  if (!splitAddress(target.address, host, port)) {
    error = fmt::format("bad admin address '{}' (HOST:PORT)", target.address);
    return std::nullopt;
  }
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", method, request_target, target.address);
  if (method == "POST") request += "Content-Length: 0\r\n";
  if (!target.token.empty()) request += fmt::format("Authorization: Bearer {}\r\n", target.token);
  request += fmt::format("Connection: close\r\nUser-Agent: {}\r\n\r\n", user_agent);
  auto response = httpExchange(host, port, request, error);
  if (!response) return std::nullopt;
  AdminAnswer answer;
  if (std::sscanf(response->c_str(), "HTTP/1.%*d %d", &answer.status) != 1) {
    error = fmt::format("not an HTTP answer from {}", target.address);
    return std::nullopt;
  }
  size_t body_at = response->find("\r\n\r\n");
  if (body_at != std::string::npos) answer.body = response->substr(body_at + 4);
  return answer;
}

}  // namespace larder::app
