#include "http/range.h"

#include <doctest/doctest.h>

using namespace larder::http;
using Kind = RangeRequest::Kind;

namespace {

HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  HeaderMap headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

}  // namespace

TEST_CASE("RFC 9110 §14.1: byte range specs against a 100-byte representation") {
  struct Row {
    const char* range;
    Kind kind;
    std::vector<ByteRange> ranges;
  };
  const Row rows[] = {
      {"bytes=0-9", Kind::kPartial, {{0, 9}}},
      {"bytes=90-", Kind::kPartial, {{90, 99}}},
      {"bytes=-10", Kind::kPartial, {{90, 99}}},
      {"bytes=-500", Kind::kPartial, {{0, 99}}},
      {"bytes=50-500", Kind::kPartial, {{50, 99}}},
      {"BYTES=0-0", Kind::kPartial, {{0, 0}}},
      {"bytes=0-9, 20-29", Kind::kPartial, {{0, 9}, {20, 29}}},
      {"bytes=20-29,0-9", Kind::kPartial, {{0, 9}, {20, 29}}},
      {"bytes=0-9,5-14", Kind::kPartial, {{0, 14}}},    // overlapping: coalesced
      {"bytes=0-9,10-19", Kind::kPartial, {{0, 19}}},   // adjacent: coalesced
      {"bytes=0-9,200-300", Kind::kPartial, {{0, 9}}},  // the unsatisfiable part dropped
      {"bytes=100-", Kind::kUnsatisfiable, {}},
      {"bytes=100-200,300-", Kind::kUnsatisfiable, {}},
      {"bytes=-0", Kind::kUnsatisfiable, {}},
      // Not understood or malformed: the whole answer (§14.2).
      {"bytes=9-0", Kind::kWhole, {}},
      {"bytes=a-9", Kind::kWhole, {}},
      {"bytes=0-9x", Kind::kWhole, {}},
      {"bytes=-", Kind::kWhole, {}},
      {"bytes=", Kind::kWhole, {}},
      {"bytes=5", Kind::kWhole, {}},
      {"bytes =0-9", Kind::kWhole, {}},
      {"items=0-9", Kind::kWhole, {}},
      {"bytes=99999999999999999999-", Kind::kWhole, {}},
      {"bytes=0-0,1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16", Kind::kWhole, {}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.range);
    const RangeRequest result = evaluateRange(headersOf({{"Range", row.range}}), {}, 100);
    CHECK(result.kind == row.kind);
    REQUIRE(result.ranges.size() == row.ranges.size());
    for (size_t i = 0; i < row.ranges.size(); ++i) {
      CHECK(result.ranges[i].first == row.ranges[i].first);
      CHECK(result.ranges[i].last == row.ranges[i].last);
    }
  }
  CHECK(evaluateRange({}, {}, 100).kind == Kind::kWhole);
  CHECK(evaluateRange(headersOf({{"Range", "bytes=0-1"}, {"Range", "bytes=2-3"}}), {}, 100).kind == Kind::kWhole);
  CHECK(evaluateRange(headersOf({{"Range", "bytes=0-"}}), {}, 0).kind == Kind::kUnsatisfiable);
}

TEST_CASE("RFC 9110 §13.1.5: If-Range applies the Range only to the same representation") {
  const HeaderMap stored = headersOf({{"ETag", "\"v1\""}, {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  const HeaderMap weak = headersOf({{"ETag", "W/\"v1\""}});
  struct Row {
    const char* if_range;
    const HeaderMap* response;
    Kind kind;
  };
  const Row rows[] = {
      {"\"v1\"", &stored, Kind::kPartial},
      {"\"v2\"", &stored, Kind::kWhole},
      {"W/\"v1\"", &stored, Kind::kWhole},   // weak tags never match
      {"\"v1\"", &weak, Kind::kWhole},       // nor a weak stored tag
      {"Sun, 06 Nov 1994 08:49:37 GMT", &stored, Kind::kPartial},
      {"Sun, 06 Nov 1994 08:49:38 GMT", &stored, Kind::kWhole},
      {"yesterday", &stored, Kind::kWhole},
  };
  for (const Row& row : rows) {
    CAPTURE(row.if_range);
    CHECK(evaluateRange(headersOf({{"Range", "bytes=0-1"}, {"If-Range", row.if_range}}), *row.response, 100).kind ==
          row.kind);
  }
}

TEST_CASE("RFC 9110 §14.6: applyRange makes 206, multipart/byteranges and 416 answers") {
  const std::string original = "0123456789abcdefghij";
  {
    HeaderMap headers = headersOf({{"Content-Type", "text/plain"}});
    std::string body = original;
    CHECK(applyRange(headersOf({{"Range", "bytes=2-4"}}), 200, headers, body, "B") == 206);
    CHECK(body == "234");
    CHECK(headers.joined("Content-Range") == "bytes 2-4/20");
  }
  {
    HeaderMap headers = headersOf({{"Content-Type", "text/plain"}});
    std::string body = original;
    CHECK(applyRange(headersOf({{"Range", "bytes=0-1,-2"}}), 200, headers, body, "XYZ") == 206);
    CHECK(headers.joined("Content-Type") == "multipart/byteranges; boundary=XYZ");
    CHECK_FALSE(headers.has("Content-Range"));
    CHECK(body ==
          "\r\n--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01"
          "\r\n--XYZ\r\nContent-Type: text/plain\r\nContent-Range: bytes 18-19/20\r\n\r\nij"
          "\r\n--XYZ--\r\n");
  }
  {
    HeaderMap headers;
    std::string body = original;
    CHECK(applyRange(headersOf({{"Range", "bytes=50-"}}), 200, headers, body, "B") == 416);
    CHECK(headers.joined("Content-Range") == "bytes */20");
    CHECK(body.empty());
  }
  {
    HeaderMap headers;
    std::string body = original;
    CHECK(applyRange(headersOf({{"Range", "bytes=0-1"}}), 404, headers, body, "B") == 404);
    CHECK(body == original);
  }
}
