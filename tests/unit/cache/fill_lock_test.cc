#include "cache/fill_lock.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "cache/digest.h"

using namespace larder::cache;
using namespace std::chrono_literals;

TEST_CASE("lock names: every instance derives the same name from the same fill key") {
  const LockName name = lockName("v1", "v1:e:abc\ntoken1\n-");
  CHECK(name.key == "v1:lock:" + digestHex("v1:e:abc\ntoken1\n-"));
  CHECK(name.channel == "v1:fills");
  CHECK(lockName("v1", "v1:e:abc\ntoken1\n-").key == name.key);
  // Another version token (a write in between) is another fill, another lock.
  CHECK(lockName("v1", "v1:e:abc\ntoken2\n-").key != name.key);
  CHECK(lockName("v2", "v1:e:abc\ntoken1\n-").key.starts_with("v2:lock:"));
  CHECK(fillNoticeChannel("app.prod") == "app.prod:fills");
}

TEST_CASE("lock tokens are unique") {
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) tokens.insert(newLockToken());
  CHECK(tokens.size() == 1000);
  CHECK(tokens.begin()->size() == 32);
}

TEST_CASE("fill notices round-trip; anything else on the channel is ignored") {
  const std::string key = "v1:lock:0123456789abcdef0123456789abcdef";
  CHECK(encodeFillNotice(key, FillEnd::kStored) == "stored " + key);
  CHECK(encodeFillNotice(key, FillEnd::kAbandoned) == "abandoned " + key);
  for (FillEnd end : {FillEnd::kStored, FillEnd::kAbandoned}) {
    auto notice = decodeFillNotice(encodeFillNotice(key, end));
    REQUIRE(notice.has_value());
    CHECK(notice->lock_key == key);
    CHECK(notice->end == end);
  }
  // A prefix may contain ':' and '.', and the key is everything after the word.
  auto dotted = decodeFillNotice("stored app.prod:lock:ff");
  REQUIRE(dotted.has_value());
  CHECK(dotted->lock_key == "app.prod:lock:ff");

  const char* malformed[] = {"", "stored", "stored ", "STORED v1:lock:x", "done v1:lock:x",
                             " v1:lock:x", "storedv1:lock:x"};
  for (const char* message : malformed) {
    CAPTURE(message);
    CHECK_FALSE(decodeFillNotice(message).has_value());
  }
}

TEST_CASE("a loser sleeps until just after the lock expires, within its budget") {
  struct Row {
    std::chrono::milliseconds remaining;
    std::chrono::milliseconds budget;
    std::chrono::milliseconds expected;
  };
  const Row rows[] = {
      {1000ms, 5000ms, 1005ms},  // the lock's TTL, and a margin for Redis's expiry
      {0ms, 5000ms, 5ms},        // expired between SET and PTTL
      {-1ms, 5000ms, 5ms},       // never negative
      {9000ms, 2000ms, 2000ms},  // the budget (lock_timeout) ends first
      {1000ms, 0ms, 0ms},        // nothing left: look now
      {1000ms, -3ms, 0ms},
  };
  for (const Row& row : rows) {
    CAPTURE(row.remaining.count());
    CAPTURE(row.budget.count());
    CHECK(recheckDelay(row.remaining, row.budget) == row.expected);
  }
}
