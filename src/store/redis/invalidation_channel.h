// The Redis channel on which every invalidation is announced, so that other
// instances' in-process tiers drop their copies (cache/memory_tier.h). A
// message names the version keys a write or purge changed:
//   <count>\n then, per key, <length>:<key bytes>
// Keys are length-prefixed because a namespace may hold any byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace larder::store {

// The channel of a deployment: instances sharing a key prefix share it.
std::string invalidationChannel(std::string_view key_prefix);

std::string encodeInvalidationMessage(const std::vector<std::string>& version_keys);
// nullopt for anything but a complete, well-formed message (at most
// kMaxKeys keys); a receiver that cannot read one must assume the worst.
std::optional<std::vector<std::string>> decodeInvalidationMessage(std::string_view message);

inline constexpr size_t kMaxInvalidationKeys = 10000;

}  // namespace larder::store
