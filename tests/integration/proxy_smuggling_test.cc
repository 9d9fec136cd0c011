// Ambiguous or malformed framing (request smuggling vectors, DESIGN invariant
// 10): each gets 400 and a closed connection, and nothing of it reaches the
// upstream. A valid follow-up request on a new connection is then the only
// request the upstream has seen.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "harness/proxy_fixture.h"

namespace larder::test {
namespace {

struct SmugglingCase {
  const char* name;
  std::string request;
};

// Where a body could hide a second request, it does: /smuggled must never
// reach the upstream either.
const std::string kHidden = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

std::vector<SmugglingCase> smugglingCases() {
  using namespace std::string_literals;
  return {
      {"Content-Length together with Transfer-Encoding: chunked",
       "POST /attack HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n" + kHidden},
      {"two different Content-Length values",
       "POST /attack HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " +
           std::to_string(kHidden.size()) + "\r\n\r\n" + kHidden},
      {"two different Content-Length values in one field",
       "POST /attack HTTP/1.1\r\nHost: x\r\nContent-Length: 0, " + std::to_string(kHidden.size()) + "\r\n\r\n" +
           kHidden},
      {"non-numeric Content-Length",
       "POST /attack HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n" + kHidden},
      {"bare LF line ends",
       "GET /attack HTTP/1.1\nHost: x\nX-A: 1\n\n"},
      {"obsolete line folding",
       "GET /attack HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n"},
      {"invalid chunk size",
       "POST /attack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
      {"Transfer-Encoding: xchunked",
       "POST /attack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"Transfer-Encoding: chunked, chunked",
       "POST /attack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"space before the colon",
       "POST /attack HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello"},
      {"NUL byte in a header value",
       "GET /attack HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n"s},
  };
}

TEST_CASE("smuggling vectors get 400, a closed connection, and never reach the upstream") {
  for (const auto& row : smugglingCases()) {
    SUBCASE(row.name) {
      ProxyFixture proxy;
      {
        HttpClient client = proxy.client();
        REQUIRE(client.send(row.request));
        auto response = client.readResponse(5s);
        REQUIRE(response);
        CHECK(response->status == 400);
        CHECK(client.isClosedByPeer(2s));
      }
      // The follow-up shows larder still serves and orders the check: had
      // the attack been forwarded, it would be recorded before this.
      auto follow_up = httpGet(proxy.larder.port(), "/follow-up");
      REQUIRE(follow_up);
      CHECK(follow_up->status == 200);
      auto requests = proxy.upstream.requests();
      CHECK(requests.size() == 1);
      for (const auto& request : requests) CHECK(request.target == "/follow-up");
    }
  }
}

}  // namespace
}  // namespace larder::test
