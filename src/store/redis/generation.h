// Generations: what makes a Redis restarted from an old snapshot harmless
// (issue 16, item 3).
//
// A Redis restarted from its RDB or AOF file comes back with the version
// keys it had when the file was written, so the tokens of entries that a
// later write invalidated come back too, and those entries would be served
// again (DESIGN invariant 3). A generation is one run of one Redis server
// process, named by the first 16 hex digits of its run_id (INFO server),
// which Redis draws at random at every start. Every version value larder
// writes is tagged "<generation>/"; a value of another generation reads as
// absent, so it never matches an entry's token (invariant 4) and is
// replaced as an absent one would be. Entries of an earlier run are thus
// all misses, whatever the snapshot brought back.
//
// The generation key (RedisOptions::generation_key) holds the current
// generation: a connection's handshake runs kGenerationScript, which writes
// it when it holds another (or none); every lookup reads it in its MGET and
// every insert checks it in its script, and a mismatch bypasses the cache
// and re-runs the handshake script on that connection; the invalidation
// script computes the generation itself. Since no command goes on a
// connection before its handshake, and a connection lives within one server
// run, no larder command ever reads a version of an earlier run as current:
// the window in which a pre-restart entry could be served is zero.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace larder::store {

// Lua that defines `larder_generation(key, ttl)`: the current generation
// (written to `key` with `ttl` milliseconds when it held another) and
// whether this call started it. Prepended to the scripts that need it.
std::string_view generationLua();

// The handshake script. KEYS: the generation key; ARGV: its TTL. Returns
// {generation, 1 if it started a generation now else 0}.
const std::string& generationScript();

// The handshake script of a Redis Cluster node: no keys (a key would live
// on one node); returns {the node's generation, 0}.
const std::string& nodeGenerationScript();

// The tag of a version value written in `generation`.
std::string generationTag(std::string_view generation);

// A version value as the cache sees it: without its tag; nullopt when it
// is absent or of another generation.
std::optional<std::string> untagVersion(std::optional<std::string> value, std::string_view tag);

}  // namespace larder::store
