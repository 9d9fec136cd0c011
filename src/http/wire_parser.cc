#include "http/wire_parser.h"

#include <cstring>

namespace larder::http {

WireParser::WireParser(llhttp_type_t type, Events& events, OwnerState state,
                       uint64_t max_header_bytes, uint64_t max_body_bytes)
    : events_(events), state_(state), max_body_bytes_(max_body_bytes), head_scanner_(max_header_bytes) {
  // Strict: no llhttp_set_lenient_* call, ever.
  llhttp_init(&parser_, type, &settings());
  parser_.data = this;
  head_scanner_.startHead();
}

const llhttp_settings_t& WireParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = onMessageBeginCb;
    s.on_url = onStartTextCb;
    s.on_status = onStartTextCb;
    s.on_version_complete = onVersionCompleteCb;
    s.on_header_field = onHeaderFieldCb;
    s.on_header_field_complete = onHeaderFieldCompleteCb;
    s.on_header_value = onHeaderValueCb;
    s.on_header_value_complete = onHeaderValueCompleteCb;
    s.on_headers_complete = onHeadersCompleteCb;
    s.on_body = onBodyCb;
    s.on_chunk_header = onChunkHeaderCb;
    s.on_message_complete = onMessageCompleteCb;
    return s;
  }();
  return kSettings;
}

void WireParser::setError(ParseError error, std::string_view reason) {
  if (state_.error != ParseError::kNone) return;  // the first error is the cause
  state_.error = error;
  state_.error_reason.assign(reason);
}

int WireParser::fail(ParseError error, std::string_view reason) {
  setError(error, reason);
  return -1;
}

ParseError WireParser::fromLlhttp(llhttp_errno_t err) const {
  switch (err) {
    case HPE_PAUSED_H2_UPGRADE:
      return ParseError::kUnsupported;
    case HPE_INVALID_VERSION:
      // llhttp uses this code both for a well-formed but unknown version
      // ("HTTP/1.2": 505) and for garbage after it ("HTTP/1.1x": 400); only
      // its reason tells them apart (llhttp 8.1 wording).
      return std::strcmp(llhttp_get_error_reason(&parser_), "Invalid HTTP version") == 0
                 ? ParseError::kUnsupported
                 : ParseError::kMalformed;
    default:
      return ParseError::kMalformed;
  }
}

size_t WireParser::feed(std::string_view data) {
  if (state_.error != ParseError::kNone || state_.paused) return 0;
  size_t pos = 0;
  while (pos < data.size()) {
    const std::string_view rest = data.substr(pos);
    size_t len = rest.size();
    bool boundary = false;  // `len` ends exactly where the guarded part ends
    const Phase scanned = phase_;
    if (phase_ == Phase::kHead || phase_ == Phase::kTrailer) {
      const HeadScanner::Result r = head_scanner_.scan(rest);
      if (r.status == HeadScanner::Status::kError) {
        setError(head_scanner_.error(), head_scanner_.errorReason());
        return pos + r.consumed;
      }
      if (r.status == HeadScanner::Status::kComplete) {
        len = r.consumed;
        boundary = true;
      }
    } else if (phase_ == Phase::kChunks) {
      const ChunkScanner::Result r = chunk_scanner_.scan(rest);
      if (r.status == ChunkScanner::Status::kError) {
        setError(ParseError::kMalformed, chunk_scanner_.errorReason());
        return pos + r.consumed;
      }
      if (r.status == ChunkScanner::Status::kLastChunk) {
        len = r.consumed;
        boundary = true;
      }
    }

    const llhttp_errno_t err = llhttp_execute(&parser_, rest.data(), len);
    if (err == HPE_OK) {
      pos += len;
      if (!boundary) continue;
      if (scanned == Phase::kChunks) {
        phase_ = Phase::kTrailer;
        head_scanner_.startTrailer();
      } else if (phase_ == scanned) {
        // The scanner saw the end of a head (or trailer) where llhttp did
        // not: never let the two disagree about framing.
        setError(ParseError::kMalformed, "message framing disagreement");
        return pos;
      }
      continue;
    }
    const size_t stop = pos + static_cast<size_t>(llhttp_get_error_pos(&parser_) - rest.data());
    if (err == HPE_PAUSED) {
      // Only onMessageCompleteCb pauses. The handler may already have
      // called resume() from inside its callback; then carry on.
      pos = stop;
      if (state_.paused) return pos;
      llhttp_resume(&parser_);
      continue;
    }
    if (err == HPE_PAUSED_UPGRADE) {
      // A request with "Connection: upgrade" is complete once its head (and
      // body) are read. We never switch protocols (Upgrade is hop-by-hop
      // and stripped), so parsing goes on as HTTP/1.1. This pause comes
      // right after the message completed, once llhttp runs again, and
      // before it takes any byte of the next message: the head scanner has
      // already looked at those bytes, so it starts over with them.
      llhttp_resume_after_upgrade(&parser_);
      head_scanner_.startHead();
      pos = stop;
      continue;
    }
    setError(fromLlhttp(err), llhttp_get_error_reason(&parser_));
    return stop;
  }
  return pos;
}

void WireParser::resume() {
  if (!state_.paused || state_.error != ParseError::kNone) return;
  state_.paused = false;
  // Inside onMessageComplete llhttp is not paused yet; feed() handles that.
  llhttp_resume(&parser_);
}

ParseError WireParser::finish() {
  if (state_.error != ParseError::kNone) return state_.error;
  if (!state_.mid_message) return ParseError::kNone;
  if (phase_ == Phase::kBody && llhttp_message_needs_eof(&parser_)) {
    // A close-delimited response body: EOF is its end. llhttp_finish runs
    // on_message_complete, whose pause comes back as HPE_PAUSED.
    const llhttp_errno_t err = llhttp_finish(&parser_);
    if (err == HPE_OK || err == HPE_PAUSED) return ParseError::kNone;
  }
  setError(ParseError::kTruncated, "connection closed mid-message");
  return ParseError::kTruncated;
}

int WireParser::onMessageBeginCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  self.state_.mid_message = true;
  self.in_field_name_ = false;
  self.chunked_bytes_ = 0;
  self.events_.onMessageBegin();
  return 0;
}

int WireParser::onStartTextCb(llhttp_t* parser, const char* at, size_t length) {
  from(parser).start_text_->append(at, length);
  return 0;
}

int WireParser::onVersionCompleteCb(llhttp_t* parser) {
  // llhttp accepts HTTP/0.9 and HTTP/2.0 in a request line; we speak 1.x.
  if (parser->http_major != 1 || parser->http_minor > 1) {
    return from(parser).fail(ParseError::kUnsupported, "unsupported HTTP version");
  }
  return 0;
}

int WireParser::onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length) {
  WireParser& self = from(parser);
  if (self.phase_ == Phase::kTrailer) return 0;  // trailers are dropped
  auto& fields = self.headers_->fields();
  if (!self.in_field_name_) {
    fields.emplace_back();
    self.in_field_name_ = true;
  }
  fields.back().name.append(at, length);
  return 0;
}

int WireParser::onHeaderFieldCompleteCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  if (self.phase_ == Phase::kTrailer) return 0;
  self.in_field_name_ = false;
  // Only responses get here with "Name :" (HeadScanner rejects it in
  // requests); RFC 9112 §5.1 has a proxy remove that whitespace.
  if (!self.headers_->empty()) trimTrailingWhitespace(self.headers_->fields().back().name);
  return 0;
}

int WireParser::onHeaderValueCb(llhttp_t* parser, const char* at, size_t length) {
  WireParser& self = from(parser);
  if (self.phase_ == Phase::kTrailer) return 0;
  if (self.headers_->empty()) return self.fail(ParseError::kMalformed, "field value without name");
  self.headers_->fields().back().value.append(at, length);
  return 0;
}

int WireParser::onHeaderValueCompleteCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  if (self.phase_ == Phase::kTrailer || self.headers_->empty()) return 0;
  trimTrailingWhitespace(self.headers_->fields().back().value);
  return 0;
}

int WireParser::onHeadersCompleteCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  const int rc = self.events_.onHeadersComplete(*parser);
  if (rc < 0) return -1;
  if (rc == 0 && (parser->flags & F_CHUNKED) != 0) {
    self.phase_ = Phase::kChunks;
    self.chunk_scanner_.start();
  } else {
    self.phase_ = Phase::kBody;
  }
  return rc;
}

int WireParser::onBodyCb(llhttp_t* parser, const char* at, size_t length) {
  from(parser).events_.onBody(std::string_view(at, length));
  return 0;
}

int WireParser::onChunkHeaderCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  const uint64_t size = parser->content_length;
  // Checked against the declared size, before any of the chunk arrives.
  if (self.max_body_bytes_ != 0 &&
      (size > self.max_body_bytes_ || self.chunked_bytes_ > self.max_body_bytes_ - size)) {
    return self.fail(ParseError::kBodyTooLarge, "chunked body too large");
  }
  self.chunked_bytes_ += size;
  return 0;
}

int WireParser::onMessageCompleteCb(llhttp_t* parser) {
  WireParser& self = from(parser);
  self.phase_ = Phase::kHead;
  self.head_scanner_.startHead();
  self.state_.mid_message = false;
  self.state_.paused = true;
  self.events_.onMessageComplete();
  return HPE_PAUSED;
}

}  // namespace larder::http
