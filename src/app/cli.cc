#include "app/cli.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "app/sd_notify.h"
#include "app/worker.h"
#include "base/log.h"
#include "config/loader.h"
#include "net/loop.h"
#include "net/uv_handle.h"

namespace larder::app {
namespace {

constexpr const char* kDefaultConfig = "/etc/larder/larder.yaml";

constexpr const char* kHelp = R"(Usage: larder [OPTIONS]

larder is a caching reverse proxy: it answers repeated reads from a cache
(Redis, or its in-memory store), forwards the rest to the upstream API, and
invalidates cached reads when writes succeed. Everything is configured in one
YAML file; see /usr/share/doc/larder/larder.yaml or conf/larder.yaml.

Options:
  -c, --config FILE    configuration file (default: /etc/larder/larder.yaml)
  -t, --check-config   validate the configuration and exit: prints "ok" and
                       exits 0, or prints every error as FILE:LINE:COL: message
                       and exits 1
  -v, --version        print the version and exit
  -h, --help           print this help and exit

Signals:
  SIGTERM, SIGINT      stop accepting, finish in-flight requests (up to
                       timeouts.drain), then exit 0
  SIGHUP               reload the configuration; an invalid file is rejected
                       and the running configuration kept
  SIGUSR1              reopen log files (after rotation)
)";

struct Options {
  std::string config_path = kDefaultConfig;
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

bool applyLogConfig(const config::LogConfig& log) {
  base::Log::setLevel(log.level);
  bool ok = base::Log::setErrorLogPath(log.error_log);
  if (log.access_log != "off") ok = base::Log::setAccessLogPath(log.access_log) && ok;
  return ok;
}

// The main thread: starts the workers, then waits for signals.
class Supervisor {
 public:
  Supervisor(std::string config_path, config::ConfigPtr config)
      : config_path_(std::move(config_path)), config_(std::move(config)) {
    shared_.memory = std::make_shared<store::MemoryBackend>(config_->store.memory_max_size);
  }

  int run() {
    unsigned count = config_->server.workers;
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < count; ++i) {
      auto worker = std::make_unique<Worker>(i, config_, shared_);
      std::string error = worker->start();
      if (!error.empty()) {
        LOG_ERROR("cannot listen on {}: {}", config_->server.listen.toString(), error);
        stopWorkers();
        return 1;
      }
      workers_.push_back(std::move(worker));
    }
    LOG_INFO("larder {} listening on {} with {} worker(s), upstream {}, store {}", LARDER_VERSION,
             config_->server.listen.toString(), count, describeUpstream(),
             config_->store.redis ? "redis " + config_->store.redis->address.toString()
                                  : std::string("memory"));
    watchSignal(terminate_, SIGTERM);
    watchSignal(interrupt_, SIGINT);
    watchSignal(hangup_, SIGHUP);
    watchSignal(user1_, SIGUSR1);
    sdNotify("READY=1");
    loop_.run();
    for (auto& worker : workers_) worker->join();
    LOG_INFO("larder stopped");
    return 0;
  }

 private:
  void watchSignal(net::UvHandle<uv_signal_t>& handle, int signum) {
    uv_signal_init(loop_.raw(), handle.get());
    handle.markInitialized();
    handle.get()->data = this;
    uv_signal_start(
        handle.get(),
        [](uv_signal_t* signal_handle, int number) {
          static_cast<Supervisor*>(signal_handle->data)->onSignal(number);
        },
        signum);
  }

  void onSignal(int signum) {
    if (signum == SIGTERM || signum == SIGINT) {
      LOG_INFO("received {}: draining (up to {} ms)", strsignal(signum),
               config_->server.drain_timeout.count());
      sdNotify("STOPPING=1");
      stopWorkers();
      for (auto* handle : {&terminate_, &interrupt_, &hangup_, &user1_}) handle->close();
    } else if (signum == SIGHUP) {
      reload();
    } else if (signum == SIGUSR1) {
      if (!base::Log::reopen()) LOG_ERROR("cannot reopen log files");
    }
  }

  void reload() {
    sdNotify("RELOADING=1");
    auto result = config::loadConfigFile(config_path_);
    if (!result.ok()) {
      LOG_ERROR("reload of {} rejected; keeping the running configuration:", config_path_);
      for (const auto& error : result.error()) LOG_ERROR("  {}", error.toString());
    } else {
      config::ConfigPtr next = std::move(result).value();
      if (!(next->server.listen == config_->server.listen) ||
          next->server.workers != config_->server.workers) {
        LOG_WARN("listen address and worker count changes need a restart; kept {}",
                 config_->server.listen.toString());
      }
      applyLogConfig(next->log);
      config_ = next;
      for (auto& worker : workers_) worker->reconfigure(config_);
      LOG_INFO("configuration reloaded from {}", config_path_);
    }
    sdNotify("READY=1");
  }

  void stopWorkers() {
    for (auto& worker : workers_) worker->shutdown();
  }

  std::string describeUpstream() const {
    std::string text;
    for (const auto& server : config_->upstream.servers) {
      if (!text.empty()) text += ",";
      text += server.toString();
    }
    return text;
  }

  std::string config_path_;
  config::ConfigPtr config_;
  SharedState shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  net::Loop loop_;
  net::UvHandle<uv_signal_t> terminate_, interrupt_, hangup_, user1_;
};

}  // namespace

int runMain(int argc, char** argv) {
  Options options;
  if (int status = parseArguments(argc, argv, options); status >= 0) return status;

  auto result = config::loadConfigFile(options.config_path);
  if (options.check_config) {
    if (!result.ok()) {
      printErrors(result.error());
      return 1;
    }
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
  // A client that disconnects mid-write must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  Supervisor supervisor(options.config_path, std::move(config));
  return supervisor.run();
}

}  // namespace larder::app
