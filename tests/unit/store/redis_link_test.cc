// RedisLink (store/redis/redis_link.h), the lifecycle RedisConnection and
// RedisSubscriber share, driven by a scripted owner against a real
// redis-server (STYLE T4, T5): handshake order, ready, a lost server and
// the reconnect, AUTH and SELECT failures, the connect timeout when the
// owner's handshake never completes, and stop() with a reconnect pending.
#include "store/redis/redis_link.h"

#include <hiredis/hiredis.h>

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "net/defer.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;
using namespace std::chrono_literals;

namespace {

// An owner whose handshake is one PING: ready on PONG (unless told to
// stall), and which records what the link told it.
struct ScriptedOwner final : store::RedisLink::Owner {
  bool onLinkConnecting(redisAsyncContext* context) override {
    ++connecting;
    if (stall) return true;
    return redisAsyncCommand(context, &ScriptedOwner::onPong, this, "PING") == REDIS_OK;
  }
  void onLinkDown() override { ++down; }

  static void onPong(redisAsyncContext*, void* reply, void* privdata) {
    auto* self = static_cast<ScriptedOwner*>(privdata);
    const auto* typed = static_cast<const redisReply*>(reply);
    if (typed == nullptr || self->link == nullptr) return;
    if (typed->type == REDIS_REPLY_STATUS && std::string_view(typed->str, typed->len) == "PONG")
      self->link->markReady();
    else
      self->link->fail("PING failed");
  }

  store::RedisLink* link = nullptr;
  bool stall = false;
  int connecting = 0;
  int down = 0;
};

struct LinkFixture {
  explicit LinkFixture(std::vector<std::string> server_args = {},
                       std::function<void(store::RedisOptions&)> adjust = {})
      : server(std::move(server_args)) {
    options = testRedisOptions(server.port());
    if (adjust) adjust(options);
  }
  void start() {
    link = std::make_unique<store::RedisLink>(loop, options, owner,
                                              store::RedisLink::Settings{.label = "redis link test"});
    owner.link = link.get();
    link->start();
  }

  RedisServer server;
  net::Loop loop;
  store::RedisOptions options;
  ScriptedOwner owner;
  std::unique_ptr<store::RedisLink> link;
};

}  // namespace

TEST_CASE("link: idle until started; the owner's handshake makes it ready") {
  LinkFixture f;
  f.link = std::make_unique<store::RedisLink>(f.loop, f.options, f.owner, store::RedisLink::Settings{});
  f.owner.link = f.link.get();
  CHECK(f.link->state() == store::RedisLink::State::kIdle);
  runFor(f.loop, 50ms);
  CHECK(f.owner.connecting == 0);
  f.link->start();
  REQUIRE(runUntil(f.loop, [&] { return f.link->isReady(); }, 3s));
  CHECK(f.owner.connecting == 1);
  CHECK(f.owner.down == 0);
  CHECK(f.link->context() != nullptr);
}

TEST_CASE("link: a server that goes away is reported down and reconnected to when back") {
  LinkFixture f;
  f.start();
  REQUIRE(runUntil(f.loop, [&] { return f.link->isReady(); }, 3s));
  f.server.restart();
  REQUIRE(runUntil(f.loop, [&] { return f.owner.down >= 1; }, 3s));
  REQUIRE(runUntil(f.loop, [&] { return f.link->isReady(); }, 5s));
  CHECK(f.owner.connecting >= 2);
}

TEST_CASE("link: AUTH then SELECT go first; a wrong password or database never becomes ready") {
  SUBCASE("right password and database") {
    LinkFixture f({"--requirepass", "s3cret"}, [](store::RedisOptions& options) {
      options.password = "s3cret";
      options.database = 2;
    });
    f.start();
    CHECK(runUntil(f.loop, [&] { return f.link->isReady(); }, 3s));
  }
  SUBCASE("wrong password") {
    LinkFixture f({"--requirepass", "right"},
                  [](store::RedisOptions& options) { options.password = "wrong"; });
    f.start();
    // The PING's error (NOAUTH) or AUTH's own fails the link; it retries.
    REQUIRE(runUntil(f.loop, [&] { return f.owner.down >= 2; }, 3s));
    CHECK_FALSE(f.link->isReady());
  }
  SUBCASE("a database that does not exist") {
    LinkFixture f({}, [](store::RedisOptions& options) { options.database = 99999; });
    f.start();
    // SELECT fails, yet PING answers PONG: the link must not stay ready.
    REQUIRE(runUntil(f.loop, [&] { return f.owner.down >= 2; }, 3s));
    runFor(f.loop, 50ms);
    CHECK(f.owner.down >= 2);
  }
}

TEST_CASE("link: an owner handshake that never completes hits the connect timeout and retries") {
  LinkFixture f;
  f.owner.stall = true;
  f.start();
  REQUIRE(runUntil(f.loop, [&] { return f.owner.down >= 1; }, 2s));
  REQUIRE(runUntil(f.loop, [&] { return f.owner.connecting >= 2; }, 2s));
  CHECK_FALSE(f.link->isReady());
}

TEST_CASE("link: stop() with a teardown posted and a reconnect pending leaves nothing to run") {
  LinkFixture f;
  f.start();
  REQUIRE(runUntil(f.loop, [&] { return f.link->isReady(); }, 3s));
  f.link->fail("test: fail, then stop before the teardown runs");
  CHECK(f.link->state() == store::RedisLink::State::kFailing);
  f.link->stop();
  CHECK(f.link->context() == nullptr);
  runFor(f.loop, 100ms);
  CHECK(f.owner.down == 0);  // the owner asked: nothing is reported back
  CHECK(f.owner.connecting == 1);
  f.link.reset();
  runFor(f.loop, 50ms);
}

TEST_CASE("link: destroyed from its owner's reply callback via destroyLater, never under hiredis") {
  LinkFixture f;
  f.start();
  REQUIRE(runUntil(f.loop, [&] { return f.link->isReady(); }, 3s));
  struct Reply {
    LinkFixture* fixture;
    bool answered = false;
  } reply{&f};
  REQUIRE(redisAsyncCommand(
              f.link->context(),
              [](redisAsyncContext*, void* r, void* privdata) {
                auto* self = static_cast<Reply*>(privdata);
                if (r == nullptr) return;
                self->answered = true;
                self->fixture->owner.link = nullptr;
                // A plain reset() here would free the context inside its own
                // reply callback: hiredis would go on using it.
                net::destroyLater(self->fixture->loop, std::move(self->fixture->link));
              },
              &reply, "PING") == REDIS_OK);
  REQUIRE(runUntil(f.loop, [&] { return reply.answered && f.loop.postedForTest() == 0; }, 3s));
  CHECK(f.link == nullptr);
}
