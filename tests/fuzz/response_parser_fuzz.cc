// Feeds arbitrary bytes to ResponseParser as the answer to a GET or a HEAD,
// whole and split at a byte chosen by the input, resuming after every
// complete response, then signals EOF. Checks that feed() accounting holds
// and that both feeding patterns agree on success, heads and completions
// (and on bodies when there is no error).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/response_parser.h"
#include "http/serializer.h"

namespace {

using namespace larder::http;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

struct Recorder : ResponseParser::Handler {
  void onResponseHead(ResponseHead& head) override {
    // Heads must always be serializable for the client side.
    std::string wire;
    appendResponseHead(head.version_minor, head.status, head.reason, head.headers, wire);
    require(head.status >= 100 && head.status <= 999);
    heads += std::to_string(head.status);
    heads += static_cast<char>('0' + static_cast<int>(head.framing));
    heads += head.keep_alive ? 'k' : 'c';
    heads += wire;
  }
  void onResponseBody(std::string_view data) override { body += data; }
  void onResponseComplete() override { heads += "<complete>\n"; }
  std::string heads;
  std::string body;
};

struct Run {
  Recorder recorder;
  ParseError error = ParseError::kNone;
  ParseError at_finish = ParseError::kNone;
};

void run(std::string_view input, size_t split, std::string_view method, Run& out) {
  ResponseParser parser(out.recorder, {1024});
  parser.expectResponseTo(method);
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
      parser.expectResponseTo(method);
    }
  };
  if (push(input.substr(0, split))) push(input.substr(split));
  out.at_finish = parser.finish();
  out.error = parser.error();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t split = input.empty() ? 0 : (control * 257u) % (input.size() + 1);
  const std::string_view method = (control & 1) ? "HEAD" : "GET";

  Run whole;
  Run pieces;
  run(input, input.size(), method, whole);
  run(input, split, method, pieces);
  require((whole.error == ParseError::kNone) == (pieces.error == ParseError::kNone));
  require(whole.recorder.heads == pieces.recorder.heads);
  if (whole.error == ParseError::kNone) {
    require(whole.recorder.body == pieces.recorder.body);
    require(whole.at_finish == pieces.at_finish);
  }
  return 0;
}
