#include "cache/soft_purge.h"

#include <doctest/doctest.h>

#include "cache/versioned_insert.h"

using namespace larder;
using namespace larder::cache;
using std::chrono::milliseconds;

namespace {
base::WallTime at(int64_t ms) { return base::WallTime(milliseconds(ms)); }
}  // namespace

TEST_CASE("a soft purge token carries its mark; each is fresh") {
  std::string a = softPurgeToken(at(1234567));
  std::string b = softPurgeToken(at(1234567));
  CHECK(a != b);
  CHECK(a.ends_with("@1234567"));
  CHECK(a.find(kSoftChainSeparator) == std::string::npos);
}

TEST_CASE("a soft value lists the previous heads, newest first, cut to kSoftChainLength") {
  CHECK(softVersionValue("9.x@5", std::nullopt) == "9.x@5");
  CHECK(softVersionValue("9.x@5", std::string("8.w")) == "9.x@5~8.w");
  CHECK(softVersionValue("9.x@5", std::string("8.w@4~7.v")) == "9.x@5~8.w@4~7.v");
  // Empty segments (a value this code did not write) are dropped.
  CHECK(softVersionValue("9.x@5", std::string("8.w~~7.v")) == "9.x@5~8.w~7.v");
  std::string previous = "h0";
  for (int i = 1; i < 20; ++i) previous = softVersionValue("h" + std::to_string(i) + "@1", previous);
  CHECK(std::count(previous.begin(), previous.end(), kSoftChainSeparator) == kSoftChainLength - 1);
  CHECK(previous.starts_with("h19@1~h18@1~"));
}

TEST_CASE("an entry's token softly superseded gives the mark of the head that superseded it") {
  const std::string current = "30.c@3000~20.b@2000~10.a";
  CHECK(softlySupersededAt("10.a", current) == at(2000));
  CHECK(softlySupersededAt("20.b@2000~10.a", current) == at(3000));  // recorded with its own chain
  // The current head itself, an unknown token, or one only a hard value had: not soft.
  CHECK_FALSE(softlySupersededAt("30.c@3000", current));
  CHECK_FALSE(softlySupersededAt("5.z", current));
  CHECK_FALSE(softlySupersededAt("10.a", "40.d"));
  CHECK_FALSE(softlySupersededAt("", current));
  // A superseding head without a readable mark is not trusted.
  CHECK_FALSE(softlySupersededAt("10.a", "20.b~10.a"));
  CHECK_FALSE(softlySupersededAt("10.a", "20.b@~10.a"));
  CHECK_FALSE(softlySupersededAt("10.a", "20.b@x1~10.a"));
  CHECK_FALSE(softlySupersededAt("10.a", "20.b@-5~10.a"));
}

TEST_CASE("a softly purged entry expires at the mark, or now when the mark is ahead, never later") {
  Entry entry;
  entry.stored_at = at(10000);
  entry.ttl = milliseconds(60000);
  Entry marked = entry;
  expireAtSoftMark(marked, at(15000), at(20000));
  CHECK(marked.ttl == milliseconds(5000));
  marked = entry;
  expireAtSoftMark(marked, at(25000), at(20000));  // mark from a clock ahead of ours
  CHECK(marked.ttl == milliseconds(10000));
  marked = entry;
  expireAtSoftMark(marked, at(5000), at(20000));   // stored after the mark (clock skew)
  CHECK(marked.ttl == milliseconds(0));
  entry.ttl = milliseconds(1000);
  marked = entry;
  expireAtSoftMark(marked, at(15000), at(20000));  // already expired before the mark
  CHECK(marked.ttl == milliseconds(1000));
}

TEST_CASE("recorded versions hold softly only when asked, and never across a hard token") {
  Entry entry;
  entry.versions = {{"ns:a", "10.a"}, {"ns:b", "11.b"}};
  std::vector<std::string> keys = {"ns:a", "ns:b"};
  std::vector<std::string> unread;
  std::vector<std::optional<std::string>> soft_a = {std::string("20.s@2000~10.a"), std::string("11.b")};
  CHECK_FALSE(recordedVersionsHold(entry, keys, soft_a, 2, unread));
  std::optional<base::WallTime> mark;
  CHECK(recordedVersionsHold(entry, keys, soft_a, 2, unread, &mark));
  CHECK(mark == at(2000));
  // Both softly purged: the earlier mark wins.
  std::vector<std::optional<std::string>> soft_both = {std::string("20.s@2000~10.a"),
                                                       std::string("21.t@1500~11.b")};
  mark.reset();
  CHECK(recordedVersionsHold(entry, keys, soft_both, 2, unread, &mark));
  CHECK(mark == at(1500));
  // One namespace written since (a hard token): not even stale.
  std::vector<std::optional<std::string>> hard_b = {std::string("20.s@2000~10.a"), std::string("30.w")};
  mark.reset();
  CHECK_FALSE(recordedVersionsHold(entry, keys, hard_b, 2, unread, &mark));
  std::vector<std::optional<std::string>> absent_b = {std::string("10.a"), std::nullopt};
  CHECK_FALSE(recordedVersionsHold(entry, keys, absent_b, 2, unread, &mark));
  // Unchanged: holds, no mark.
  std::vector<std::optional<std::string>> same = {std::string("10.a"), std::string("11.b")};
  mark.reset();
  CHECK(recordedVersionsHold(entry, keys, same, 2, unread, &mark));
  CHECK_FALSE(mark);
}
