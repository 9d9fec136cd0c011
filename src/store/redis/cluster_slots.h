// Redis Cluster vocabulary with no I/O (issue 16, item 2): the slot of a
// key, the redirections a node answers with, and the slot map as
// CLUSTER SLOTS describes it. Pure functions, tested against the Redis
// Cluster specification's vectors (tests/unit/store/cluster_slots_test.cc).
#pragma once

#include <hiredis/hiredis.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace larder::store {

inline constexpr uint16_t kClusterSlots = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as in the
// Redis Cluster specification ("123456789" -> 0x31C3).
uint16_t crc16(std::string_view bytes);

// The slot of `key`: CRC16 of its hash tag (the bytes between the first
// '{' and the first '}' after it, when there are any) or of the whole key,
// modulo 16384.
uint16_t keySlot(std::string_view key);

// A node's address as the cluster names it.
struct ClusterNode {
  std::string host;
  uint16_t port = 0;
  std::string name() const;  // "host:port"
  bool operator==(const ClusterNode&) const = default;
};

// A -MOVED or -ASK error reply: the slot now lives at (MOVED), or is being
// imported by (ASK), `node`.
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  uint16_t slot = 0;
  ClusterNode node;
};

// nullopt for any other error text, or a malformed redirection.
std::optional<Redirect> parseRedirect(std::string_view error);

// The master of every slot; an empty name where no node serves it.
using SlotMap = std::array<std::string, kClusterSlots>;

// The masters and their slots from a CLUSTER SLOTS reply; nullopt when it is
// malformed. An empty host (a node that does not know its own address)
// means the node that answered: `answered_by`.
std::optional<std::vector<std::pair<ClusterNode, std::vector<std::pair<uint16_t, uint16_t>>>>>
parseClusterSlots(const redisReply* reply, const ClusterNode& answered_by);

}  // namespace larder::store
