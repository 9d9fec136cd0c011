// BackgroundRefreshes::adopt and ResponseRelay on a real loop (STYLE T4):
// a fill's fetch, started for a client that then goes away, is finished
// by the worker for the fill's readers; destroying the worker's fetches
// mid-flight abandons the fill and leaves nothing behind.
#include "proxy/background_refresh.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "config/loader.h"
#include "net/loop.h"
#include "net/timer.h"
#include "proxy/response_relay.h"
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

// One blocking upstream on its own thread: answers the first request with
// its head at once and its body once released.
class HeldUpstream {
 public:
  explicit HeldUpstream(std::string body) : body_(std::move(body)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    REQUIRE(::listen(listener_, 8) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~HeldUpstream() {
    release();
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void serve() {
    int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    ++accepted_;
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    std::string head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: " +
                       std::to_string(body_.size()) + "\r\n\r\n";
    ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return released_; });
    }
    ::send(fd, body_.data(), body_.size(), MSG_NOSIGNAL);
    ::recv(fd, buffer, sizeof buffer, 0);  // until larder closes or reuses it
    ::close(fd);
  }

  std::string body_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  std::thread thread_;
};

// Records inserts and stores them at once.
class RecordingStore final : public cache::Store {
 public:
  cache::Pending lookup(std::vector<std::string>, std::string, LookupCallback) override { return {}; }
  void insert(cache::InsertRequest request, InsertCallback on_done) override {
    inserted.push_back(request.key);
    if (on_done) on_done(cache::InsertOutcome::kStored);
  }
  cache::Pending invalidate(cache::Invalidation, StatusCallback) override { return {}; }
  cache::Pending remove(std::vector<std::string>, StatusCallback) override { return {}; }
  bool isAvailable() const override { return true; }
  std::string_view name() const override { return "recording"; }
  std::vector<std::string> inserted;
};

// The client side of the fetch before it leaves: begins the capture on
// the head, as Exchange::onUpstreamHead does.
class LeavingClient final : public upstream::ResponseHandler {
 public:
  explicit LeavingClient(proxy::Capture& capture) : capture_(capture) {}
  void onUpstreamHead(http::ResponseHead& head) override {
    heads++;
    capture_.begin("GET", {}, head, base::WallClock::now(), {});
  }
  void onUpstreamBody(std::string_view data) override { capture_.append(data); }
  void onUpstreamComplete() override { completes++; }
  void onUpstreamError(upstream::UpstreamError) override { errors++; }
  int heads = 0, completes = 0, errors = 0;

 private:
  proxy::Capture& capture_;
};

struct Setup {
  explicit Setup(std::string body) : upstream(std::move(body)) {
    auto loaded = config::loadConfigString(
        "upstream: { servers: [127.0.0.1:" + std::to_string(upstream.port()) +
            "], response_timeout: 5s }\nroutes:\n  - match: GET /a\n    ttl: 1h\n",
        "test.yaml");
    REQUIRE(loaded.ok());
    config = loaded.value();
    pool = std::make_unique<upstream::Pool>(loop, config->upstream);
    refreshes = std::make_unique<proxy::BackgroundRefreshes>(*pool, store, coalescer);
    fill = coalescer.join("fill").fill;
  }

  // A capture leading the fill, as Exchange::missed makes it.
  std::unique_ptr<proxy::Capture> capture() {
    auto capture = std::make_unique<proxy::Capture>(store, coalescer);
    proxy::CacheSlot slot;
    slot.config = config;
    slot.route = &config->routes.front();
    slot.entry_key = "entry";
    slot.identity = "GET /a";
    slot.fill_key = "fill";
    slot.fill = fill;
    capture->setSlot(std::move(slot));
    return capture;
  }

  proxy::AdoptedFetch startFetch(upstream::ResponseHandler& client, std::unique_ptr<proxy::Capture> capture) {
    proxy::AdoptedFetch fetch;
    fetch.relay = std::make_unique<proxy::ResponseRelay>(client);
    upstream::OutgoingRequest out;
    out.method = "GET";
    out.head = "GET /a HTTP/1.1\r\nHost: shop\r\n\r\n";
    fetch.upstream = pool->start(std::move(out), *fetch.relay);
    fetch.capture = std::move(capture);
    fetch.request.method = "GET";
    fetch.request.target = "/a";
    fetch.request_time = base::WallClock::now();
    return fetch;
  }

  // The upstream goes last: the loop (before it) closes larder's side of
  // the connection its thread reads from.
  HeldUpstream upstream;
  net::Loop loop;
  config::ConfigPtr config;
  RecordingStore store;
  cache::Coalescer coalescer;
  std::unique_ptr<upstream::Pool> pool;
  std::unique_ptr<proxy::BackgroundRefreshes> refreshes;
  std::shared_ptr<cache::Fill> fill;
};

}  // namespace

TEST_CASE("adopted before the head: the worker's fetch completes the fill and stores it") {
  Setup setup(std::string(10000, 'x'));
  int woken = 0;
  cache::FillWaiter reader(setup.fill, [&] { ++woken; });
  auto capture = setup.capture();
  auto client = std::make_unique<LeavingClient>(*capture);
  proxy::AdoptedFetch fetch = setup.startFetch(*client, std::move(capture));
  // The client leaves at once: the relay is retargeted before any callback.
  setup.refreshes->adopt(std::move(fetch));
  client.reset();
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.refreshes->size() == 0; }));
  cache::Fill::Progress progress = setup.fill->read(0);
  CHECK(progress.state == cache::Fill::State::kComplete);
  CHECK(progress.body == std::string(10000, 'x'));
  CHECK(setup.store.inserted == std::vector<std::string>{"entry"});
  CHECK(setup.upstream.accepted() == 1);
  CHECK(woken >= 2);
}

TEST_CASE("adopted mid-body: the readers get the rest from the same upstream request") {
  Setup setup(std::string(10000, 'y'));
  cache::FillWaiter reader(setup.fill, [] {});
  auto capture = setup.capture();
  proxy::Capture& captured = *capture;
  LeavingClient client(captured);
  proxy::AdoptedFetch fetch = setup.startFetch(client, std::move(capture));
  REQUIRE(runUntil(setup.loop, [&] { return client.heads == 1; }));
  CHECK(captured.isActive());
  setup.refreshes->adopt(std::move(fetch));
  setup.upstream.release();
  REQUIRE(runUntil(setup.loop, [&] { return setup.refreshes->size() == 0; }));
  CHECK(client.completes == 0);  // nothing reached the client after it left
  CHECK(setup.fill->read(0).state == cache::Fill::State::kComplete);
  CHECK(setup.fill->read(0).body.size() == 10000);
  CHECK(setup.store.inserted.size() == 1);
  CHECK(setup.upstream.accepted() == 1);
}

TEST_CASE("destroying the worker's fetches mid-flight abandons the fill and stores nothing") {
  Setup setup(std::string(10000, 'z'));
  cache::FillWaiter reader(setup.fill, [] {});
  auto capture = setup.capture();
  LeavingClient client(*capture);
  proxy::AdoptedFetch fetch = setup.startFetch(client, std::move(capture));
  REQUIRE(runUntil(setup.loop, [&] { return client.heads == 1; }));
  setup.refreshes->adopt(std::move(fetch));
  CHECK(setup.refreshes->size() == 1);
  setup.refreshes.reset();  // e.g. the worker stops
  CHECK(setup.fill->state() == cache::Fill::State::kAbandoned);
  CHECK(setup.coalescer.join("fill").leader);  // a new miss starts afresh
  setup.upstream.release();
  // The cancelled request's connection closes; nothing calls back.
  const auto until = std::chrono::steady_clock::now() + 200ms;
  CHECK_FALSE(runUntil(setup.loop, [&] { return std::chrono::steady_clock::now() >= until + 1s; }, 200ms));
  CHECK(setup.store.inserted.empty());
  CHECK(client.completes == 0);
  CHECK(client.errors == 0);
}

TEST_CASE("ResponseRelay forwards to its current target only") {
  struct Counting final : upstream::ResponseHandler {
    void onUpstreamHead(http::ResponseHead&) override { ++calls; }
    void onUpstreamBody(std::string_view data) override { calls += static_cast<int>(data.size()); }
    void onUpstreamComplete() override { ++calls; }
    void onUpstreamError(upstream::UpstreamError) override { ++calls; }
    int calls = 0;
  } first, second;
  proxy::ResponseRelay relay(first);
  http::ResponseHead head;
  relay.onUpstreamHead(head);
  relay.retarget(second);
  relay.onUpstreamBody("abc");
  relay.onUpstreamComplete();
  CHECK(first.calls == 1);
  CHECK(second.calls == 4);
}
