// BackgroundRefresh: the upstream fetch behind a stale-while-revalidate
// answer (RFC 5861). The client already has its stale answer; this refresh
// belongs to no client, so it is handed off explicitly (STYLE L6) to the
// worker's BackgroundRefreshes, which owns it until it ends.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "cache/entry_codec.h"
#include "http/message.h"
#include "proxy/capture.h"
#include "upstream/pool.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class BackgroundRefreshes;

class BackgroundRefresh : public upstream::ResponseHandler {
 public:
  BackgroundRefresh(BackgroundRefreshes& owner, CacheSlot slot, http::RequestHead request,
                    cache::Entry stale);
  void start(upstream::Pool& pool);

 private:
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(upstream::UpstreamError error) override;
  void done();

  BackgroundRefreshes& owner_;
  Capture capture_;
  http::RequestHead request_;
  cache::Entry stale_;
  base::WallTime request_time_;
  std::optional<http::HeaderMap> not_modified_;
  std::optional<std::vector<std::string>> not_modified_keys_;  // the 304's surrogate keys
  std::unique_ptr<upstream::UpstreamRequest> upstream_;
};

// A worker's refreshes in flight. Destroying it cancels them all.
class BackgroundRefreshes {
 public:
  BackgroundRefreshes(upstream::Pool& pool, cache::Store& store, cache::Coalescer& coalescer)
      : pool_(pool), store_(store), coalescer_(coalescer) {}

  // `slot.fill` must be a fill this refresh leads. `request` is the
  // request as forwarded (proxy/forwarding.h): sent as it is.
  void start(CacheSlot slot, http::RequestHead request, const cache::Entry& stale);
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
