#include "store/redis/generation.h"

namespace larder::store {

namespace {

// INFO is nondeterministic: Redis 7 replicates a script's effects, not the
// script, so a replica stores the generation its master computed.
constexpr std::string_view kGenerationLua = R"lua(
local function larder_generation(key, ttl)
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  local generation = string.sub(run_id, 1, 16)
  -- PEXPIRE where SET is not needed: a Redis that refuses writes (full,
  -- store/redis/write_refusal.h) still accepts it, so connections to it
  -- still become ready and serve reads.
  if redis.call('GET', key) == generation then
    redis.call('PEXPIRE', key, ttl)
    return generation, 0
  end
  redis.call('SET', key, generation, 'PX', ttl)
  return generation, 1
end
)lua";

}  // namespace

std::string_view generationLua() { return kGenerationLua; }

const std::string& generationScript() {
  static const std::string script = std::string(kGenerationLua) + R"lua(
local generation, started = larder_generation(KEYS[1], ARGV[1])
return {generation, started}
)lua";
  return script;
}

const std::string& nodeGenerationScript() {
  static const std::string script = R"lua(
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
return {string.sub(run_id, 1, 16), 0}
)lua";
  return script;
}

std::string generationTag(std::string_view generation) {
  std::string tag(generation);
  tag += '/';
  return tag;
}

std::optional<std::string> untagVersion(std::optional<std::string> value, std::string_view tag) {
  if (!value || !value->starts_with(tag)) return std::nullopt;
  value->erase(0, tag.size());
  return value;
}

}  // namespace larder::store
