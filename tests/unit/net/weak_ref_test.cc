// LivenessToken / WeakRef (net/weak_ref.h): a callback that outlives its
// owner sees it gone and does nothing, on a real loop (STYLE T4).
#include "net/weak_ref.h"

#include <memory>

#include <doctest/doctest.h>

#include "net/loop.h"

namespace larder::net {
namespace {

struct Owner {
  int calls = 0;
  LivenessToken liveness;  // last member: dies first
};

TEST_CASE("a posted callback that outlives its owner does not run") {
  Loop loop;
  auto owner = std::make_unique<Owner>();
  Owner* raw = owner.get();
  int ran = 0;
  loop.post(owner->liveness.ref(), [raw, &ran] {
    ++raw->calls;  // would be a use after free under ASan
    ++ran;
  });
  owner.reset();
  loop.run();
  CHECK(ran == 0);
}

TEST_CASE("a posted callback whose owner is alive runs") {
  Loop loop;
  Owner owner;
  loop.post(owner.liveness.ref(), [&owner] { ++owner.calls; });
  loop.run();
  CHECK(owner.calls == 1);
}

TEST_CASE("a reference outlives its token and stays dead; a default one is never alive") {
  WeakRef ref;
  CHECK_FALSE(ref.isAlive());
  {
    LivenessToken token;
    ref = token.ref();
    CHECK(ref.isAlive());
    CHECK(static_cast<bool>(ref));
  }
  CHECK_FALSE(ref.isAlive());
}

TEST_CASE("revoke() kills the references handed out so far, not later ones") {
  LivenessToken token;
  WeakRef before = token.ref();
  token.revoke();
  WeakRef after = token.ref();
  CHECK_FALSE(before.isAlive());
  CHECK(after.isAlive());
}

TEST_CASE("revoke() before any reference, and twice in a row: references taken after are alive") {
  LivenessToken token;
  token.revoke();
  WeakRef first = token.ref();
  CHECK(first.isAlive());
  WeakRef second = token.ref();  // the same token: both die together
  token.revoke();
  token.revoke();
  CHECK_FALSE(first.isAlive());
  CHECK_FALSE(second.isAlive());
  WeakRef third = token.ref();
  CHECK(third.isAlive());
  CHECK_FALSE(first.isAlive());
}

TEST_CASE("guarded() passes its arguments through while the owner lives") {
  int sum = 0;
  auto owner = std::make_unique<LivenessToken>();
  auto add = guarded(owner->ref(), [&sum](int a, int b) { sum += a + b; });
  add(2, 3);
  CHECK(sum == 5);
  owner.reset();
  add(10, 10);
  CHECK(sum == 5);
}

}  // namespace
}  // namespace larder::net
