#include "http/request_parser.h"

#include "http/wire_parser.h"

namespace larder::http {

struct RequestParser::Impl final : WireParser::Events {
  Impl(RequestParser& owner, Handler& handler, Limits limits)
      : owner(owner),
        handler(handler),
        limits(limits),
        wire(HTTP_REQUEST, *this,
             {owner.paused_, owner.mid_message_, owner.error_, owner.error_reason_},
             limits.max_header_bytes, limits.max_body_bytes) {
    wire.setSinks(&head.headers, &head.target);
  }

  void onMessageBegin() override {
    // clear() keeps the capacity of strings the handler did not move out.
    head.method.clear();
    head.target.clear();
    head.headers.clear();
    head.headers.fields().reserve(16);
    head.version_minor = 1;
    head.framing = BodyFraming::kNone;
    head.content_length = 0;
    head.keep_alive = true;
    head.expect_continue = false;
    owner.has_head_ = false;
  }

  int onHeadersComplete(const llhttp_t& p) override {
    // A request line without a version is HTTP/0.9 to llhttp: no fields, so
    // no Host. Refused (505, then closed), never answered or forwarded as 1.1.
    if (p.http_major != 1) return wire.fail(ParseError::kUnsupported, "HTTP/0.9 request line");
    const auto method = static_cast<llhttp_method_t>(p.method);
    // We do not tunnel (DESIGN: a caching proxy): CONNECT is 501-class.
    if (method == HTTP_CONNECT) return wire.fail(ParseError::kUnsupported, "CONNECT not supported");
    head.method = llhttp_method_name(method);
    head.version_minor = p.http_minor;

    // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (at most one in 1.0).
    // Two Host fields could make the cache key and the upstream disagree
    // on the origin (DESIGN invariant 7).
    size_t hosts = 0;
    for (const Header& h : head.headers) hosts += equalsIgnoreCase(h.name, "host") ? 1 : 0;
    if (hosts > 1) return wire.fail(ParseError::kMalformed, "more than one Host field");
    if (hosts == 0 && head.version_minor == 1) return wire.fail(ParseError::kMalformed, "missing Host field");

    // RFC 9112 §6.1: chunked must be the final coding and appear once;
    // llhttp 8.1 already rejects most such lists for requests, this is the
    // single place that decides. Other codings would be stripped with the
    // hop-by-hop Transfer-Encoding field and corrupt the body, so they are
    // refused (nginx answers 501 too).
    switch (classifyTransferEncoding(head.headers)) {
      case TransferCoding::kAbsent:
        break;
      case TransferCoding::kChunked:
        // RFC 9112 §6.1: in HTTP/1.0 Transfer-Encoding means faulty framing.
        if (head.version_minor == 0) return wire.fail(ParseError::kMalformed, "Transfer-Encoding in HTTP/1.0");
        head.framing = BodyFraming::kChunked;
        break;
      case TransferCoding::kOtherCodings:
        return wire.fail(ParseError::kUnsupported, "transfer coding other than chunked");
      case TransferCoding::kNotChunked:
      case TransferCoding::kInvalid:
        return wire.fail(ParseError::kMalformed, "invalid Transfer-Encoding");
    }
    if ((p.flags & F_CONTENT_LENGTH) != 0) {
      // llhttp has already rejected Content-Length with Transfer-Encoding,
      // any repeated Content-Length (even with an equal value) and anything
      // but plain decimal digits.
      if (head.framing == BodyFraming::kChunked) {
        return wire.fail(ParseError::kMalformed, "Content-Length with Transfer-Encoding");
      }
      head.framing = BodyFraming::kContentLength;
      head.content_length = p.content_length;
      if (limits.max_body_bytes != 0 && head.content_length > limits.max_body_bytes) {
        return wire.fail(ParseError::kBodyTooLarge, "declared body too large");
      }
    }
    head.keep_alive = llhttp_should_keep_alive(&p) != 0;
    // RFC 9110 §10.1.1: a 100-continue expectation in HTTP/1.0 is ignored.
    head.expect_continue = head.version_minor == 1 && head.headers.hasToken("expect", "100-continue");
    owner.has_head_ = true;
    handler.onRequestHead(head);
    return 0;
  }

  void onBody(std::string_view data) override { handler.onRequestBody(data); }
  void onMessageComplete() override { handler.onRequestComplete(); }

  RequestParser& owner;
  Handler& handler;
  Limits limits;
  RequestHead head;
  WireParser wire;
};

RequestParser::RequestParser(Handler& handler, Limits limits)
    : impl_(std::make_unique<Impl>(*this, handler, limits)) {}

RequestParser::~RequestParser() = default;

size_t RequestParser::feed(std::string_view data) { return impl_->wire.feed(data); }

void RequestParser::resume() { impl_->wire.resume(); }

// Requests are never delimited by EOF, so any open request is truncated.
ParseError RequestParser::finish() { return impl_->wire.finish(); }

}  // namespace larder::http
