// Feeds arbitrary bytes to RequestParser, whole and split at a byte chosen by
// the input, resuming after every complete request. Beyond "never crashes":
//  - feed() never claims more bytes than it was given, and an unpaused,
//    error-free parser takes everything;
//  - both feeding patterns agree on success, heads and completions (and on
//    bodies when there is no error);
//  - every delivered head re-serializes into a head that parses back to
//    the same method, target and fields;
//  - a target that parseTarget accepts normalizes idempotently.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request_parser.h"
#include "http/serializer.h"
#include "http/target.h"

namespace {

using namespace larder::http;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

struct Reparse : RequestParser::Handler {
  void onRequestHead(RequestHead& h) override {
    head = h;
    seen = true;
  }
  void onRequestBody(std::string_view) override {}
  void onRequestComplete() override {}
  RequestHead head;
  bool seen = false;
};

void checkReserializes(const RequestHead& head) {
  // Upstream requests are always HTTP/1.1, which needs a Host: an HTTP/1.0
  // head may lack one, and the proxy supplies it.
  HeaderMap fields = head.headers;
  if (!fields.has("host")) fields.add("Host", "origin");
  std::string wire;
  appendRequestHead(head.method, head.target, fields, wire);
  Reparse again;
  RequestParser parser(again, {1 << 20, 0});
  parser.feed(wire);
  require(parser.error() == ParseError::kNone);
  require(again.seen);
  require(again.head.method == head.method);
  require(again.head.target == head.target);
  require(again.head.headers.size() == fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    require(again.head.headers.fields()[i].name == fields.fields()[i].name);
    require(again.head.headers.fields()[i].value == fields.fields()[i].value);
  }
}

void checkTarget(const std::string& target) {
  const auto parsed = parseTarget(target);
  if (!parsed) return;
  const auto again = parseTarget(parsed->path);
  require(again.has_value() && again->path == parsed->path);
}

struct Recorder : RequestParser::Handler {
  void onRequestHead(RequestHead& head) override {
    checkReserializes(head);
    checkTarget(head.target);
    heads += head.method;
    heads += ' ';
    heads += head.target;
    heads += static_cast<char>('0' + static_cast<int>(head.framing));
    heads += head.keep_alive ? 'k' : 'c';
    for (const Header& h : head.headers) {
      heads += h.name;
      heads += '\0';
      heads += h.value;
      heads += '\0';
    }
    heads += '\n';
  }
  void onRequestBody(std::string_view data) override { body += data; }
  void onRequestComplete() override { heads += "<complete>\n"; }
  std::string heads;
  std::string body;
};

struct Run {
  Recorder recorder;
  ParseError error = ParseError::kNone;
  ParseError at_finish = ParseError::kNone;
};

void run(std::string_view input, size_t split, RequestParser::Limits limits, Run& out) {
  RequestParser parser(out.recorder, limits);
  std::string pending;
  auto push = [&](std::string_view chunk) {
    pending.append(chunk);
    while (true) {
      const size_t used = parser.feed(pending);
      require(used <= pending.size());
      pending.erase(0, used);
      if (parser.error() != ParseError::kNone) return false;
      if (!parser.isPaused()) {
        require(pending.empty());
        return true;
      }
      parser.resume();
    }
  };
  if (push(input.substr(0, split))) push(input.substr(split));
  out.at_finish = parser.finish();
  out.error = parser.error();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte steers: where to split, and whether limits are tight.
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.empty() ? 0 : (control * 257u) % (input.size() + 1);
  const RequestParser::Limits limits{(control & 1) ? 64u : 16u * 1024, (control & 2) ? 16u : 0};

  Run whole;
  Run pieces;
  run(input, input.size(), limits, whole);
  run(input, split, limits, pieces);
  require((whole.error == ParseError::kNone) == (pieces.error == ParseError::kNone));
  require(whole.recorder.heads == pieces.recorder.heads);
  if (whole.error == ParseError::kNone) {
    require(whole.recorder.body == pieces.recorder.body);
    require(whole.at_finish == pieces.at_finish);
  }
  return 0;
}
