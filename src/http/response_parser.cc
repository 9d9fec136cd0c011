#include "http/response_parser.h"

#include "http/wire_parser.h"

namespace larder::http {

struct ResponseParser::Impl final : WireParser::Events {
  Impl(ResponseParser& owner, Handler& handler, Limits limits)
      : owner(owner),
        handler(handler),
        wire(HTTP_RESPONSE, *this,
             {owner.paused_, owner.mid_message_, owner.error_, owner.error_reason_},
             limits.max_header_bytes, 0) {
    wire.setSinks(&head.headers, &head.reason);
    // Tolerated in responses only; see HeadScanner.
    wire.setAllowSpaceBeforeColon(true);
  }

  void onMessageBegin() override {
    head.status = 0;
    head.reason.clear();
    head.version_minor = 1;
    head.headers.clear();
    head.headers.fields().reserve(16);
    head.framing = BodyFraming::kNone;
    head.content_length = 0;
    head.keep_alive = true;
  }

  int onHeadersComplete(const llhttp_t& p) override {
    head.status = p.status_code;
    head.version_minor = p.http_minor;
    if (head.status < 100) return wire.fail(ParseError::kMalformed, "invalid status code");
    // We strip Upgrade, so a 101 is an upstream bug; the bytes after it
    // would not be HTTP.
    if (head.status == 101) return wire.fail(ParseError::kUnsupported, "protocol switch");

    // RFC 9112 §6.3: HEAD answers, 1xx, 204 and 304 never have a body,
    // whatever their fields say.
    const bool no_body = expect_head || head.isInterim() || head.status == 204 || head.status == 304;
    const bool has_length = (p.flags & F_CONTENT_LENGTH) != 0;
    if (has_length) head.content_length = p.content_length;
    switch (classifyTransferEncoding(head.headers)) {
      case TransferCoding::kAbsent:
        head.framing = has_length ? BodyFraming::kContentLength : BodyFraming::kUntilClose;
        break;
      case TransferCoding::kChunked:
        // llhttp rejects Content-Length with Transfer-Encoding already.
        head.framing = BodyFraming::kChunked;
        break;
      case TransferCoding::kInvalid:
        return wire.fail(ParseError::kMalformed, "invalid Transfer-Encoding");
      case TransferCoding::kOtherCodings:
      case TransferCoding::kNotChunked:
        // We cannot decode gzip/deflate transfer codings, and forwarding the
        // bytes without the (hop-by-hop) field would corrupt them.
        if (!no_body) return wire.fail(ParseError::kUnsupported, "transfer coding other than chunked");
        break;
    }
    if (no_body) head.framing = BodyFraming::kNone;

    // llhttp_should_keep_alive() cannot see a HEAD answer until the body is
    // skipped, so the rule is spelled out: RFC 9112 §9.3.
    const bool close = (p.flags & F_CONNECTION_CLOSE) != 0;
    const bool keep = (p.flags & F_CONNECTION_KEEP_ALIVE) != 0;
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty
    // framing; it is read, then the connection is not reused.
    const bool te_in_1_0 = head.version_minor == 0 && head.headers.has("transfer-encoding");
    head.keep_alive = (head.version_minor >= 1 ? !close : keep) && !te_in_1_0 &&
                      head.framing != BodyFraming::kUntilClose;
    handler.onResponseHead(head);
    return no_body ? 1 : 0;
  }

  void onBody(std::string_view data) override { handler.onResponseBody(data); }
  void onMessageComplete() override { handler.onResponseComplete(); }

  ResponseParser& owner;
  Handler& handler;
  ResponseHead head;
  bool expect_head = false;
  WireParser wire;
};

ResponseParser::ResponseParser(Handler& handler, Limits limits)
    : impl_(std::make_unique<Impl>(*this, handler, limits)) {}

ResponseParser::~ResponseParser() = default;

void ResponseParser::expectResponseTo(std::string_view request_method) {
  impl_->expect_head = request_method == "HEAD";
}

size_t ResponseParser::feed(std::string_view data) { return impl_->wire.feed(data); }

void ResponseParser::resume() { impl_->wire.resume(); }

ParseError ResponseParser::finish() { return impl_->wire.finish(); }

}  // namespace larder::http
