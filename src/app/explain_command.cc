#include "app/explain_command.h"

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "app/admin_client.h"

namespace larder::app {
namespace {

struct ExplainOptions {
  std::string url;
  std::vector<std::string> headers;  // "Field: value"
  std::string method;
  bool json = false;
  AdminOptions admin;
};

int explainUsage(std::string_view problem) {
  std::fprintf(stderr,
               "larder explain: %.*s\nusage: larder explain URL [-H 'Field: value']... [-X METHOD] [--json] "
               "[--admin HOST:PORT] [--token-file FILE] [-c FILE]\n",
               static_cast<int>(problem.size()), problem.data());
  return 2;
}

int parseExplainArguments(int argc, char** argv, ExplainOptions& options) {
  std::vector<std::string_view> positional;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string field, problem;
    if (takeAdminOption(argc, argv, i, options.admin, problem)) {
      if (!problem.empty()) return explainUsage(problem);
    } else if (arg == "-H" || arg == "--header") {
      if (!value(field)) return explainUsage("-H needs 'Field: value'");
      if (field.find(':') == std::string::npos) return explainUsage(fmt::format("bad header '{}' (want 'Field: value')", field));
      options.headers.push_back(std::move(field));
    } else if (arg == "-X" || arg == "--method") {
      if (!value(options.method) || options.method.empty()) return explainUsage("-X needs a method");
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "-h" || arg == "--help") {
      return explainUsage("help");
    } else if (arg.starts_with("-") && arg.size() > 1) {
      return explainUsage(fmt::format("unknown option '{}'", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 1 || positional[0].empty()) return explainUsage("exactly one URL is needed");
  options.url = positional[0];
  return -1;
}

}  // namespace

int runExplainCommand(int argc, char** argv) {
  ExplainOptions options;
  if (int status = parseExplainArguments(argc, argv, options); status >= 0) return status;
  AdminTarget admin;
  if (int status = resolveAdminTarget("larder explain", options.admin, admin); status >= 0) return status;

  std::string target = "/explain?url=" + percentEncode(options.url);
  for (const auto& field : options.headers) target += "&h=" + percentEncode(field);
  if (!options.method.empty()) target += "&method=" + percentEncode(options.method);
  if (!options.json) target += "&format=text";
  std::string error;
  auto answer = askAdmin(admin, "GET", target, "larder-explain", error);
  if (!answer) {
    std::fprintf(stderr, "larder explain: %s\n", error.c_str());
    return 1;
  }
  if (answer->status != 200) {
    if (options.json) std::fputs(answer->body.c_str(), stdout);
    std::fprintf(stderr, "larder explain: the admin API answered %d: %s\n", answer->status,
                 jsonStringField(answer->body, "error").value_or(answer->body).c_str());
    return 1;
  }
  std::fputs(answer->body.c_str(), stdout);
  if (!answer->body.empty() && answer->body.back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace larder::app
