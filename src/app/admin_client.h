// The admin API's client side, shared by `larder purge` and `larder
// explain`: where the admin listener is and its token, and one blocking
// HTTP/1.1 request to it (bounded by a 10 s timeout per step).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace larder::app {

struct AdminTarget {
  std::string address;  // HOST:PORT
  std::string token;    // empty: none
};

// The address and token from --admin / --token-file, else from the
// configuration file (`config_path`, default /etc/larder/larder.yaml if it
// exists), else 127.0.0.1:9091 without a token. On failure prints
// "<command>: <why>" to stderr and returns the exit status (1, or 2 for a
// malformed address); -1 on success.
int resolveAdminTarget(std::string_view command, const std::string& admin, const std::string& token_file,
                       const std::string& config_path, AdminTarget& out);

struct AdminAnswer {
  int status = 0;
  std::string body;
};

// One request with Connection: close; nullopt with `error` set when the
// admin API cannot be reached or does not answer HTTP.
std::optional<AdminAnswer> askAdmin(const AdminTarget& target, std::string_view method,
                                    std::string_view request_target, std::string_view user_agent,
                                    std::string& error);

// Every byte but the RFC 3986 unreserved ones as %XX.
std::string percentEncode(std::string_view text);

}  // namespace larder::app
