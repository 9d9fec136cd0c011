#include "http/head_scanner.h"

#include <doctest/doctest.h>

#include <string>

using namespace larder::http;

namespace {

std::string statusOf(HeadScanner::Result r) {
  switch (r.status) {
    case HeadScanner::Status::kNeedMore: return "need-more";
    case HeadScanner::Status::kComplete: return "complete@" + std::to_string(r.consumed);
    case HeadScanner::Status::kError: return "error@" + std::to_string(r.consumed);
  }
  return "?";
}

}  // namespace

TEST_CASE("the head scanner finds the end of a head and stops there") {
  HeadScanner scanner(0);
  scanner.startHead();
  CHECK(statusOf(scanner.scan("\r\nGET / HTTP/1.1\r\nA: b\r\n\r\nNEXT")) == "complete@26");
  scanner.startHead();
  CHECK(statusOf(scanner.scan("GET / HTTP/1.1\r\nA: b\r")) == "need-more");
  CHECK(statusOf(scanner.scan("\n\r")) == "need-more");
  CHECK(statusOf(scanner.scan("\nX")) == "complete@1");
}

TEST_CASE("the head scanner rejects what llhttp 8.1 lets through") {
  struct Row {
    std::string head;
    std::string expected;
  };
  const Row rows[] = {
      {"GET / HTTP/1.1\nA: b\r\n\r\n", "error@14"},
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "error@22"},
      {"GET / HTTP/1.1\r\nA : b\r\n\r\n", "error@17"},
      {"GET / HTTP/1.1\r\n: b\r\n\r\n", "error@16"},
      {"GET / HTTP/1.1\r\nA: \x01\r\n\r\n", "error@19"},
      {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "error@21"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.head);
    HeadScanner scanner(0);
    scanner.startHead();
    CHECK(statusOf(scanner.scan(row.head)) == row.expected);
    CHECK(toString(scanner.error()) == toString(ParseError::kMalformed));
  }
}

TEST_CASE("a trailer section may end at once") {
  HeadScanner scanner(0);
  scanner.startTrailer();
  CHECK(statusOf(scanner.scan("\r\nrest")) == "complete@2");
  scanner.startTrailer();
  CHECK(statusOf(scanner.scan("T: v\r\n\r\n")) == "complete@8");
}

TEST_CASE("the head scanner counts bytes against its limit") {
  HeadScanner scanner(10);
  scanner.startHead();
  CHECK(statusOf(scanner.scan("0123456789")) == "need-more");
  CHECK(statusOf(scanner.scan("x")) == "error@0");
  CHECK(toString(scanner.error()) == toString(ParseError::kHeadersTooLarge));
}

TEST_CASE("Transfer-Encoding lists are classified as a whole") {
  struct Row {
    std::vector<std::string> values;
    TransferCoding expected;
  };
  const Row rows[] = {
      {{}, TransferCoding::kAbsent},
      {{"chunked"}, TransferCoding::kChunked},
      {{"Chunked "}, TransferCoding::kChunked},
      {{"gzip, chunked"}, TransferCoding::kOtherCodings},
      {{"gzip", "chunked"}, TransferCoding::kOtherCodings},
      {{"gzip"}, TransferCoding::kNotChunked},
      {{"xchunked"}, TransferCoding::kNotChunked},
      {{"chunked;a=b"}, TransferCoding::kNotChunked},
      {{"chunked, gzip"}, TransferCoding::kInvalid},
      {{"chunked, chunked"}, TransferCoding::kInvalid},
      {{"chunked", "chunked"}, TransferCoding::kInvalid},
      {{""}, TransferCoding::kInvalid},
      {{" , "}, TransferCoding::kInvalid},
  };
  for (const Row& row : rows) {
    HeaderMap headers;
    for (const std::string& v : row.values) headers.add("Transfer-Encoding", v);
    CAPTURE(headers.joined("transfer-encoding"));
    CHECK(static_cast<int>(classifyTransferEncoding(headers)) == static_cast<int>(row.expected));
  }
}
