#include "store/redis/cluster_slots.h"

#include <charconv>

namespace larder::store {

uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

uint16_t keySlot(std::string_view key) {
  // The specification's rule: the first '{', then the first '}' after it;
  // an empty tag ("{}") hashes the whole key.
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      return crc16(key.substr(open + 1, close - open - 1)) % kClusterSlots;
  }
  return crc16(key) % kClusterSlots;
}

std::string ClusterNode::name() const {
  // An IPv6 address gets brackets, so the port stays readable.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

template <typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  auto [ptr, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// "host:port", the port after the last ':' (an IPv6 host has colons).
std::optional<ClusterNode> parseNode(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = number<uint16_t>(text.substr(colon + 1));
  if (!port || *port == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return ClusterNode{std::string(host), *port};
}

}  // namespace

std::optional<Redirect> parseRedirect(std::string_view error) {
  // "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>"
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    redirect.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = number<uint16_t>(error.substr(0, space));
  auto node = parseNode(error.substr(space + 1));
  if (!slot || *slot >= kClusterSlots || !node) return std::nullopt;
  redirect.slot = *slot;
  redirect.node = std::move(*node);
  return redirect;
}

std::optional<std::vector<std::pair<ClusterNode, std::vector<std::pair<uint16_t, uint16_t>>>>>
parseClusterSlots(const redisReply* reply, const ClusterNode& answered_by) {
  // Each element: [start, end, [host, port, id, ...] (master), replicas...].
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<std::pair<ClusterNode, std::vector<std::pair<uint16_t, uint16_t>>>> masters;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return std::nullopt;
    const redisReply* start = range->element[0];
    const redisReply* end = range->element[1];
    const redisReply* master = range->element[2];
    if (start->type != REDIS_REPLY_INTEGER || end->type != REDIS_REPLY_INTEGER || start->integer < 0 ||
        end->integer < start->integer || end->integer >= kClusterSlots)
      return std::nullopt;
    if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING || master->element[1]->type != REDIS_REPLY_INTEGER ||
        master->element[1]->integer <= 0 || master->element[1]->integer > 65535)
      return std::nullopt;
    ClusterNode node{std::string(master->element[0]->str, master->element[0]->len),
                     static_cast<uint16_t>(master->element[1]->integer)};
    if (node.host.empty() || node.host == "?") node.host = answered_by.host;
    auto slots = std::pair(static_cast<uint16_t>(start->integer), static_cast<uint16_t>(end->integer));
    bool known = false;
    for (auto& [seen, ranges] : masters) {
      if (seen == node) {
        ranges.push_back(slots);
        known = true;
      }
    }
    if (!known) masters.push_back({std::move(node), {slots}});
  }
  return masters;
}

}  // namespace larder::store
