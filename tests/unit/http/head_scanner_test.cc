#include "http/head_scanner.h"

#include <doctest/doctest.h>

#include <iterator>
#include <random>
#include <string>
#include <string_view>

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

// The scanner as it was before its fast path (issue 13): one byte at a
// time. The differential test below holds the two to the same answers.
class ReferenceScanner {
 public:
  explicit ReferenceScanner(uint64_t max_bytes, bool trailer, bool allow_space)
      : max_bytes_(max_bytes), seen_start_(trailer), allow_space_before_colon_(allow_space) {}
  HeadScanner::Result scan(std::string_view data) {
    using S = HeadScanner::Status;
    for (size_t i = 0; i < data.size(); ++i) {
      if (max_bytes_ != 0 && ++bytes_ > max_bytes_) return {S::kError, i};
      const auto c = static_cast<unsigned char>(data[i]);
      if (prev_cr_) {
        if (c != '\n') return {S::kError, i};
        prev_cr_ = false;
        if (line_empty_ && seen_start_) return {S::kComplete, i + 1};
        at_line_start_ = true;
        line_empty_ = true;
        in_name_ = false;
        continue;
      }
      if (c == '\r') {
        prev_cr_ = true;
        continue;
      }
      if (c == '\n') return {S::kError, i};
      if ((c < 0x20 && c != '\t') || c == 0x7f) return {S::kError, i};
      if (at_line_start_) {
        at_line_start_ = false;
        line_empty_ = false;
        if (!seen_start_) {
          seen_start_ = true;
          continue;
        }
        if (c == ' ' || c == '\t' || c == ':') return {S::kError, i};
        in_name_ = true;
        continue;
      }
      if (in_name_) {
        if (c == ':') {
          in_name_ = false;
        } else if ((c == ' ' || c == '\t') && !allow_space_before_colon_) {
          return {S::kError, i};
        }
      }
    }
    return {S::kNeedMore, data.size()};
  }

 private:
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  bool prev_cr_ = false;
  bool at_line_start_ = true;
  bool line_empty_ = true;
  bool seen_start_;
  bool in_name_ = false;
  bool allow_space_before_colon_;
};

}  // namespace

TEST_CASE("the scanner's fast path answers as the byte-at-a-time scanner did, fed in any pieces") {
  // Heads made of the bytes that matter (line ends, colons, whitespace,
  // controls, DEL, obs-text) between plain ones, fed in random pieces,
  // under limits that fall anywhere.
  const std::string alphabet = std::string("GaZ0 \t:\r\n\x01\x7f\x80\xff/") + std::string(1, '\0');
  const std::string plain = "GET / HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n";
  std::mt19937 random(13);
  for (int round = 0; round < 20000; ++round) {
    std::string head;
    const int length = static_cast<int>(random() % 60);
    for (int i = 0; i < length; ++i) {
      // Mostly well-formed text with a few interesting bytes dropped in.
      head += random() % 3 == 0 ? alphabet[random() % alphabet.size()] : plain[i % plain.size()];
    }
    const uint64_t limits[] = {0, 1, 7, 16, 33, 59};
    const uint64_t limit = limits[random() % std::size(limits)];
    const bool trailer = random() % 4 == 0;
    const bool allow_space = random() % 2 == 0;
    HeadScanner scanner(limit);
    scanner.setAllowSpaceBeforeColon(allow_space);
    if (trailer) {
      scanner.startTrailer();
    } else {
      scanner.startHead();
    }
    ReferenceScanner reference(limit, trailer, allow_space);
    std::string_view rest = head;
    while (true) {
      const size_t piece = rest.empty() ? 0 : 1 + random() % rest.size();
      const HeadScanner::Result got = scanner.scan(rest.substr(0, piece));
      const HeadScanner::Result want = reference.scan(rest.substr(0, piece));
      CAPTURE(head);
      CAPTURE(limit);
      CAPTURE(trailer);
      CAPTURE(allow_space);
      REQUIRE(statusOf(got) == statusOf(want));
      if (got.status != HeadScanner::Status::kNeedMore || piece == 0) break;
      rest.remove_prefix(piece);
    }
  }
}

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
