#include "cache/vary.h"

#include <doctest/doctest.h>

using larder::cache::normalizeVaryValue;

TEST_CASE("RFC 9111 §4.1: varied values match across whitespace, field lines and case where allowed") {
  struct Row {
    const char* name;
    const char* a;
    const char* b;
    bool same;
  };
  const Row rows[] = {
      // Accept-Encoding: a set of codings.
      {"Accept-Encoding", "gzip, br", "br,gzip;q=0.9", true},
      {"accept-encoding", "GZIP", "gzip", true},
      {"Accept-Encoding", "gzip, br;q=0", "gzip", true},
      {"Accept-Encoding", "gzip", "br", false},
      // Accept-Language: language ranges are case-insensitive, order matters.
      {"Accept-Language", "en-US, fr;q=0.5", "en-us,FR; q=0.5", true},
      {"accept-language", "en-US,fr", "en-US, fr", true},
      {"Accept-Language", "en, fr", "fr, en", false},
      {"Accept-Language", "en;q=0.5", "en;q=0.8", false},
      {"Accept-Language", "en, , fr", "en,fr", true},
      // Accept-Charset.
      {"Accept-Charset", "UTF-8 , iso-8859-1;Q=0.5", "utf-8,ISO-8859-1;q=0.5", true},
      // Accept: media ranges and parameter names lower-cased, values kept.
      {"Accept", "Application/JSON; Charset=UTF-8", "application/json;charset=UTF-8", true},
      {"Accept", "text/html;level=A", "text/html;level=a", false},
      {"Accept", "text/html, application/json", "text/html,application/json", true},
      // Unknown fields are keyed as sent.
      {"X-Tenant", "Acme", "acme", false},
      {"X-Tenant", "a, b", "a,b", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    CAPTURE(row.a);
    CAPTURE(row.b);
    CHECK((normalizeVaryValue(row.name, row.a) == normalizeVaryValue(row.name, row.b)) == row.same);
  }
  CHECK(normalizeVaryValue("Accept-Language", "en-US, fr;q=0.5") == "en-us,fr;q=0.5");
}
