#include "http/response_parser.h"

#include <doctest/doctest.h>

#include <string>

#include "parse_driver.h"

using namespace larder::http;
using larder::http::test::parseResponses;
using larder::http::test::ResponseRecorder;

TEST_CASE("a response with Content-Length delivers its head and body") {
  auto out = parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
  REQUIRE(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 1);
  const ResponseHead& head = out.seen[0].head;
  CHECK(head.status == 200);
  CHECK(head.reason == "OK");
  CHECK(head.version_minor == 1);
  CHECK(head.framing == BodyFraming::kContentLength);
  CHECK(head.content_length == 5);
  CHECK(head.keep_alive);
  CHECK(*head.headers.find("x-a") == "b");
  CHECK(out.seen[0].body == "hello");
  CHECK(out.seen[0].complete);
}

TEST_CASE("a HEAD answer has no body even with Content-Length") {
  const std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  const std::string second = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  ResponseRecorder rec;
  ResponseParser parser(rec, {});
  parser.expectResponseTo("HEAD");
  CHECK(parser.feed(first + second) == first.size());
  CHECK(parser.isPaused());
  REQUIRE(rec.seen.size() == 1);
  CHECK(rec.seen[0].head.framing == BodyFraming::kNone);
  CHECK(rec.seen[0].head.keep_alive);
  CHECK(rec.seen[0].body.empty());
  CHECK(rec.seen[0].complete);

  parser.resume();
  parser.expectResponseTo("HEAD");
  CHECK(parser.feed(second) == second.size());
  REQUIRE(rec.seen.size() == 2);
  CHECK(rec.seen[1].head.status == 404);

  // Chunked framing on a HEAD answer describes the GET body, not this one.
  auto chunked = parseResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD");
  CHECK(toString(chunked.error) == toString(ParseError::kNone));
  REQUIRE(chunked.seen.size() == 1);
  CHECK(chunked.seen[0].complete);
  CHECK(toString(chunked.at_finish) == toString(ParseError::kNone));
}

TEST_CASE("204 and 304 answers have no body") {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    CAPTURE(status);
    const std::string response = std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 7\r\n\r\n";
    auto out = parseResponses(response + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    CHECK(toString(out.error) == toString(ParseError::kNone));
    REQUIRE(out.seen.size() == 2);
    CHECK(out.seen[0].head.framing == BodyFraming::kNone);
    CHECK(out.seen[0].body.empty());
    CHECK(out.seen[1].body == "ok");
  }
}

TEST_CASE("100 Continue is delivered as its own message, then the final answer") {
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_answer = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  ResponseRecorder rec;
  ResponseParser parser(rec, {});
  parser.expectResponseTo("POST");
  CHECK(parser.feed(interim + final_answer) == interim.size());
  CHECK(parser.isPaused());
  REQUIRE(rec.seen.size() == 1);
  CHECK(rec.seen[0].head.isInterim());
  CHECK(rec.seen[0].head.framing == BodyFraming::kNone);
  CHECK(rec.seen[0].complete);
  parser.resume();
  CHECK(parser.feed(final_answer) == final_answer.size());
  REQUIRE(rec.seen.size() == 2);
  CHECK(rec.seen[1].head.status == 201);
  CHECK(rec.seen[1].body == "ok");
}

TEST_CASE("a chunked response is decoded") {
  auto out = parseResponses(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n");
  REQUIRE(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 1);
  CHECK(out.seen[0].head.framing == BodyFraming::kChunked);
  CHECK(out.seen[0].body == "Wikipedia");
  CHECK(out.seen[0].complete);
}

TEST_CASE("a response without length is read until close, and finish() completes it") {
  ResponseRecorder rec;
  ResponseParser parser(rec, {});
  parser.expectResponseTo("GET");
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this";
  CHECK(parser.feed(response) == response.size());
  CHECK_FALSE(parser.isPaused());
  CHECK(parser.isMidMessage());
  REQUIRE(rec.seen.size() == 1);
  CHECK(rec.seen[0].head.framing == BodyFraming::kUntilClose);
  CHECK_FALSE(rec.seen[0].head.keep_alive);
  CHECK_FALSE(rec.seen[0].complete);
  CHECK(parser.feed(" and more") == 9);
  CHECK(toString(parser.finish()) == toString(ParseError::kNone));
  CHECK(rec.seen[0].complete);
  CHECK(rec.seen[0].body == "all of this and more");
  CHECK(toString(parser.error()) == toString(ParseError::kNone));
}

TEST_CASE("a close that cuts a response short is truncation") {
  const char* rows[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc",
      "HTTP/1.1 200 OK\r\nContent-Le",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
  };
  for (const char* row : rows) {
    CAPTURE(row);
    auto out = parseResponses(row);
    CHECK(toString(out.at_finish) == toString(ParseError::kTruncated));
    CHECK(toString(out.error) == toString(ParseError::kTruncated));
  }
  CHECK(toString(parseResponses("").at_finish) == toString(ParseError::kNone));
  CHECK(toString(parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").at_finish) == toString(ParseError::kNone));
}

TEST_CASE("response keep-alive follows version, Connection and framing") {
  struct Row {
    const char* response;
    bool keep_alive;
  };
  const Row rows[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\n\r\n", false},
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.response);
    auto out = parseResponses(row.response);
    REQUIRE(out.seen.size() == 1);
    CHECK(out.seen[0].head.keep_alive == row.keep_alive);
  }
}

TEST_CASE("bad response framing is rejected") {
  struct Row {
    const char* response;
    ParseError error;
  };
  const Row rows[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\rXabc\r\n0\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 099 Odd\r\n\r\n", ParseError::kMalformed},
      {"HTTP/1.1 2000 OK\r\n\r\n", ParseError::kMalformed},
      {"HTTP/2.0 200 OK\r\n\r\n", ParseError::kUnsupported},
      {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", ParseError::kUnsupported},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", ParseError::kUnsupported},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", ParseError::kUnsupported},
  };
  for (const Row& row : rows) {
    CAPTURE(row.response);
    CHECK(toString(parseResponses(row.response).error) == toString(row.error));
    CHECK(toString(parseResponses(row.response, "GET", 1).error) == toString(row.error));
  }
}

TEST_CASE("responses tolerate what real servers send") {
  // Whitespace before the colon is removed, not rejected (RFC 9112 §5.1).
  auto spaced = parseResponses("HTTP/1.1 200 OK\r\nServer : old\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(toString(spaced.error) == toString(ParseError::kNone));
  REQUIRE(spaced.seen.size() == 1);
  CHECK(*spaced.seen[0].head.headers.find("Server") == "old");
  // An empty reason phrase is fine.
  auto bare = parseResponses("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
  REQUIRE(bare.seen.size() == 1);
  CHECK(bare.seen[0].head.reason.empty());
  // A header section over 16 KiB (the request limit) is fine up to 64 KiB.
  auto big = parseResponses("HTTP/1.1 200 OK\r\nX-Big: " + std::string(30000, 'b') + "\r\nContent-Length: 0\r\n\r\n");
  CHECK(toString(big.error) == toString(ParseError::kNone));
  auto huge = parseResponses("HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n");
  CHECK(toString(huge.error) == toString(ParseError::kHeadersTooLarge));
}

TEST_CASE("response feeding byte by byte gives the same result as one buffer") {
  const std::string inputs[] = {
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\nuntil the end",
  };
  for (const std::string& input : inputs) {
    CAPTURE(input);
    auto whole = parseResponses(input);
    auto split = parseResponses(input, "GET", 1);
    CHECK(toString(split.error) == toString(whole.error));
    CHECK(toString(split.at_finish) == toString(whole.at_finish));
    REQUIRE(split.seen.size() == whole.seen.size());
    for (size_t i = 0; i < whole.seen.size(); ++i) {
      CHECK(split.seen[i].head.status == whole.seen[i].head.status);
      CHECK(split.seen[i].head.framing == whole.seen[i].head.framing);
      CHECK(split.seen[i].body == whole.seen[i].body);
      CHECK(split.seen[i].complete == whole.seen[i].complete);
    }
  }
}
