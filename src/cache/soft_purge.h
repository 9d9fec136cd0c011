// Soft purges (issue 15; Varnish's xkey softpurge, Fastly's soft purge): a
// purge that marks a namespace's entries stale instead of invalid. They are
// then served under their stale windows (stale-while-revalidate, and
// stale-if-error) while one fetch refreshes each (proxy/
// fill_fetch.h), so purging a hot namespace does not send every
// client to the upstream at once.
//
// No extra key, no extra read (DESIGN invariant 1): the mark lives in the
// version key's value. A soft invalidation (cache/store.h, Invalidation::
// soft) writes, atomically with reading the key,
//
//     <epoch>.<token>@<mark ms> ~ <previous value, cut to kSoftChainLength heads>
//
// so the value lists, newest first, the heads that only soft purges have
// superseded since the last hard invalidation. An entry whose recorded token
// is not the current value, but whose head is listed there, is still usable
// as an entry that expired at the mark of the head that superseded it.
//
// Invariant 3 holds because only purges may be soft: a write's invalidation
// (and a hard purge) writes a bare "<epoch>.<token>" that lists nothing, so
// every entry recorded before it stops matching, stale windows or not. A
// value this code did not write, or a chain cut short, only lists fewer
// heads: the entries it no longer lists are misses, never wrong answers.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.h"
#include "cache/entry_codec.h"

namespace larder::cache {

// Separates a head from the heads it softly superseded.
inline constexpr char kSoftChainSeparator = '~';
// Separates a soft purge's token from the wall-clock time of its mark.
inline constexpr char kSoftMarkSeparator = '@';
// Heads a soft value lists, its own included: bounds the value's size. An
// entry more than this many soft purges old is a miss.
inline constexpr size_t kSoftChainLength = 8;

// The token a soft purge hands the store: fresh, carrying its mark.
std::string softPurgeToken(base::WallTime mark);

// What a soft invalidation writes to a version key holding `previous`:
// `head` ("<epoch>.<token>"), then `previous`'s heads, kSoftChainLength in
// all. The Redis script (store/redis/redis_store.cc) does the same in Lua.
std::string softVersionValue(std::string_view head, const std::optional<std::string>& previous);

// When `recorded` (a token an entry recorded) was superseded by soft purges
// only, as `current` (the version key's value now) lists it: the mark of
// the first of them. nullopt when `current` does not list it, or lists it
// under a head without a mark.
std::optional<base::WallTime> softlySupersededAt(std::string_view recorded, std::string_view current);

// An entry a soft purge marked at `mark` is no longer fresh: it expired at
// the mark, or now when the mark lies ahead (another host's clock), and
// never later than it already did. Its stale windows count from there.
void expireAtSoftMark(Entry& entry, base::WallTime mark, base::WallTime now);

}  // namespace larder::cache
