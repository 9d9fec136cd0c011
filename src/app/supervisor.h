// Supervisor: the main thread of a running larder. It starts the workers and
// the admin listener, then waits on its own loop for signals (stop, reload,
// log reopening) and, under systemd, pings the watchdog while every worker
// loop still answers.
//
// Ownership (STYLE L7): the supervisor owns the workers, the admin server,
// the shared state they all use and its own loop with the signal handles.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "app/worker.h"
#include "base/metrics.h"
#include "config/config.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/uv_handle.h"

namespace larder::app {

// Applies the log section (level, files); false if a log file cannot open.
bool applyLogConfig(const config::LogConfig& log);
// Logs the loader's warnings, every one (not rate-limited).
void logConfigWarnings(const config::Config& config);

// A stop that lost invalidations is a failure for systemd and scripts too
// (DESIGN invariant 13: a loss is never silent), not only a log line.
inline constexpr int kExitInvalidationsLost = 3;

class Supervisor {
 public:
  Supervisor(std::string config_path, config::ConfigPtr config);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until stopped; returns the process exit status: 0, 1 when it
  // could not start, kExitInvalidationsLost when it stopped with
  // invalidations it never wrote.
  int run();

 private:
  void startSentinel(const config::SentinelConfig& config);
  void watchSignal(net::UvHandle<uv_signal_t>& handle, int signum);
  void onSignal(int signum);
  void reload();
  void stopWorkers();
  void joinWorkers();
  void startWatchdog();
  void onWatchdogTick();
  std::string describeUpstream() const;

  std::string config_path_;
  config::ConfigPtr config_;
  // Workers build their fill lock at start only (cache.distributed_lock).
  bool started_with_fill_lock_ = false;
  SharedState shared_;
  // With store.redis.sentinel: follows the master for every worker.
  std::unique_ptr<store::SentinelWatcher> sentinel_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;
  base::MetricCollectors::Id collector_ = 0;
  net::Loop loop_;
  net::UvHandle<uv_signal_t> terminate_, interrupt_, hangup_, user1_;
  net::Timer watchdog_timer_;
  net::Timer log_timer_;  // flushes rate-limited log summaries
};

}  // namespace larder::app
