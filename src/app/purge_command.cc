#include "app/purge_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "app/admin_client.h"

namespace larder::app {
namespace {

struct PurgeOptions {
  std::string scope;    // namespace, url, all
  std::string subject;  // NAME or URL
  AdminOptions admin;
  bool soft = false;  // mark stale instead of invalid (cache/soft_purge.h)
};

int purgeUsage(std::string_view problem) {
  std::fprintf(stderr,
               "larder purge: %.*s\nusage: larder purge namespace NAME | url URL | all "
               "[--soft] [--admin HOST:PORT] [--token-file FILE] [-c FILE]\n",
               static_cast<int>(problem.size()), problem.data());
  return 2;
}

int parsePurgeArguments(int argc, char** argv, PurgeOptions& options) {
  std::vector<std::string_view> positional;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string problem;
    if (takeAdminOption(argc, argv, i, options.admin, problem)) {
      if (!problem.empty()) return purgeUsage(problem);
    } else if (arg == "--soft") {
      options.soft = true;
    } else if (arg == "-h" || arg == "--help") {
      return purgeUsage("help");
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return purgeUsage(fmt::format("unknown option '{}'", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty()) return purgeUsage("what to purge is missing");
  options.scope = positional[0];
  if (options.scope == "all") {
    if (positional.size() != 1) return purgeUsage("'all' takes no argument");
  } else if (options.scope == "namespace" || options.scope == "url") {
    if (positional.size() != 2 || positional[1].empty())
      return purgeUsage(fmt::format("'{}' takes exactly one argument", options.scope));
    options.subject = positional[1];
  } else {
    return purgeUsage(fmt::format("unknown purge scope '{}' (namespace, url or all)", options.scope));
  }
  return -1;
}

}  // namespace

int runPurgeCommand(int argc, char** argv) {
  PurgeOptions options;
  if (int status = parsePurgeArguments(argc, argv, options); status >= 0) return status;

  AdminTarget admin;
  if (int status = resolveAdminTarget("larder purge", options.admin, admin); status >= 0) return status;

  std::string target;
  if (options.scope == "all") {
    target = "/purge/all";
  } else if (options.scope == "namespace") {
    target = "/purge/namespace/" + percentEncode(options.subject);
  } else {
    target = "/purge?url=" + percentEncode(options.subject);
  }
  if (options.soft) target += target.find('?') == std::string::npos ? "?soft=1" : "&soft=1";
  std::string error;
  auto answer = askAdmin(admin, "POST", target, "larder-purge", error);
  if (!answer) {
    std::fprintf(stderr, "larder purge: %s\n", error.c_str());
    return 1;
  }
  const int status = answer->status;
  const std::string& body = answer->body;
  std::fputs(body.c_str(), stdout);
  if (!body.empty() && body.back() != '\n') std::fputc('\n', stdout);
  if (auto warning = jsonStringField(body, "warning"))
    std::fprintf(stderr, "larder purge: warning: %s\n", warning->c_str());
  if (status != 200) {
    std::fprintf(stderr, "larder purge: the admin API answered %d\n", status);
    return 1;
  }
  return 0;
}

}  // namespace larder::app
