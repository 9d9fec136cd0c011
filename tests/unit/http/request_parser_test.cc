#include "http/request_parser.h"

#include <doctest/doctest.h>

#include <string>

#include "parse_driver.h"

using namespace larder::http;
using larder::http::test::parseRequests;
using larder::http::test::RequestRecorder;
using namespace std::string_literals;

namespace {

const std::string kChunkedPost =
    "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

}  // namespace

TEST_CASE("a simple GET yields its method, target, version and fields") {
  auto out = parseRequests("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\n");
  REQUIRE(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 1);
  const RequestHead& head = out.seen[0].head;
  CHECK(head.method == "GET");
  CHECK(head.target == "/a/b?x=1");
  CHECK(head.version_minor == 1);
  REQUIRE(head.headers.size() == 2);
  CHECK(head.headers.fields()[0].name == "Host");
  CHECK(head.headers.fields()[0].value == "example.com");
  CHECK(*head.headers.find("accept") == "*/*");  // OWS on both sides is not part of the value
  CHECK(head.framing == BodyFraming::kNone);
  CHECK(head.keep_alive);
  CHECK_FALSE(head.expect_continue);
  CHECK(out.seen[0].complete);
  CHECK(toString(out.at_finish) == toString(ParseError::kNone));
}

TEST_CASE("keep-alive follows the HTTP version and the Connection field") {
  struct Row {
    const char* request;
    bool keep_alive;
  };
  const Row rows[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const Row& row : rows) {
    CAPTURE(row.request);
    auto out = parseRequests(row.request);
    REQUIRE(out.seen.size() == 1);
    CHECK(out.seen[0].head.keep_alive == row.keep_alive);
    CHECK(out.seen[0].head.version_minor == (std::string(row.request).find("1.0") != std::string::npos ? 0 : 1));
  }
}

TEST_CASE("pipelined requests are delivered one at a time") {
  const std::string first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  const std::string both = first + second;
  RequestRecorder rec;
  RequestParser parser(rec, {});

  CHECK(parser.feed(both) == first.size());
  CHECK(parser.isPaused());
  CHECK_FALSE(parser.isMidMessage());
  REQUIRE(rec.seen.size() == 1);
  CHECK(rec.seen[0].complete);
  CHECK(parser.feed(std::string_view(both).substr(first.size())) == 0);  // paused: takes nothing

  parser.resume();
  CHECK_FALSE(parser.isPaused());
  CHECK(parser.feed(std::string_view(both).substr(first.size())) == second.size());
  CHECK(parser.isPaused());
  REQUIRE(rec.seen.size() == 2);
  CHECK(rec.seen[1].head.method == "POST");
  CHECK(rec.seen[1].head.target == "/two");
  CHECK(rec.seen[1].body == "abc");
  CHECK(rec.seen[1].complete);
}

TEST_CASE("a handler may resume from inside onRequestComplete") {
  struct Resumer : RequestRecorder {
    RequestParser* parser = nullptr;
    void onRequestComplete() override {
      RequestRecorder::onRequestComplete();
      CHECK(parser->isPaused());
      parser->resume();
    }
  } rec;
  RequestParser parser(rec, {});
  rec.parser = &parser;
  const std::string two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK(parser.feed(two) == two.size());
  CHECK(rec.seen.size() == 2);
  CHECK_FALSE(parser.isPaused());
}

TEST_CASE("empty lines between pipelined requests are skipped") {
  auto out = parseRequests("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 2);
  CHECK(out.seen[1].head.target == "/2");
}

TEST_CASE("a Content-Length body is delivered and ends the request") {
  auto out = parseRequests("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
  REQUIRE(out.seen.size() == 1);
  CHECK(out.seen[0].head.framing == BodyFraming::kContentLength);
  CHECK(out.seen[0].head.content_length == 11);
  CHECK(out.seen[0].body == "hello world");
  CHECK(out.seen[0].complete);
}

TEST_CASE("a chunked body is decoded; extensions are allowed and trailers dropped") {
  auto out = parseRequests(kChunkedPost);
  REQUIRE(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 1);
  CHECK(out.seen[0].head.framing == BodyFraming::kChunked);
  CHECK(out.seen[0].body == "hello world");
  CHECK(out.seen[0].complete);
  CHECK_FALSE(out.seen[0].head.headers.has("X-Trailer"));
  CHECK(out.consumed == kChunkedPost.size());
}

TEST_CASE("feeding byte by byte gives the same result as one buffer") {
  const std::string inputs[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\nX: y\r\n\r\n",
      kChunkedPost + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\rXabc\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n folded\r\n\r\n",
  };
  for (const std::string& input : inputs) {
    CAPTURE(input);
    auto whole = parseRequests(input);
    for (size_t step : {size_t{1}, size_t{2}, size_t{7}}) {
      auto split = parseRequests(input, step);
      CHECK(toString(split.error) == toString(whole.error));
      CHECK(split.consumed == whole.consumed);
      REQUIRE(split.seen.size() == whole.seen.size());
      for (size_t i = 0; i < whole.seen.size(); ++i) {
        CHECK(split.seen[i].head.method == whole.seen[i].head.method);
        CHECK(split.seen[i].head.target == whole.seen[i].head.target);
        CHECK(split.seen[i].head.headers.fields().size() == whole.seen[i].head.headers.fields().size());
        for (size_t f = 0; f < whole.seen[i].head.headers.size(); ++f) {
          CHECK(split.seen[i].head.headers.fields()[f].name == whole.seen[i].head.headers.fields()[f].name);
          CHECK(split.seen[i].head.headers.fields()[f].value == whole.seen[i].head.headers.fields()[f].value);
        }
        CHECK(split.seen[i].body == whole.seen[i].body);
        CHECK(split.seen[i].complete == whole.seen[i].complete);
      }
    }
  }
}

TEST_CASE("request smuggling vectors are rejected as malformed") {
  struct Row {
    std::string name;
    std::string request;
  };
  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  const std::string te = post + "Transfer-Encoding: chunked\r\n\r\n";
  const Row rows[] = {
      {"CL then TE", post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"},
      {"two CL, different", post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
      // Documented choice: llhttp 8.1 (strict) rejects a repeated
      // Content-Length even when the values agree, and so do we.
      {"two CL, same value", post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
      {"CL list", post + "Content-Length: 3, 3\r\n\r\nabc"},
      {"CL with sign", post + "Content-Length: +3\r\n\r\nabc"},
      {"CL negative", post + "Content-Length: -1\r\n\r\n"},
      {"CL hex", post + "Content-Length: 0x3\r\n\r\nabc"},
      {"CL empty", post + "Content-Length: \r\n\r\n"},
      {"CL inner space", post + "Content-Length: 1 2\r\n\r\n"},
      {"CL overflow", post + "Content-Length: 99999999999999999999999\r\n\r\n"},
      {"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
      {"TE chunked, identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"},
      {"TE identity", post + "Transfer-Encoding: identity\r\n\r\n"},
      {"TE chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
      {"TE chunked in two fields",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"TE chunked then gzip field",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n"},
      {"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"},
      {"bare LF after field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"},
      {"bare LF ends head", "GET / HTTP/1.1\r\nHost: a\r\n\n"},
      {"bare LF before request", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"CR without LF in head", "GET / HTTP/1.1\r\nHost: a\r\n\rX"},
      {"obs-fold with SP", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"},
      {"obs-fold with HT", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"},
      {"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nHost : a\r\n\r\n"},
      {"tab before colon", "GET / HTTP/1.1\r\nHost: a\r\nHost\t: a\r\n\r\n"},
      {"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n"},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s},
      {"control byte in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n"},
      {"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f" "b\r\n\r\n"},
      {"control byte in name", "GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: a\r\n\r\n"},
      {"NUL in name", "GET / HTTP/1.1\r\nHost: a\r\nX\0Y: a\r\n\r\n"s},
      {"chunk size not hex", te + "zz\r\nabc\r\n0\r\n\r\n"},
      {"chunk size 0x", te + "0x3\r\nabc\r\n0\r\n\r\n"},
      {"chunk size empty", te + "\r\nabc\r\n0\r\n\r\n"},
      {"chunk size overflow", te + "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
      {"chunk size with space", te + "3 \r\nabc\r\n0\r\n\r\n"},
      {"chunk size bare LF", te + "3\nabc\r\n0\r\n\r\n"},
      {"chunk size CR then junk", te + "3\rXabc\r\n0\r\n\r\n"},
      {"chunk extension bare LF", te + "3;a=b\nabc\r\n0\r\n\r\n"},
      {"chunk extension CR then junk", te + "3;a=b\rXabc\r\n0\r\n\r\n"},
      {"chunk data bare LF", te + "3\r\nabc\n0\r\n\r\n"},
      {"chunk data CR then junk", te + "3\r\nabc\rX0\r\n\r\n"},
      {"chunk data too long", te + "3\r\nabcd\r\n0\r\n\r\n"},
      {"last chunk CR then junk", te + "3\r\nabc\r\n0\rX\r\n"},
      {"last chunk bare LF", te + "3\r\nabc\r\n0\n\r\n"},
      {"trailer end bare LF", te + "3\r\nabc\r\n0\r\n\n"},
      {"trailer end CR then junk", te + "3\r\nabc\r\n0\r\n\rX"},
      {"trailer field bare LF", te + "0\r\nX: y\n\r\n"},
      {"trailer obs-fold", te + "0\r\nX: y\r\n z\r\n\r\n"},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"control byte in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"unknown method", "FROB / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"missing colon", "GET / HTTP/1.1\r\nHost: a\r\nHost\r\n\r\n"},
      {"garbage after version", "GET / HTTP/1.1x\r\n\r\n"},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: a\r\n\r\n"},
      {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    auto out = parseRequests(row.request);
    CHECK(toString(out.error) == toString(ParseError::kMalformed));
    CHECK_FALSE(out.reason.empty());
    CHECK(statusFor(out.error) == 400);
    // Byte-at-a-time feeding must not slip past the checks either.
    auto split = parseRequests(row.request, 1);
    CHECK(toString(split.error) == toString(ParseError::kMalformed));
  }
}

TEST_CASE("no request body bytes reach the handler when the head is rejected") {
  auto out = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
  CHECK(toString(out.error) == toString(ParseError::kMalformed));
  CHECK(out.seen.empty());
}

TEST_CASE("a parser in error stays in error") {
  RequestRecorder rec;
  RequestParser parser(rec, {});
  const std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nHost : a\r\n\r\n";
  const size_t used = parser.feed(bad);
  CHECK(used < bad.size());
  CHECK(toString(parser.error()) == toString(ParseError::kMalformed));
  CHECK(parser.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  parser.resume();
  CHECK(toString(parser.error()) == toString(ParseError::kMalformed));
  CHECK(toString(parser.finish()) == toString(ParseError::kMalformed));
  CHECK(rec.seen.empty());
}

TEST_CASE("a header section over the limit is 431; one exactly at the limit passes") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + std::string(100, 'p') + "\r\n\r\n";
  RequestParser::Limits at_limit{head.size(), 0};
  CHECK(toString(parseRequests(head, SIZE_MAX, at_limit).error) == toString(ParseError::kNone));
  RequestParser::Limits below{head.size() - 1, 0};
  auto out = parseRequests(head, SIZE_MAX, below);
  CHECK(toString(out.error) == toString(ParseError::kHeadersTooLarge));
  CHECK(statusFor(out.error) == 431);
  CHECK(toString(parseRequests(head, 3, below).error) == toString(ParseError::kHeadersTooLarge));
  // The limit applies to each request of a pipeline, not to the connection.
  CHECK(parseRequests(head + head + head, 5, at_limit).seen.size() == 3);
}

TEST_CASE("a declared body over the limit is 413 before the head is delivered") {
  RequestParser::Limits limits{16 * 1024, 10};
  auto ok = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", SIZE_MAX, limits);
  CHECK(toString(ok.error) == toString(ParseError::kNone));
  auto out = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n0123456789a", SIZE_MAX, limits);
  CHECK(toString(out.error) == toString(ParseError::kBodyTooLarge));
  CHECK(statusFor(out.error) == 413);
  CHECK(out.seen.empty());
}

TEST_CASE("a chunked body that grows past the limit is 413") {
  RequestParser::Limits limits{16 * 1024, 10};
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto ok = parseRequests(head + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", SIZE_MAX, limits);
  CHECK(toString(ok.error) == toString(ParseError::kNone));
  CHECK(ok.seen.at(0).body == "0123456789");
  auto out = parseRequests(head + "5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", SIZE_MAX, limits);
  CHECK(toString(out.error) == toString(ParseError::kBodyTooLarge));
  REQUIRE(out.seen.size() == 1);
  CHECK(out.seen[0].body == "01234");  // the oversized chunk is refused before it arrives
  CHECK_FALSE(out.seen[0].complete);
  auto huge = parseRequests(head + "fffffffffffffff\r\n", SIZE_MAX, limits);
  CHECK(toString(huge.error) == toString(ParseError::kBodyTooLarge));
}

TEST_CASE("Expect: 100-continue is reported for HTTP/1.1 only") {
  auto out = parseRequests("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi");
  REQUIRE(out.seen.size() == 1);
  CHECK(out.seen[0].head.expect_continue);
  auto old = parseRequests("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  REQUIRE(old.seen.size() == 1);
  CHECK_FALSE(old.seen[0].head.expect_continue);
}

TEST_CASE("HTTP versions other than 1.0 and 1.1, CONNECT and h2 prior knowledge are unsupported") {
  const char* rows[] = {
      "GET / HTTP/1.2\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET / HTTP/0.9\r\n\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
  };
  for (const char* row : rows) {
    CAPTURE(row);
    auto out = parseRequests(row);
    CHECK(toString(out.error) == toString(ParseError::kUnsupported));
    CHECK(out.seen.empty());
  }
}

TEST_CASE("an HTTP/0.9 request line (no version) is refused, never taken as a request") {
  // "GET /\r\n" alone is not yet a request: llhttp waits for the field section.
  CHECK(parseRequests("GET /\r\n").seen.empty());
  for (const char* row : {"GET /\r\n\r\n", "GET /api/products\r\nHost: a\r\n\r\n"}) {
    CAPTURE(row);
    auto out = parseRequests(row);
    CHECK(toString(out.error) == toString(ParseError::kUnsupported));
    CHECK(out.seen.empty());
  }
}

TEST_CASE("a request with Upgrade is parsed as plain HTTP and parsing continues") {
  auto out = parseRequests(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
      "POST /next HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi"
      "GET /last HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(toString(out.error) == toString(ParseError::kNone));
  REQUIRE(out.seen.size() == 3);
  CHECK(out.seen[0].head.headers.has("upgrade"));
  CHECK(out.seen[1].body == "hi");
  CHECK(out.seen[2].head.target == "/last");
  CHECK(out.seen[2].complete);
}

TEST_CASE("EOF inside a request is truncation; EOF between requests is not") {
  CHECK(toString(parseRequests("GET / HTTP/1.1\r\nHost: a\r\nHo").at_finish) == toString(ParseError::kTruncated));
  CHECK(toString(parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab").at_finish) == toString(ParseError::kTruncated));
  CHECK(toString(parseRequests("GET / HTTP/1.1\r\nHost: a\r\n\r\n").at_finish) == toString(ParseError::kNone));
  CHECK(toString(parseRequests("").at_finish) == toString(ParseError::kNone));

  RequestRecorder rec;
  RequestParser parser(rec, {});
  CHECK_FALSE(parser.isMidMessage());
  parser.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
  CHECK(parser.isMidMessage());
  CHECK(parser.hasHead());
  CHECK(toString(parser.finish()) == toString(ParseError::kTruncated));
  CHECK(toString(parser.error()) == toString(ParseError::kTruncated));
}

TEST_CASE("the handler may move fields out of the head") {
  struct Mover : RequestParser::Handler {
    void onRequestHead(RequestHead& head) override { moved.push_back(std::move(head.headers)); }
    void onRequestBody(std::string_view) override {}
    void onRequestComplete() override {}
    std::vector<HeaderMap> moved;
  } mover;
  RequestParser parser(mover, {});
  const std::string two = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nB: 2\r\n\r\n";
  size_t used = parser.feed(two);
  parser.resume();
  used += parser.feed(std::string_view(two).substr(used));
  REQUIRE(mover.moved.size() == 2);
  CHECK(*mover.moved[0].find("a") == "1");
  CHECK(mover.moved[1].size() == 2);
  CHECK(*mover.moved[1].find("b") == "2");
}
