// Test helper: drives a parser over an input the way a connection would
// (optionally a few bytes per read), resuming after every complete message,
// and records what the handler saw.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_parser.h"
#include "http/response_parser.h"

namespace larder::http::test {

struct SeenRequest {
  RequestHead head;
  std::string body;
  bool complete = false;
};

struct RequestRecorder : RequestParser::Handler {
  void onRequestHead(RequestHead& head) override { seen.push_back({head, {}, false}); }
  void onRequestBody(std::string_view data) override { seen.back().body += data; }
  void onRequestComplete() override {
    if (seen.empty()) seen.emplace_back();  // must not happen; fails the checks
    seen.back().complete = true;
  }
  std::vector<SeenRequest> seen;
};

struct SeenResponse {
  ResponseHead head;
  std::string body;
  bool complete = false;
};

struct ResponseRecorder : ResponseParser::Handler {
  void onResponseHead(ResponseHead& head) override { seen.push_back({head, {}, false}); }
  void onResponseBody(std::string_view data) override { seen.back().body += data; }
  void onResponseComplete() override {
    if (seen.empty()) seen.emplace_back();
    seen.back().complete = true;
  }
  std::vector<SeenResponse> seen;
};

template <typename Seen>
struct Outcome {
  std::vector<Seen> seen;
  ParseError error = ParseError::kNone;
  std::string reason;
  ParseError at_finish = ParseError::kNone;
  size_t consumed = 0;  // total bytes the parser took
};

// Feeds `input` `step` bytes at a time, resuming whenever the parser pauses.
// With `call_finish`, signals EOF at the end.
template <typename Parser, typename Recorder, typename Seen, typename BeforeEach>
Outcome<Seen> drive(Parser& parser, Recorder& recorder, std::string_view input, size_t step,
                    bool call_finish, BeforeEach before_each) {
  Outcome<Seen> out;
  std::string pending;
  size_t offset = 0;
  before_each();
  while (true) {
    if (offset < input.size()) {
      const size_t n = std::min(step, input.size() - offset);
      pending.append(input.substr(offset, n));
      offset += n;
    }
    while (true) {
      const size_t used = parser.feed(pending);
      out.consumed += used;
      pending.erase(0, used);
      if (parser.error() != ParseError::kNone) break;
      if (parser.isPaused()) {
        before_each();
        parser.resume();
        continue;
      }
      break;
    }
    if (parser.error() != ParseError::kNone || offset >= input.size()) break;
  }
  if (call_finish && parser.error() == ParseError::kNone) out.at_finish = parser.finish();
  out.error = parser.error();
  out.reason = parser.errorReason();
  out.seen = recorder.seen;
  return out;
}

inline Outcome<SeenRequest> parseRequests(std::string_view input, size_t step = SIZE_MAX,
                                          RequestParser::Limits limits = {}) {
  RequestRecorder recorder;
  RequestParser parser(recorder, limits);
  return drive<RequestParser, RequestRecorder, SeenRequest>(parser, recorder, input, step, true,
                                                            [] {});
}

inline Outcome<SeenResponse> parseResponses(std::string_view input, std::string_view method = "GET",
                                            size_t step = SIZE_MAX, bool call_finish = true) {
  ResponseRecorder recorder;
  ResponseParser parser(recorder, {});
  return drive<ResponseParser, ResponseRecorder, SeenResponse>(
      parser, recorder, input, step, call_finish, [&] { parser.expectResponseTo(method); });
}

}  // namespace larder::http::test
