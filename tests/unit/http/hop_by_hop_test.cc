#include "http/hop_by_hop.h"

#include <doctest/doctest.h>

using namespace larder::http;

TEST_CASE("hop-by-hop names are recognized case-insensitively") {
  struct Row {
    const char* name;
    bool hop;
  };
  const Row rows[] = {
      {"Connection", true},       {"keep-alive", true},      {"TE", true},
      {"Trailer", true},          {"Transfer-Encoding", true}, {"upgrade", true},
      {"Proxy-Authorization", true}, {"proxy-authenticate", true}, {"Proxy-Connection", true},
      {"Proxy-X", true},          {"Host", false},           {"Content-Length", false},
      {"Trailers", false},        {"Proxy", false},          {"Te-X", false},
      {"Authorization", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    CHECK(isHopByHop(row.name) == row.hop);
  }
}

TEST_CASE("removeHopByHop drops hop-by-hop fields and those Connection names") {
  HeaderMap h;
  h.add("Host", "a");
  h.add("Connection", "keep-alive, X-Secret");
  h.add("connection", " x-other ");
  h.add("Keep-Alive", "timeout=5");
  h.add("X-Secret", "1");
  h.add("X-Other", "2");
  h.add("Transfer-Encoding", "chunked");
  h.add("Proxy-Authorization", "Basic abc");
  h.add("Upgrade", "websocket");
  h.add("TE", "trailers");
  h.add("Accept", "*/*");
  removeHopByHop(h);
  REQUIRE(h.size() == 2);
  CHECK(h.fields()[0].name == "Host");
  CHECK(h.fields()[1].name == "Accept");
}

TEST_CASE("removeHopByHop keeps end-to-end fields untouched") {
  HeaderMap h;
  h.add("Cache-Control", "max-age=60");
  h.add("Content-Length", "3");
  removeHopByHop(h);
  CHECK(h.size() == 2);
}
