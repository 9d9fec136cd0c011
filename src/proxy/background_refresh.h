// BackgroundRefresh: a fill's upstream fetch with no client reading it
// (STYLE §2: the fetch belongs to no client). Two kinds:
//  - the refresh behind a stale-while-revalidate answer (RFC 5861): the
//    client already has its stale answer, so the worker starts the fetch;
//  - a fill whose leading client went away (FIN or RST, before the head or
//    mid-body) while its answer may still be stored or is streaming to other
//    readers: the worker adopts the Exchange's upstream request and capture
//    (DESIGN invariant 12), so the fill's readers get the whole answer and
//    the upstream sees one request (invariant 9).
// Either way it is handed off explicitly (STYLE L6) to the worker's
// BackgroundRefreshes, which owns it until it ends. It ends when the answer
// is complete (stored if storable), fails (response_timeout included), or
// is refused with nobody left to read it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "cache/entry_codec.h"
#include "http/message.h"
#include "proxy/capture.h"
#include "proxy/response_relay.h"
#include "upstream/pool.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class BackgroundRefreshes;

// An Exchange's fill fetch, given up by its client (Exchange::handOffFill).
struct AdoptedFetch {
  std::unique_ptr<ResponseRelay> relay;  // the upstream request's handler
  std::unique_ptr<upstream::UpstreamRequest> upstream;
  std::unique_ptr<Capture> capture;
  http::RequestHead request;             // as forwarded (headers the capture decides on)
  base::WallTime request_time;
  std::optional<cache::Entry> stale;     // sent for revalidation: a 304 renews it
};

class BackgroundRefresh : public upstream::ResponseHandler {
 public:
  BackgroundRefresh(BackgroundRefreshes& owner, CacheSlot slot, http::RequestHead request,
                    cache::Entry stale);
  BackgroundRefresh(BackgroundRefreshes& owner, AdoptedFetch fetch);
  void start(upstream::Pool& pool);

 private:
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(upstream::UpstreamError error) override;
  void done();

  BackgroundRefreshes& owner_;
  std::unique_ptr<Capture> capture_;
  http::RequestHead request_;
  std::optional<cache::Entry> stale_;
  base::WallTime request_time_;
  std::optional<http::HeaderMap> not_modified_;
  std::optional<std::vector<std::string>> not_modified_keys_;  // the 304's surrogate keys
  std::unique_ptr<ResponseRelay> relay_;  // adopted: outlives upstream_
  std::unique_ptr<upstream::UpstreamRequest> upstream_;
};

// A worker's fetches without a client. Destroying it cancels them all.
class BackgroundRefreshes {
 public:
  BackgroundRefreshes(upstream::Pool& pool, cache::Store& store, cache::Coalescer& coalescer)
      : pool_(pool), store_(store), coalescer_(coalescer) {}

  // `slot.fill` must be a fill this refresh leads. `request` is the
  // request as forwarded (proxy/forwarding.h): sent as it is.
  void start(CacheSlot slot, http::RequestHead request, const cache::Entry& stale);
  // Takes over a fetch in flight whose client has gone.
  void adopt(AdoptedFetch fetch);
  size_t size() const { return refreshes_.size(); }

  // For BackgroundRefresh.
  cache::Store& store() { return store_; }
  cache::Coalescer& coalescer() { return coalescer_; }
  void finished(BackgroundRefresh& refresh) { refreshes_.erase(&refresh); }

 private:
  upstream::Pool& pool_;
  cache::Store& store_;
  cache::Coalescer& coalescer_;
  std::unordered_map<BackgroundRefresh*, std::unique_ptr<BackgroundRefresh>> refreshes_;
};

}  // namespace larder::proxy
