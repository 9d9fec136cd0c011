// The fields of a compact entry (format versions 5 and 6, cache/entry_codec.h):
// what formats 3 and 4 hold between the body and the trailer, in about half
// the bytes. An entry's head is stored once per entry and read on every hit;
// on a 1 KiB answer it was half the value, and on a gzipped 64 KiB listing
// it was what took the value past Redis's 14 KiB allocation class (issue 13).
//
// Integers are unsigned LEB128 varints (7 bits a byte, low first, the last
// byte nonzero unless it is the only one); str = varint length, then bytes.
//   status, stored_at (ms), ttl (ms), initial_age (s)   varints, ranges as before
//   flags             u8 as in format 3, then decoded_length varint if flagged
//   reason, identity  str
//   header count      varint, then per field:
//     name byte       low 7 bits: 0 = the name follows as str; 1..127 = the
//                     kStoredFieldNames entry, spelt exactly so; bit 7: the
//                     value is an IMF-fixdate, stored as varint seconds since
//                     the epoch (1970 to 2199); else the value is a str
//   version count     varint, then per version:
//     shared          varint: bytes the key shares with the previous key (0 first)
//     rest            str: the key's remaining bytes
//     token           varint n = length << 1 | hex; then `length` bytes, then,
//                     if hex, 16 bytes: 32 lower-case hex digits packed
//                     (created and written tokens end in them, cache/store.h)
//
// One encoding per entry, as for every format: the decoder refuses what the
// encoder would have written otherwise (a longer varint, a literal name in
// the table, a literal date or hex tail it would have packed, a shorter
// shared prefix), so that a decodable value is exactly its re-encoding.
#pragma once

#include <string>
#include <string_view>

namespace larder::cache {

struct Entry;

// Appends `entry`'s fields (all but the body and the tag).
void putCompactFields(std::string& out, const Entry& entry);

// Reads fields written by putCompactFields, exactly the whole of `in`, into
// `entry`; false on anything malformed or not canonical. Never reads out of
// bounds.
bool readCompactFields(std::string_view in, Entry& entry);

}  // namespace larder::cache
