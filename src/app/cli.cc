#include "app/cli.h"

#include <fmt/format.h>
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/admin_client.h"
#include "app/explain_command.h"
#include "app/purge_command.h"
#include "app/supervisor.h"
#include "config/loader.h"

namespace larder::app {
namespace {

constexpr const char* kHelp = R"(Usage: larder [OPTIONS]
       larder purge namespace NAME | url URL | all [PURGE OPTIONS]
       larder explain URL [-H 'Field: value']... [EXPLAIN OPTIONS]

larder is a caching reverse proxy: it answers repeated reads from a cache
(Redis, or its in-memory store), forwards the rest to the upstream API, and
invalidates cached reads when writes succeed. Everything is configured in one
YAML file; see /usr/share/doc/larder/larder.yaml or conf/larder.yaml.

Options:
  -c, --config FILE    configuration file (default: /etc/larder/larder.yaml)
  -t, --check-config   validate the configuration and exit: prints "ok" and
                       exits 0, or prints every error as FILE:LINE:COL: message
                       and exits 1. Warnings (FILE:LINE:COL: warning: message,
                       e.g. routes that overlap, or an invalidates: name no
                       read route uses) are printed too; they do not fail it
  -v, --version        print the version and exit
  -h, --help           print this help and exit

Purging (through a running larder's admin API, admin.listen):
  larder purge namespace NAME   drop every entry of one namespace (a route's
                                namespaces: value, e.g. products or product:42,
                                or sk:NAME for a Surrogate-Key name)
  larder purge url URL          drop every cached variant of one URL, e.g.
                                http://api.example.com/api/products/42
  larder purge all              drop everything
  Purge options:
    --admin HOST:PORT  the admin listener (default: admin.listen of the
                       configuration, else 127.0.0.1:9091)
    --token-file FILE  bearer token for the admin API (default: the
                       configuration's admin.token_file)
    -c, --config FILE  read the admin address and token from FILE
    --soft             mark stale instead of invalid: entries are served
                       within their stale windows while one request
                       refreshes each (a write still invalidates hard)
  Prints the JSON answer; exits 0 once the purge reached the store, 1 if not.
  Purges apply to every larder sharing the same Redis.

Explaining (through a running larder's admin API, admin.listen):
  larder explain URL [-H 'Field: value']...
                       why URL is a HIT, MISS or BYPASS: the route that
                       matches, the key's parts, the namespaces and their
                       versions, the stored entry, and what the last answer
                       stored or refused. Principals show only as digests.
  Explain options:
    -H 'Field: value'  a request field, as the client would send it (repeat)
    -X METHOD          the method (default GET); a write shows what it
                       invalidates
    --json             print the admin API's JSON instead of text
    --admin, --token-file, -c   as for purge

Admin listener (admin.listen, default 127.0.0.1:9091):
  GET /metrics (Prometheus), GET /healthz, GET /readyz, POST /purge/...,
  GET /explain?url=URL&h=Field:%20value
  GET / (status page; #token=TOKEN when admin.token_file is set)

Signals:
  SIGTERM, SIGINT      stop accepting, finish in-flight requests and write
                       pending invalidations (up to timeouts.drain), then
                       exit 0; 3 if invalidations were lost (logged)
  SIGHUP               reload the configuration; an invalid file is rejected
                       and the running configuration kept
  SIGUSR1              reopen log files (after rotation)
)";

struct Options {
  std::string config_path = kDefaultConfigPath;
  bool check_config = false;
};

// Returns -1 to continue, or an exit status.
int parseArguments(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (arg == "-v" || arg == "--version") {
      std::printf("larder %s\n", LARDER_VERSION);
      return 0;
    }
    if (arg == "-t" || arg == "--check-config") {
      options.check_config = true;
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "larder: %s needs a file name\n", argv[i]);
        return 2;
      }
      options.config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      options.config_path = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "larder: unknown option '%s' (see larder --help)\n", argv[i]);
      return 2;
    }
  }
  return -1;
}

void printErrors(const std::vector<config::ConfigError>& errors) {
  for (const auto& error : errors) std::fprintf(stderr, "%s\n", error.toString().c_str());
}

}  // namespace

int runMain(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "purge") return runPurgeCommand(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "explain") return runExplainCommand(argc, argv);
  Options options;
  if (int status = parseArguments(argc, argv, options); status >= 0) return status;

  auto result = config::loadConfigFile(options.config_path);
  if (options.check_config) {
    if (!result.ok()) {
      printErrors(result.error());
      return 1;
    }
    for (const std::string& warning : result.value()->warnings)
      std::fprintf(stderr, "%s\n", warning.c_str());
    std::printf("ok\n");
    return 0;
  }
  if (!result.ok()) {
    printErrors(result.error());
    return 1;
  }
  config::ConfigPtr config = std::move(result).value();
  if (!applyLogConfig(config->log)) {
    std::fprintf(stderr, "larder: cannot open a log file (error_log %s, access_log %s)\n",
                 config->log.error_log.c_str(), config->log.access_log.c_str());
    return 1;
  }
  logConfigWarnings(*config);
  // Bodies pass through in buffers of up to 64 KiB; with glibc's default
  // 128 KiB trim threshold every such cycle gave pages back to the kernel
  // and faulted them in again (bench/: ~2x on 64 KiB answers). A few MiB
  // kept per arena is a bounded price.
  mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  // A client that disconnects mid-write must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  Supervisor supervisor(options.config_path, std::move(config));
  return supervisor.run();
}

}  // namespace larder::app
