// The admin API's client side, shared by `larder purge` and `larder
// explain`: where the admin listener is and its token, and one blocking
// HTTP/1.1 request to it (bounded by a 10 s timeout per step).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace larder::app {

// The configuration file larder and its admin commands read unless told.
inline constexpr const char* kDefaultConfigPath = "/etc/larder/larder.yaml";

// The options every admin command takes: --admin HOST:PORT, --token-file
// FILE, -c FILE.
struct AdminOptions {
  std::string admin;
  std::string token_file;
  std::string config_path;
};

// If argv[i] is one of AdminOptions' flags, takes it and its value (moving
// i past it) and returns true; `problem` is set when the value is missing.
bool takeAdminOption(int argc, char** argv, int& i, AdminOptions& options, std::string& problem);

struct AdminTarget {
  std::string address;  // HOST:PORT
  std::string token;    // empty: none
};

// The address and token from --admin / --token-file, else from the
// configuration file (`config_path`, default /etc/larder/larder.yaml if it
// exists), else 127.0.0.1:9091 without a token. On failure prints
// "<command>: <why>" to stderr and returns the exit status (1, or 2 for a
// malformed address); -1 on success.
int resolveAdminTarget(std::string_view command, const AdminOptions& options, AdminTarget& out);

struct AdminAnswer {
  int status = 0;
  std::string body;
};

// One request with Connection: close; nullopt with `error` set when the
// admin API cannot be reached or does not answer HTTP.
std::optional<AdminAnswer> askAdmin(const AdminTarget& target, std::string_view method,
                                    std::string_view request_target, std::string_view user_agent,
                                    std::string& error);

// A top-level string field of the admin API's JSON answer, unescaped
// (its answers are flat objects); nullopt when absent or unterminated.
std::optional<std::string> jsonStringField(std::string_view body, std::string_view name);

// Every byte but the RFC 3986 unreserved ones as %XX.
std::string percentEncode(std::string_view text);

}  // namespace larder::app
