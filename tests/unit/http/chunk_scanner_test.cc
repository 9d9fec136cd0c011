#include "http/chunk_scanner.h"

#include <doctest/doctest.h>

#include <string>

using namespace larder::http;

namespace {

std::string scanAll(std::string_view data, size_t step) {
  ChunkScanner scanner;
  scanner.start();
  size_t offset = 0;
  while (offset < data.size()) {
    const std::string_view piece = data.substr(offset, step);
    const ChunkScanner::Result r = scanner.scan(piece);
    if (r.status == ChunkScanner::Status::kLastChunk) return "last@" + std::to_string(offset + r.consumed);
    if (r.status == ChunkScanner::Status::kError) return "error@" + std::to_string(offset + r.consumed);
    offset += r.consumed;
  }
  return "need-more";
}

}  // namespace

TEST_CASE("the chunk scanner follows chunk sizes to the last chunk") {
  struct Row {
    std::string body;
    std::string expected;
  };
  const Row rows[] = {
      {"0\r\n", "last@3"},
      {"3\r\nabc\r\n0\r\nT: v\r\n\r\n", "last@11"},
      {"A;ext=\"q\"\r\n0123456789\r\n0;x\r\n", "last@28"},
      {"0003\r\n\r\n\r\r\n0\r\n", "last@14"},
      {"3\r\nab", "need-more"},
      {"3\rXabc\r\n", "error@2"},
      {"3\r\nabcX", "error@6"},
      {"3\r\nabc\rX", "error@7"},
      {"3\nabc", "error@1"},
      {"3;a\nabc", "error@3"},
      {"\r\n", "error@0"},
      {"g\r\n", "error@0"},
      {"3 \r\n", "error@1"},
      {"10000000000000000\r\n", "error@16"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.body);
    CHECK(scanAll(row.body, row.body.size()) == row.expected);
    CHECK(scanAll(row.body, 1) == row.expected);
  }
}
