#include "app/supervisor.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "app/backlog_retry.h"
#include "app/explain_wiring.h"
#include "app/sd_notify.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "config/loader.h"

namespace larder::app {
namespace {

namespace m = base::metrics;

int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// sd_notify(3): a RELOADING=1 carries the monotonic time it began.
std::string reloadingMessage() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1000000u +
                        static_cast<uint64_t>(now.tv_nsec) / 1000u;
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec);
}

// The watchdog interval systemd asked for (WatchdogSec=), or zero.
std::chrono::microseconds watchdogInterval() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr || *usec == '\0') return {};
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && *pid != '\0') {
    if (std::strtoll(pid, nullptr, 10) != static_cast<long long>(::getpid())) return {};
  }
  char* end = nullptr;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (end == usec || *end != '\0' || value == 0) return {};
  return std::chrono::microseconds(value);
}

}  // namespace

void logConfigWarnings(const config::Config& config) {
  if (!base::Log::enabled(base::LogLevel::kWarn)) return;
  for (const std::string& warning : config.warnings) base::Log::write(base::LogLevel::kWarn, warning);
}

bool applyLogConfig(const config::LogConfig& log) {
  base::Log::setLevel(log.level);
  base::Log::setRateLimit(log.rate_limit);
  bool ok = base::Log::setErrorLogPath(log.error_log);
  if (log.access_log != "off") ok = base::Log::setAccessLogPath(log.access_log) && ok;
  return ok;
}

// Before any worker connects: the first answer is asked for here, bounded
// by the sentinels' timeout; without one, workers bypass Redis until the
// watcher finds the master (DESIGN invariant 5).
void Supervisor::startSentinel(const config::SentinelConfig& config) {
  store::SentinelOptions options;
  options.master_name = config.master_name;
  options.password = config.password;
  for (const auto& address : config.sentinels) options.sentinels.push_back({address.host, address.port});
  shared_.redis_master = std::make_shared<store::MasterAddress>();
  sentinel_ = std::make_unique<store::SentinelWatcher>(std::move(options), shared_.redis_master);
  if (!sentinel_->discover())
    LOG_WARN("redis sentinel: no sentinel named master {} yet; bypassing Redis until one does", config.master_name);
  sentinel_->start();
}

Supervisor::Supervisor(std::string config_path, config::ConfigPtr config)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      watchdog_timer_(loop_),
      log_timer_(loop_) {
  shared_.memory = std::make_shared<store::MemoryBackend>(config_->store.memory_max_size);
  shared_.tier.setMaxBytes(config_->cache.memory_tier_size);
  // With Redis, other instances' writes are heard only once subscribed.
  shared_.tier.setCoherent(!config_->store.redis);
  if (config_->store.redis && config_->store.redis->sentinel) startSentinel(*config_->store.redis->sentinel);
  // Values kept elsewhere, copied into gauges when /metrics is rendered
  // (on the admin thread; both sources are thread-safe).
  collector_ = base::MetricCollectors::add([this] {
    const store::MemoryStats stats = shared_.memory->stats();
    m::memory_store_bytes.set(static_cast<int64_t>(stats.bytes));
    m::memory_store_items.set(static_cast<int64_t>(stats.items));
    m::memory_store_max_bytes.set(static_cast<int64_t>(stats.max_bytes));
    m::memory_store_evictions.setTotal(stats.evictions);
    m::invalidation_backlog.set(static_cast<int64_t>(shared_.backlog.size()));
    m::memory_tier_bytes.set(static_cast<int64_t>(shared_.tier.bytes()));
    m::memory_tier_entries.set(static_cast<int64_t>(shared_.tier.size()));
  });
}

Supervisor::~Supervisor() {
  if (admin_) admin_->stop();
  base::MetricCollectors::remove(collector_);
}

int Supervisor::run() {
  // The admin listener first: once the public port accepts, /metrics and
  // /healthz answer too.
  admin_ = std::make_unique<admin::AdminServer>(
      config_,
      [this](net::Loop& loop, const config::Config& config) { return makeStore(loop, config, shared_); },
      admin::PurgeReach{&shared_.backlog, &shared_.tier});
  admin_->setExplainDeps(explainDeps(shared_));
  if (std::string error = admin_->start(); !error.empty()) {
    LOG_ERROR("cannot listen on admin.listen {}: {}", config_->admin.listen->toString(), error);
    return 1;
  }
  started_with_fill_lock_ = config_->store.redis && config_->cache.distributed_lock.enabled;
  unsigned count = config_->server.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(i, config_, shared_);
    std::string error = worker->start();
    if (!error.empty()) {
      LOG_ERROR("cannot listen on {}: {}", config_->server.listen.toString(), error);
      stopWorkers();
      joinWorkers();
      return 1;
    }
    workers_.push_back(std::move(worker));
  }
  admin_->setListening(true);
  LOG_INFO("larder {} listening on {} with {} worker(s), upstream {}, store {}, admin {}",
           LARDER_VERSION, config_->server.listen.toString(), count, describeUpstream(),
           !config_->store.redis            ? std::string("memory")
           : config_->store.redis->cluster  ? "redis cluster " + config_->store.redis->cluster->nodes.front().toString()
           : config_->store.redis->sentinel ? "redis sentinel " + config_->store.redis->sentinel->master_name
                                            : "redis " + config_->store.redis->address.toString(),
           config_->admin.listen ? config_->admin.listen->toString() : std::string("off"));
  watchSignal(terminate_, SIGTERM);
  watchSignal(interrupt_, SIGINT);
  watchSignal(hangup_, SIGHUP);
  watchSignal(user1_, SIGUSR1);
  sdNotify("READY=1");
  startWatchdog();
  // Rate-limited call sites report what they held back once their window
  // ends, even when nothing else is logged there afterwards.
  log_timer_.unref();
  log_timer_.startRepeating(std::chrono::seconds(1), [] { base::Log::flushSuppressed(); });
  loop_.run();
  joinWorkers();
  // After every worker and the admin thread (purges) have stopped: nothing
  // adds to the backlog any more, and nothing retries it (DESIGN invariant
  // 13: a loss is never silent).
  const bool lost = !shared_.backlog.empty();
  if (lost) base::Log::write(base::LogLevel::kError, describeLostBacklog(shared_.backlog));
  base::Log::flushSuppressed(true);
  LOG_INFO("larder stopped");
  return lost ? kExitInvalidationsLost : 0;
}

void Supervisor::watchSignal(net::UvHandle<uv_signal_t>& handle, int signum) {
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

void Supervisor::onSignal(int signum) {
  if (signum == SIGTERM || signum == SIGINT) {
    LOG_INFO("received {}: draining (up to {} ms)", strsignal(signum),
             config_->server.drain_timeout.count());
    sdNotify("STOPPING=1");
    admin_->setListening(false);
    watchdog_timer_.stop();
    log_timer_.stop();
    stopWorkers();
    for (auto* handle : {&terminate_, &interrupt_, &hangup_, &user1_}) handle->close();
  } else if (signum == SIGHUP) {
    reload();
  } else if (signum == SIGUSR1) {
    if (!base::Log::reopen()) LOG_ERROR("cannot reopen log files");
  }
}

void Supervisor::reload() {
  sdNotify(reloadingMessage());
  m::config_last_reload_timestamp.set(nowSeconds());
  auto result = config::loadConfigFile(config_path_);
  if (!result.ok()) {
    // Every error is logged; the running configuration stays in force.
    LOG_ERROR("reload of {} rejected ({} error(s)); keeping the running configuration:",
              config_path_, result.error().size());
    // Every error, past the per-call-site rate limit: the operator needs the list.
    for (const auto& error : result.error())
      base::Log::write(base::LogLevel::kError, "  " + error.toString());
    m::config_reloads.add(m::index(m::ReloadResult::kRejected), 1);
    m::config_last_reload_successful.set(0);
  } else {
    config::ConfigPtr next = std::move(result).value();
    if (!(next->server.listen == config_->server.listen) ||
        next->server.workers != config_->server.workers) {
      LOG_WARN("listen address and worker count changes need a restart; kept {}",
               config_->server.listen.toString());
    }
    if (next->store.redis && next->store.redis->sentinel && !sentinel_)
      LOG_WARN("turning store.redis.sentinel on needs a restart");
    if (next->store.redis && config_->store.redis &&
        next->store.redis->cluster.has_value() != config_->store.redis->cluster.has_value())
      LOG_WARN("turning store.redis.cluster on or off needs a restart");
    if (next->cache.distributed_lock.enabled && !started_with_fill_lock_)
      LOG_WARN("turning cache.distributed_lock on needs a restart; it stays off until then");
    applyLogConfig(next->log);
    config_ = next;
    // Copies were validated under the old routes' namespaces.
    shared_.tier.flush();
    shared_.tier.setMaxBytes(config_->cache.memory_tier_size);
    for (auto& worker : workers_) worker->reconfigure(config_);
    admin_->reconfigure(config_);
    m::config_reloads.add(m::index(m::ReloadResult::kOk), 1);
    m::config_last_reload_successful.set(1);
    logConfigWarnings(*config_);
    LOG_INFO("configuration reloaded from {}", config_path_);
  }
  sdNotify("READY=1");
}

void Supervisor::stopWorkers() {
  for (auto& worker : workers_) worker->shutdown();
}

// Worker 0 flushes the invalidation backlog during its drain; it is told
// to finish once the others have stopped, since a write they were still
// answering may fail into the backlog up to their last moment. The admin
// listener stays up (/readyz says 503) while clients drain, and stops before
// that flush: a purge it still had in flight is in the backlog by then.
void Supervisor::joinWorkers() {
  for (size_t i = 1; i < workers_.size(); ++i) workers_[i]->join();
  if (!workers_.empty()) workers_.front()->waitForConnectionsDrained();
  admin_->stop();
  if (workers_.empty()) return;
  workers_.front()->othersStopped();
  workers_.front()->join();
}

// systemd's WatchdogSec=: ping at half the interval, but only while every
// worker loop has run the previous heartbeat, so a wedged worker gets the
// process restarted instead of hidden behind a healthy main thread.
void Supervisor::startWatchdog() {
  const auto interval = watchdogInterval();
  if (interval.count() == 0) return;
  const auto period = std::max(base::Duration(1),
                               std::chrono::duration_cast<base::Duration>(interval / 2));
  LOG_INFO("systemd watchdog: pinging every {} ms", period.count());
  watchdog_timer_.unref();
  onWatchdogTick();
  watchdog_timer_.startRepeating(period, [this] { onWatchdogTick(); });
}

void Supervisor::onWatchdogTick() {
  bool alive = true;
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (!workers_[i]->heartbeat()) {
      LOG_WARN("systemd watchdog: worker {} has not answered its heartbeat; not pinging", i);
      alive = false;
    }
  }
  if (alive) sdNotify("WATCHDOG=1");
}

std::string Supervisor::describeUpstream() const {
  std::string text;
  for (const auto& server : config_->upstream.servers) {
    if (!text.empty()) text += ",";
    text += server.toString();
  }
  return text;
}

}  // namespace larder::app
