// Freshness as the wire states it: Age (RFC 9111 §5.1, §4.2.3) and
// Cache-Control parsing (RFC 9111 §5.2), invalid Expires (§5.3).
#include "rfc_support.h"

namespace larder::test {
namespace {

TEST_CASE("RFC 9111 §5.1: Age counts against freshness; an invalid Age is ignored") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory}) {
    checkReuse(mode, {
        {"Age past max-age", "/age/old", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200"}}, false},
        {"Age within max-age", "/age/young", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "60"}}, true},
        {"non-numeric Age", "/age/abc", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "abc"}}, true},
        {"Age with trailing junk", "/age/junk", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200x"}}, true},
        {"Age on two lines", "/age/two", 200,
         {{"Cache-Control", "max-age=3600"}, {"Age", "7200"}, {"Age", "0"}}, true},
        {"Age list", "/age/list", 200, {{"Cache-Control", "max-age=3600"}, {"Age", "7200, 7200"}}, true},
    });
  }
}

TEST_CASE("RFC 9111 §5.2: Cache-Control parsing as the wire shows it") {
  checkReuse(Mode::kMemory, {
      {"quoted max-age", "/cc/quoted", 200, {{"Cache-Control", "max-age=\"3600\""}}, true},
      {"leading zeros", "/cc/zeros", 200, {{"Cache-Control", "max-age=003600"}}, true},
      {"max-age inside a quoted extension", "/cc/ext", 200,
       {{"Cache-Control", "extension=\"max-age=3600\", max-age=0"}}, false},
      {"single quotes", "/cc/single", 200, {{"Cache-Control", "max-age='3600'"}}, false},
      {"space before =", "/cc/space", 200, {{"Cache-Control", "max-age =3600"}}, false},
      {"invalid Expires means expired", "/cc/expires", 200, {{"Expires", "0"}}, false},
      {"Expires without Date", "/cc/nodate", 200, {{"Expires", httpDate(1h)}}, true},
  });
}

}  // namespace
}  // namespace larder::test
