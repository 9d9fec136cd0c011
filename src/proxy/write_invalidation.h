// WriteInvalidation: a write's part of an Exchange (RFC 9111 §4.4, DESIGN
// invariant 3). A write's non-error answer invalidates the route's
// namespaces, its URI's, those of Location and Content-Location on the same
// host, and the surrogate keys it names, before the answer reaches the
// client. A write that reached the upstream but got no answer head back (a
// timeout, a reset, a broken answer) may have been applied: it invalidates
// the route's namespaces and its URI's before larder answers 502 or 504
// (DESIGN invariant 13), and so does one whose client left before any
// answer head (abandon()). Only an error status from the upstream says the
// write was not applied.
//
// Meanwhile it holds the write's answer (its head, at most one upstream
// read of body: the exchange pauses reading, DESIGN invariant 12, its end or
// its error), and hands it back once the invalidation has landed, or has
// failed past store.redis.write_consistency's wait (DESIGN invariant 5:
// kept in the backlog and retried; the answer says so). The Exchange owns
// it; destroying it, or stop(), cancels the exchange's half: the held answer
// and the write_consistency retries. The first attempt is not the
// exchange's to cancel (DESIGN invariant 13, STYLE L6): a client that resets,
// a drain's closeAll or a rejected pipelined request end the exchange, and
// that attempt's failure still lands in the backlog, which retries it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "cache/store.h"
#include "config/config.h"
#include "http/message.h"
#include "net/timer.h"
#include "net/weak_ref.h"
#include "proxy/proxy_context.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class WriteInvalidation {
 public:
  // The write's answer, handed back once the invalidation is over.
  struct Answer {
    std::optional<http::ResponseHead> head;
    std::string body;
    bool complete = false;  // the upstream's answer ended
    // The upstream failed after the write reached it: answered with this
    // error (DESIGN invariant 13), whatever came before.
    std::optional<upstream::UpstreamError> error;
    bool pending = false;   // not landed yet: other instances may serve pre-write entries
  };
  using Landed = std::function<void(Answer&&)>;

  // What was written: the namespaces it invalidates (cache/key.h).
  struct Target {
    const config::Route* route = nullptr;
    const config::Params* params = nullptr;
    std::string_view host;  // the keyed host
    std::string_view path;
  };

  // `config` outlives it (the Exchange holds its snapshot).
  WriteInvalidation(ProxyContext& context, const config::Config& config, Landed landed);
  WriteInvalidation(const WriteInvalidation&) = delete;
  WriteInvalidation& operator=(const WriteInvalidation&) = delete;

  // Invalidates before `answer` goes out: its head (with `answer_keys`, the
  // surrogate version keys it named), or only `error` when the upstream
  // gave no head. `landed` runs later, never inside this call.
  void start(const Target& target, std::optional<http::ResponseHead> head,
             const std::vector<std::string>* answer_keys, std::optional<upstream::UpstreamError> error);
  // The client left while the write was upstream, before its answer: the
  // write may have been applied and nobody waits for the answer (DESIGN
  // invariant 13). Invalidates what start() does for a write with no
  // answer; a failure goes to the backlog.
  static void abandon(ProxyContext& context, const config::Config& config, const Target& target);
  // What arrives meanwhile is held whole.
  void holdBody(std::string_view data) { answer_.body.append(data); }
  void holdComplete() { answer_.complete = true; }
  // The upstream failed mid-answer: the held answer becomes this error.
  void holdError(upstream::UpstreamError error) { answer_.error = error; }
  // Cancels the exchange's half: `landed`, a retry in flight and the retry
  // timer (callable from inside `landed`, and from the timer's own
  // callback). The first attempt carries on to its end (handed off to the
  // store), and a failure of it still goes to the backlog.
  void stop();

 private:
  // `first`: the first attempt (later ones are write_consistency retries),
  // whose failure is already in the backlog (the hand-off did it).
  void onInvalidated(cache::StoreStatus status, bool first);
  // Schedules another attempt if the write's answer may still wait.
  bool retry();

  ProxyContext& context_;
  const config::Config& config_;
  Landed landed_;
  cache::Invalidation invalidation_;
  cache::Pending pending_;
  Answer answer_;
  // store.redis.write_consistency (issue 16): until then, a failed
  // invalidation is retried before the answer goes out.
  base::MonoTime deadline_{};
  std::unique_ptr<net::Timer> retry_;
  // Last: the first attempt's callback reaches this object only while it
  // is alive and not stopped.
  net::LivenessToken liveness_;
};

}  // namespace larder::proxy
