// cache::InvalidationBacklog: keys() (the names the exit's error line
// shows), next to the add/resolve rule it reports on.
#include "cache/invalidation_backlog.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace larder;
using namespace std::chrono_literals;

namespace {

cache::Invalidation invalidation(std::vector<std::string> keys, const std::string& token) {
  cache::Invalidation out;
  out.version_keys = std::move(keys);
  out.tokens.assign(out.version_keys.size(), token);
  out.version_ttl = 1h;
  return out;
}

}  // namespace

TEST_CASE("keys() lists up to the limit, sorted") {
  cache::InvalidationBacklog backlog;
  CHECK(backlog.keys(5).empty());
  backlog.add(invalidation({"v1:ns:c", "v1:ns:a", "v1:ns:b"}, "t1"));
  struct Row {
    size_t limit;
    std::vector<std::string> expected;
  };
  const std::vector<Row> rows = {
      {0, {}},
      {1, {"v1:ns:a"}},
      {2, {"v1:ns:a", "v1:ns:b"}},
      {3, {"v1:ns:a", "v1:ns:b", "v1:ns:c"}},
      {100, {"v1:ns:a", "v1:ns:b", "v1:ns:c"}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.limit);
    CHECK(backlog.keys(row.limit) == row.expected);
  }
}

TEST_CASE("keys() follows resolve: a landed key goes, a newer failure for it stays") {
  cache::InvalidationBacklog backlog;
  backlog.add(invalidation({"v1:ns:a", "v1:ns:b"}, "t1"));
  const cache::Invalidation retried = backlog.snapshot();
  backlog.add(invalidation({"v1:ns:b"}, "t2"));
  backlog.resolve(retried);
  CHECK(backlog.keys(5) == std::vector<std::string>{"v1:ns:b"});
  CHECK(backlog.size() == 1);
}

TEST_CASE("mismatched keys and tokens: only the paired ones are kept") {
  cache::InvalidationBacklog backlog;
  cache::Invalidation odd = invalidation({"v1:ns:a", "v1:ns:b"}, "t1");
  odd.tokens.pop_back();
  backlog.add(odd);
  CHECK(backlog.keys(5) == std::vector<std::string>{"v1:ns:a"});
}
