// ResponseRelay: the ResponseHandler of a fill's upstream request, which
// forwards every callback to whoever owns the fetch now. A fill's fetch
// starts with the Exchange that missed first; when that client goes, the
// worker adopts the fetch (BackgroundRefreshes::adopt) and retargets the
// relay, so the upstream request goes on without being rebuilt (STYLE §2:
// the fetch belongs to no client).
#pragma once

#include "upstream/upstream_request.h"

namespace larder::proxy {

class ResponseRelay final : public upstream::ResponseHandler {
 public:
  explicit ResponseRelay(upstream::ResponseHandler& to) : to_(&to) {}
  void retarget(upstream::ResponseHandler& to) { to_ = &to; }

  void onUpstreamInterim(const http::ResponseHead& head) override { to_->onUpstreamInterim(head); }
  void onUpstreamHead(http::ResponseHead& head) override { to_->onUpstreamHead(head); }
  void onUpstreamBody(std::string_view data) override { to_->onUpstreamBody(data); }
  void onUpstreamComplete() override { to_->onUpstreamComplete(); }
  void onUpstreamError(upstream::UpstreamError error) override { to_->onUpstreamError(error); }
  void onUpstreamBodyDrained() override { to_->onUpstreamBodyDrained(); }
  void onUpstreamReadEnd() override { to_->onUpstreamReadEnd(); }

 private:
  upstream::ResponseHandler* to_;
};

}  // namespace larder::proxy
