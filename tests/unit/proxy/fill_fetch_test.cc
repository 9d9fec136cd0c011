// FillFetch on a real loop (STYLE T4), with the memory store and a tiny
// upstream on its own thread: readers come and go, the fetch belongs to none
// of them; destroying the fetch, a reader or the upstream connection
// mid-flight leaves nothing behind.
#include "proxy/fill_fetch.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/metric_catalog.h"
#include "common/reserved_port.h"
#include "config/loader.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/memory/memory_store.h"
#include "upstream/pool.h"

using namespace larder;
using namespace std::chrono_literals;

namespace {

bool runUntil(net::Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
  net::Timer tick(loop);
  tick.startRepeating(5ms, [] {});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  return true;
}

// One upstream on its own thread, on a reserved port: answers each request
// with `head` at once, then the first half of `body`, then (once released)
// the rest, or a reset instead when `reset_mid_body`.
class ScriptedUpstream {
 public:
  ScriptedUpstream(std::string head, std::string body, bool reset_mid_body = false)
      : head_(std::move(head)), body_(std::move(body)), reset_(reset_mid_body) {
    port_ = test::reservePort();
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port_);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedUpstream() {
    release();
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void serve() {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    ++requests_;
    const size_t half = body_.size() / 2;
    std::string first = head_ + body_.substr(0, half);
    ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return released_; });
    }
    if (reset_) {
      struct linger abort_on_close {1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
      ::close(fd);
      return;
    }
    ::send(fd, body_.data() + half, body_.size() - half, MSG_NOSIGNAL);
    ::recv(fd, buffer, sizeof buffer, 0);  // until larder closes or reuses it
    ::close(fd);
  }

  std::string head_;
  std::string body_;
  bool reset_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  std::thread thread_;
};

std::string storableHead(size_t length) {
  return "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
}

std::string unstorableHead(size_t length) {
  return "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
}

struct FetchSetup {
  FetchSetup(std::string head, std::string body, bool reset_mid_body = false)
      : upstream(std::move(head), std::move(body), reset_mid_body) {
    auto loaded = config::loadConfigString(
        "upstream: { servers: [127.0.0.1:" + std::to_string(upstream.port()) +
            "], response_timeout: 5s }\nroutes:\n  - match: GET /a\n    ttl: 1h\n",
        "test.yaml");
    REQUIRE(loaded.ok());
    config = loaded.value();
    pool = std::make_unique<upstream::Pool>(loop, config->upstream);
    fetches = std::make_unique<proxy::FillFetches>(
        proxy::FillFetchContext{loop, queue, *pool, store, coalescer, vary_memo, surrogate_memo, nullptr});
    fill = coalescer.join("fill").fill;
  }
  ~FetchSetup() { queue.close(); }

  // As Exchange::startFill makes it; `first_reader` 0 is a background refresh.
  void start(cache::Fill::WaiterId first_reader) {
    proxy::FillRequest request;
    request.slot.config = config;
    request.slot.route = &config->routes.front();
    request.slot.entry_key = "entry";
    request.slot.identity = "GET shop /a";
    request.slot.fill_key = "fill";
    request.slot.fill = fill;
    request.request.method = "GET";
    request.request.target = "/a";
    request.request.version_minor = 1;
    request.request.headers.add("Host", "shop");
    request.primary_key = "entry";
    request.keyed_method = "GET";
    request.host = "shop";
    request.target = *http::parseTarget("/a");
    request.first_reader = first_reader;
    fetches->start(std::move(request));
  }

  bool stored() {
    std::optional<bool> found;
    cache::Pending pending = store.lookup({}, "entry", [&](cache::LookupResult&& result) {
      found = result.status == cache::StoreStatus::kOk && result.entry.has_value();
    });
    REQUIRE(runUntil(loop, [&] { return found.has_value(); }));
    return *found;
  }

  // The upstream goes last: the loop (before it) closes larder's side of
  // the connection its thread reads from.
  ScriptedUpstream upstream;
  net::Loop loop;
  net::CrossThreadQueue queue{loop};
  config::ConfigPtr config;
  store::MemoryStore store{loop, std::make_shared<store::MemoryBackend>(16 << 20)};
  cache::Coalescer coalescer;
  cache::VaryMemo vary_memo;
  cache::SurrogateMemo surrogate_memo;
  std::unique_ptr<upstream::Pool> pool;
  std::unique_ptr<proxy::FillFetches> fetches;
  std::shared_ptr<cache::Fill> fill;
};

}  // namespace

TEST_CASE("a fill-fetch with no reader (a background refresh) finishes and stores a storable answer") {
  FetchSetup setup(storableHead(10000), std::string(10000, 'a'));
  setup.start(0);
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  cache::Fill::Progress progress = setup.fill->read(0);
  CHECK(progress.state == cache::Fill::State::kComplete);
  CHECK(progress.body == std::string(10000, 'a'));
  CHECK(setup.stored());
  CHECK(setup.upstream.requests() == 1);
}

TEST_CASE("the reader that caused the fetch leaves before the head: the fetch goes on and stores") {
  FetchSetup setup(storableHead(10000), std::string(10000, 'b'));
  const int64_t adopted = base::metrics::fills_adopted.value();
  auto first = std::make_unique<cache::FillWaiter>(setup.fill, [] {});
  int woken = 0;
  cache::FillWaiter other(setup.fill, [&] { ++woken; });
  setup.start(first->id());
  first.reset();
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  CHECK(base::metrics::fills_adopted.value() == adopted + 1);
  cache::Fill::Progress progress = setup.fill->read(0, SIZE_MAX, other.id());
  CHECK(progress.state == cache::Fill::State::kComplete);
  CHECK(progress.body.size() == 10000);
  CHECK(woken >= 2);
  CHECK(setup.stored());
}

TEST_CASE("every reader leaves mid-body of a storable answer: finished for the store") {
  FetchSetup setup(storableHead(20000), std::string(20000, 'c'));
  auto first = std::make_unique<cache::FillWaiter>(setup.fill, [] {});
  setup.start(first->id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  first.reset();
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  CHECK(setup.fill->state() == cache::Fill::State::kComplete);
  CHECK(setup.stored());
}

TEST_CASE("an answer refused at its head goes to the first reader alone; the others fetch for themselves") {
  FetchSetup setup(unstorableHead(20000), std::string(20000, 'd'));
  cache::FillWaiter first(setup.fill, [] {});
  cache::FillWaiter other(setup.fill, [] {});
  setup.start(first.id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  CHECK(setup.fill->read(0, SIZE_MAX, other.id()).state == cache::Fill::State::kAbandoned);
  CHECK(setup.coalescer.join("fill").leader);  // new misses start afresh
  setup.upstream.release();
  std::string body;
  REQUIRE(runUntil(setup.loop, [&] {
    cache::Fill::Progress progress = setup.fill->read(body.size(), SIZE_MAX, first.id());
    body += progress.body;
    return progress.state == cache::Fill::State::kComplete && body.size() == progress.end;
  }));
  CHECK(body == std::string(20000, 'd'));
  CHECK(setup.fill->read(0, SIZE_MAX, first.id()).head->refusal == "no_store");
  CHECK_FALSE(setup.stored());
}

TEST_CASE("no reader left for an unstored answer: the fetch is cancelled") {
  FetchSetup setup(unstorableHead(20000), std::string(20000, 'e'));
  auto first = std::make_unique<cache::FillWaiter>(setup.fill, [] {});
  setup.start(first->id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  first.reset();  // the one reader of a private answer leaves
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  CHECK(setup.fill->state() == cache::Fill::State::kAbandoned);
  CHECK_FALSE(setup.stored());
}

TEST_CASE("one reader leaves while another remains: the other gets the whole answer") {
  FetchSetup setup(storableHead(20000), std::string(20000, 'f'));
  auto first = std::make_unique<cache::FillWaiter>(setup.fill, [] {});
  cache::FillWaiter other(setup.fill, [] {});
  setup.start(first->id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  first.reset();
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  cache::Fill::Progress progress = setup.fill->read(0, SIZE_MAX, other.id());
  CHECK(progress.state == cache::Fill::State::kComplete);
  CHECK(progress.body == std::string(20000, 'f'));
}

TEST_CASE("destroying the fill-fetch mid-flight abandons the fill and stores nothing") {
  FetchSetup setup(storableHead(20000), std::string(20000, 'g'));
  cache::FillWaiter reader(setup.fill, [] {});
  setup.start(reader.id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  setup.fetches.reset();  // e.g. the worker stops
  CHECK(setup.fill->state() == cache::Fill::State::kAbandoned);
  CHECK(setup.coalescer.join("fill").leader);
  setup.upstream.release();
  // The cancelled request's connection closes; nothing calls back.
  CHECK_FALSE(runUntil(setup.loop, [] { return false; }, 200ms));
  CHECK_FALSE(setup.stored());
}

TEST_CASE("destroying a reader mid-flight, its notification still queued, leaves nothing behind") {
  FetchSetup setup(storableHead(20000), std::string(20000, 'h'));
  // A reader as an Exchange makes it: woken through the worker's queue,
  // guarded by its liveness token (proxy/exchange_cache.cc waitForFill).
  struct Reader {
    net::LivenessToken liveness;
    cache::FillWaiter waiter;
    int woken = 0;
  };
  auto reader = std::make_unique<Reader>();
  Reader* raw = reader.get();
  reader->waiter = cache::FillWaiter(
      setup.fill, [queue = setup.queue.sender(), owner = reader->liveness.ref(), raw] {
        queue.post(owner, [raw] { ++raw->woken; });
      });
  cache::FillWaiter other(setup.fill, [] {});
  setup.start(reader->waiter.id());
  // The head's notification is posted; the reader goes before it runs.
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  reader.reset();
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  CHECK(setup.fill->read(0, SIZE_MAX, other.id()).body.size() == 20000);
  CHECK(setup.stored());
}

TEST_CASE("the upstream connection reset mid-body: readers see the fill failed (502), nothing stored") {
  FetchSetup setup(storableHead(20000), std::string(20000, 'i'), /*reset_mid_body=*/true);
  cache::FillWaiter reader(setup.fill, [] {});
  setup.start(reader.id());
  REQUIRE(runUntil(setup.loop, [&] { return setup.fill->state() == cache::Fill::State::kStreaming; }));
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.fetches->size() == 0; }));
  cache::Fill::Progress progress = setup.fill->read(0, SIZE_MAX, reader.id());
  CHECK(progress.state == cache::Fill::State::kAbandoned);
  CHECK(progress.failed_status == 502);
  CHECK_FALSE(setup.stored());
  CHECK(setup.coalescer.join("fill").leader);
}

// The fetch ends inside its upstream's last callback and is destroyed on a
// later turn (net::Graveyard): its reader leaving in the same turn, from
// the wake-up the completion posted, reaches a stopped fetch (ASan: no use
// after free), and the fetch is gone from its owner at once.
TEST_CASE("a fill finishing while its last reader leaves: the reader's leaving reaches a stopped fetch") {
  for (bool storable : {true, false}) {
    CAPTURE(storable);
    const std::string body(20000, storable ? 'j' : 'k');
    FetchSetup setup(storable ? storableHead(body.size()) : unstorableHead(body.size()), body);
    struct Reader {
      net::LivenessToken liveness;
      cache::FillWaiter waiter;
      std::string body;
    };
    auto reader = std::make_unique<Reader>();
    Reader* raw = reader.get();
    bool left = false;
    size_t fetches_when_left = SIZE_MAX;
    reader->waiter = cache::FillWaiter(
        setup.fill, [&, queue = setup.queue.sender(), owner = reader->liveness.ref(), raw] {
          queue.post(owner, [&, raw] {
            cache::Fill::Progress progress = setup.fill->read(raw->body.size(), SIZE_MAX, raw->waiter.id());
            raw->body += progress.body;
            if (progress.state != cache::Fill::State::kComplete || raw->body.size() != progress.end) return;
            fetches_when_left = setup.fetches->size();
            left = true;
            reader.reset();  // leaves with the fill's last byte: the hook posts to the fetch
          });
        });
    setup.start(reader->waiter.id());
    setup.upstream.release();
    REQUIRE(runUntil(setup.loop, [&] { return left; }));
    CHECK(fetches_when_left == 0);  // ended already; destroyed on a later turn
    CHECK_FALSE(runUntil(setup.loop, [] { return false; }, 50ms));  // what the leaving posted is dropped
    CHECK(setup.fetches->size() == 0);
    CHECK(setup.stored() == storable);
  }
}
