// Internal to http/: the llhttp driver shared by RequestParser and
// ResponseParser. It owns the llhttp state, runs HeadScanner and
// ChunkScanner ahead of llhttp (llhttp only ever sees bytes that passed
// them), copies start-line and field fragments into the caller's head
// (STYLE L5: llhttp spans die with the callback), and pauses after every
// complete message so pipelined messages are handled one at a time.
//
// Phases of one message, each with the scanner that guards it:
//   kHead    start line + fields        HeadScanner (head mode)
//   kBody    Content-Length / until-close body   none: opaque bytes
//   kChunks  chunk-size lines and data  ChunkScanner
//   kTrailer trailer fields             HeadScanner (trailer mode)
// The owner's paused/mid-message/error fields are written here directly,
// so the public inline accessors are right even inside a callback.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "http/chunk_scanner.h"
#include "http/head_scanner.h"
#include "http/header_map.h"
#include "http/parse_error.h"

namespace larder::http {

class WireParser {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // A new message starts: reset the head that the sinks point into.
    virtual void onMessageBegin() = 0;
    // The head is complete (fields are in the sink). Returns 0 to read the
    // body llhttp expects, 1 for "no body" (HEAD answers, 204, 304, 1xx), or
    // -1 after calling fail().
    virtual int onHeadersComplete(const llhttp_t& parser) = 0;
    virtual void onBody(std::string_view data) = 0;
    // The message is complete; paused is already true.
    virtual void onMessageComplete() = 0;
  };

  struct OwnerState {
    bool& paused;
    bool& mid_message;
    ParseError& error;
    std::string& error_reason;
  };

  WireParser(llhttp_type_t type, Events& events, OwnerState state, uint64_t max_header_bytes,
             uint64_t max_body_bytes);
  WireParser(const WireParser&) = delete;
  WireParser& operator=(const WireParser&) = delete;

  // Where fragments go: field lines, and the request-target (requests) or
  // reason phrase (responses).
  void setSinks(HeaderMap* headers, std::string* start_text) {
    headers_ = headers;
    start_text_ = start_text;
  }
  void setAllowSpaceBeforeColon(bool allow) { head_scanner_.setAllowSpaceBeforeColon(allow); }

  size_t feed(std::string_view data);
  void resume();
  // End of input: completes a close-delimited body, or reports truncation.
  ParseError finish();
  // Records an error found by an Events callback; returns -1 for llhttp.
  int fail(ParseError error, std::string_view reason);

 private:
  enum class Phase { kHead, kBody, kChunks, kTrailer };

  static const llhttp_settings_t& settings();
  static WireParser& from(llhttp_t* parser) { return *static_cast<WireParser*>(parser->data); }
  static int onMessageBeginCb(llhttp_t* parser);
  static int onStartTextCb(llhttp_t* parser, const char* at, size_t length);
  static int onVersionCompleteCb(llhttp_t* parser);
  static int onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderFieldCompleteCb(llhttp_t* parser);
  static int onHeaderValueCb(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderValueCompleteCb(llhttp_t* parser);
  static int onHeadersCompleteCb(llhttp_t* parser);
  static int onBodyCb(llhttp_t* parser, const char* at, size_t length);
  static int onChunkHeaderCb(llhttp_t* parser);
  static int onMessageCompleteCb(llhttp_t* parser);

  void setError(ParseError error, std::string_view reason);
  ParseError fromLlhttp(llhttp_errno_t err) const;

  llhttp_t parser_;
  Events& events_;
  OwnerState state_;
  uint64_t max_body_bytes_;
  HeadScanner head_scanner_;
  ChunkScanner chunk_scanner_;
  Phase phase_ = Phase::kHead;
  HeaderMap* headers_ = nullptr;
  std::string* start_text_ = nullptr;
  bool in_field_name_ = false;  // the last fragment belonged to a field name
  uint64_t chunked_bytes_ = 0;  // declared chunk sizes so far
};

}  // namespace larder::http
