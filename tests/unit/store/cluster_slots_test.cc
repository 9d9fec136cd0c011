// The slot function and redirections against the Redis Cluster
// specification (cluster-spec: "Keys distribution model", "Hash tags",
// "Redirection and resharding").
#include "store/redis/cluster_slots.h"

#include <doctest/doctest.h>

using namespace larder::store;

TEST_CASE("CRC16 is the specification's XMODEM variant") {
  CHECK(crc16("123456789") == 0x31C3);
  CHECK(crc16("") == 0);
  CHECK(keySlot("123456789") == 0x31C3 % 16384);
}

TEST_CASE("slots of plain keys agree with CLUSTER KEYSLOT") {
  // Values from redis-server 7.0's CLUSTER KEYSLOT.
  CHECK(keySlot("foo") == 12182);
  CHECK(keySlot("bar") == 5061);
  CHECK(keySlot("") == 0);
}

TEST_CASE("hash tags: the first {...} with something inside decides the slot") {
  struct Row {
    std::string_view key;
    std::string_view hashed;  // what the slot must be the slot of
  };
  const Row rows[] = {
      {"{user1000}.following", "user1000"},
      {"{user1000}.followers", "user1000"},
      {"foo{}{bar}", "foo{}{bar}"},        // empty first tag: the whole key
      {"foo{{bar}}zap", "{bar"},           // from the first '{' to the first '}'
      {"foo{bar}{zap}", "bar"},            // only the first tag
      {"foo{bar", "foo{bar"},              // no '}': the whole key
      {"foo}bar{", "foo}bar{"},            // '}' before '{' does not close it
      {"v1:ns:{product:42}", "product:42"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.key);
    CHECK(keySlot(row.key) == crc16(row.hashed) % 16384);
  }
}

TEST_CASE("MOVED and ASK replies are read; anything else is not a redirection") {
  auto moved = parseRedirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK(moved->kind == Redirect::Kind::kMoved);
  CHECK(moved->slot == 3999);
  CHECK(moved->node.host == "127.0.0.1");
  CHECK(moved->node.port == 6381);
  CHECK(moved->node.name() == "127.0.0.1:6381");

  auto ask = parseRedirect("ASK 16383 redis-2.internal:7002");
  REQUIRE(ask);
  CHECK(ask->kind == Redirect::Kind::kAsk);
  CHECK(ask->slot == 16383);
  CHECK(ask->node.host == "redis-2.internal");

  auto v6 = parseRedirect("MOVED 1 ::1:7000");
  REQUIRE(v6);
  CHECK(v6->node.host == "::1");
  CHECK(v6->node.port == 7000);
  CHECK(v6->node.name() == "[::1]:7000");

  for (std::string_view bad :
       {"", "MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 ", "MOVED 16384 127.0.0.1:1", "MOVED -1 h:1",
        "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 :7000",
        "ASK 1 h:1x", "moved 1 h:1", "ERR unknown command", "NOSCRIPT No matching script", "TRYAGAIN",
        "CLUSTERDOWN The cluster is down", "MOVED  1 h:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseRedirect(bad));
  }
}
