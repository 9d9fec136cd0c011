#include "harness/upstream_script.h"

#include <atomic>
#include <memory>

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace larder::test {

FakeResponse echoTarget(const RecordedRequest& request) {
  FakeResponse response;
  response.body = request.method + " " + request.target;
  return response;
}

FakeResponse numberedAnswer(const RecordedRequest& request, uint64_t n) {
  FakeResponse response;
  response.body = fmt::format("{} {} #{}", request.method, request.target, n);
  return response;
}

FakeUpstream::Handler numberedAnswers(Headers headers) {
  // Shared: the handler is copied, and runs on connection threads at once.
  auto answered = std::make_shared<std::atomic<uint64_t>>(0);
  return [answered, headers = std::move(headers)](const RecordedRequest& request) {
    FakeResponse response = numberedAnswer(request, ++*answered);
    response.headers = headers;
    return response;
  };
}

uint64_t answerNumber(std::string_view body) {
  const size_t at = body.rfind(" #");
  REQUIRE_MESSAGE(at != std::string_view::npos, "not a numbered answer: ", std::string(body));
  const std::string digits(body.substr(at + 2));
  REQUIRE_MESSAGE((!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos),
                  "not a numbered answer: ", std::string(body));
  return std::stoull(digits);
}

FakeResponse statusAnswer(int status, std::string reason, std::string body) {
  FakeResponse response;
  response.status = status;
  response.reason = std::move(reason);
  response.body = std::move(body);
  return response;
}

}  // namespace larder::test
