// The canned answers integration tests script a FakeUpstream with, so that
// every file says "a numbered answer" or "a 503" the same way (issue 12).
// A test that needs more builds on one of these and adjusts the fields of
// the FakeResponse (hold, delay, chunked: see fake_upstream.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "harness/fake_upstream.h"

namespace larder::test {

// Body "METHOD TARGET": which request was answered, not when.
FakeResponse echoTarget(const RecordedRequest& request);

// Body "METHOD TARGET #n": n numbers the upstream's answers, so two responses
// with the same body came from one upstream answer (a hit), and a fresh fetch
// is recognisable by its new number.
FakeResponse numberedAnswer(const RecordedRequest& request, uint64_t n);
// A handler that gives numberedAnswer()s, counting from 1, with `headers`.
FakeUpstream::Handler numberedAnswers(Headers headers = {});
// The n of a numberedAnswer()'s body ("GET /api/products/1 #12" -> 12).
// Fails the test (REQUIRE) on any other body.
uint64_t answerNumber(std::string_view body);

// A plain answer with this status line and body (e.g. 503 "overloaded").
FakeResponse statusAnswer(int status, std::string reason, std::string body);

}  // namespace larder::test
