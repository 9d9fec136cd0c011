#include "store/redis/sentinel_watcher.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <charconv>
#include <optional>
#include <string_view>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "store/redis/reply_text.h"

namespace larder::store {

namespace {

struct FreeContext {
  void operator()(redisContext* context) const { redisFree(context); }
};
using Context = std::unique_ptr<redisContext, FreeContext>;
struct FreeReply {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

timeval toTimeval(base::Duration duration) {
  const auto ms = duration.count();
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::optional<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [ptr, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

Reply command(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

Context connectTo(const SentinelEndpoint& sentinel, const SentinelOptions& options) {
  Context context(redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, toTimeval(options.timeout)));
  if (!context || context->err != 0) return nullptr;
  if (redisSetTimeout(context.get(), toTimeval(options.timeout)) != REDIS_OK) return nullptr;
  if (!options.password.empty()) {
    Reply reply = command(context.get(), {"AUTH", options.password});
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      LOG_WARN("redis sentinel {}:{}: AUTH failed", sentinel.host, sentinel.port);
      return nullptr;
    }
  }
  return context;
}

}  // namespace

MasterAddress::Value MasterAddress::get() const {
  std::lock_guard lock(mutex_);
  return value_;
}

bool MasterAddress::set(const std::string& host, uint16_t port) {
  std::lock_guard lock(mutex_);
  if (value_.version != 0 && value_.host == host && value_.port == port) return false;
  const bool first = value_.version == 0;
  value_.host = host;
  value_.port = port;
  value_.version += 1;
  version_.store(value_.version, std::memory_order_release);
  if (first) {
    LOG_INFO("redis sentinel: master at {}:{}", host, port);
  } else {
    base::metrics::redis_master_switches.inc();
    LOG_WARN("redis sentinel: master moved to {}:{}; reconnecting", host, port);
  }
  return true;
}

SentinelWatcher::SentinelWatcher(SentinelOptions options, std::shared_ptr<MasterAddress> master)
    : options_(std::move(options)), master_(std::move(master)) {}

SentinelWatcher::~SentinelWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SentinelWatcher::discover() {
  for (size_t i = 0; i < options_.sentinels.size(); ++i)
    if (query(i)) return true;
  return false;
}

void SentinelWatcher::start() { thread_ = std::thread([this] { run(); }); }

bool SentinelWatcher::waitFor(base::Duration duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stopping_; });
  return !stopping_;
}

bool SentinelWatcher::query(size_t index) {
  const SentinelEndpoint& sentinel = options_.sentinels[index];
  Context context = connectTo(sentinel, options_);
  if (!context) return false;
  Reply reply = command(context.get(), {"SENTINEL", "get-master-addr-by-name", options_.master_name});
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING) {
    LOG_DEBUG("redis sentinel {}:{}: no master named {}", sentinel.host, sentinel.port, options_.master_name);
    return false;
  }
  auto port = parsePort(textOf(reply->element[1]));
  if (!port) return false;
  master_->set(std::string(textOf(reply->element[0])), *port);
  return true;
}

void SentinelWatcher::run() {
  size_t index = 0;
  while (waitFor(base::Duration(0))) {
    follow(index);
    index = (index + 1) % options_.sentinels.size();
    if (!waitFor(base::Duration(200))) return;
  }
}

void SentinelWatcher::follow(size_t index) {
  const SentinelEndpoint& sentinel = options_.sentinels[index];
  // Subscribed first, then asked: a switch between the two is not missed.
  Context subscriber = connectTo(sentinel, options_);
  if (!subscriber) return;
  Reply confirmed = command(subscriber.get(), {"SUBSCRIBE", "+switch-master"});
  if (!confirmed || confirmed->type != REDIS_REPLY_ARRAY) return;
  if (!query(index)) return;
  auto last_query = base::MonoClock::now();
  while (waitFor(base::Duration(0))) {
    pollfd fd{subscriber->fd, POLLIN, 0};
    const int ready = ::poll(&fd, 1, 200);
    if (ready < 0) return;
    if (ready > 0) {
      void* raw = nullptr;
      if (redisGetReply(subscriber.get(), &raw) != REDIS_OK) return;
      Reply message(static_cast<redisReply*>(raw));
      // ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
      if (message && message->type == REDIS_REPLY_ARRAY && message->elements == 3 &&
          message->element[2]->type == REDIS_REPLY_STRING) {
        std::vector<std::string> words;
        std::string_view text = textOf(message->element[2]);
        while (!text.empty()) {
          const size_t space = text.find(' ');
          words.emplace_back(text.substr(0, space));
          text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
        }
        if (words.size() == 5 && words[0] == options_.master_name) {
          if (auto port = parsePort(words[4])) master_->set(words[3], *port);
        }
      }
    }
    // The backstop: a message lost with a sentinel connection is caught here.
    if (base::MonoClock::now() - last_query >= std::chrono::seconds(1)) {
      if (!query(index)) return;
      last_query = base::MonoClock::now();
    }
  }
}

}  // namespace larder::store
