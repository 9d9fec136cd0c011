// ServerHealth: what this process knows of one upstream server's health,
// shared by every worker, so that all of them stop sending to a dead server
// together (DESIGN "Shape": a process-wide structure, stating its rule here).
//
// Passive health, as nginx's max_fails/fail_timeout: `failures` consecutive
// failed attempts (connect refused or unreachable, connect or response
// timeout) mark the server down for `cooldown`; so does one failed active
// check (upstream/health_check.h). Once the cooldown has
// passed, admit() lets exactly one request through as a probe (per probe
// window: a probe that never reports, say because its client left, frees
// the slot after another cooldown). The probe's success marks the server up;
// its failure starts another cooldown. Any answer from the server (a
// response head) counts as a success, whatever its status.
//
// Threading: every method may be called from any thread; the state is a few
// atomics. Entries live in a process-wide table (serverHealth()), are never
// removed, and so may be pointed at for the life of the process. The table
// holds one entry per distinct server name ever configured.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace larder::upstream {

class ServerHealth {
 public:
  explicit ServerHealth(std::string name);
  ServerHealth(const ServerHealth&) = delete;
  ServerHealth& operator=(const ServerHealth&) = delete;

  enum class Admission { kUp, kProbe, kDown };
  // May a request go to this server at `now_ms` (monotonic)? kProbe takes
  // the probe slot: call it only for a request that will be sent.
  Admission admit(uint64_t now_ms, const config::PassiveHealthConfig& config);
  // What admit() would answer now, without taking the probe slot: for a
  // choice among several servers (the winner then calls admit()).
  Admission peek(uint64_t now_ms) const;
  void onSuccess();
  void onFailure(uint64_t now_ms, const config::PassiveHealthConfig& config);
  // Active checks: true for the one caller (of every worker) whose turn it
  // is to check at `now_ms`; the next turn comes `interval` later.
  bool claimCheck(uint64_t now_ms, base::Duration interval);
  // A failed active check marks the server down at once (for the passive
  // cooldown, after which a request may probe it too); a passed one is
  // onSuccess(). Not counted here: the attempt is counted where it failed.
  void onCheckFailed(uint64_t now_ms, const config::PassiveHealthConfig& config);
  // A failed attempt that says nothing of the server's health (a reset, a
  // bad answer): counted in the metrics only.
  void countFailure();
  // False from being marked down until a request succeeds again.
  bool isUp() const;

  const std::string& name() const { return name_; }
  // This server's series in the per-server metric families.
  size_t metricIndex() const { return metric_index_; }

 private:
  void markDown(uint64_t now_ms, const config::PassiveHealthConfig& config);

  std::string name_;
  size_t metric_index_;
  std::atomic<unsigned> failures_{0};
  std::atomic<uint64_t> down_until_{0};    // 0: up
  std::atomic<uint64_t> probe_expires_{0};  // a probe is out until then
  std::atomic<uint64_t> next_check_{0};
};

// The process-wide entry for `name` ("host:port"), created on first use.
ServerHealth& serverHealth(std::string_view name);

}  // namespace larder::upstream
