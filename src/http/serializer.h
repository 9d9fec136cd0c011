// Message heads and chunk framing to wire bytes. Appends to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/header_map.h"

namespace larder::http {

// "METHOD target HTTP/1.1\r\n" + fields + "\r\n". Always HTTP/1.1 upstream.
void appendRequestHead(std::string_view method, std::string_view target, const HeaderMap& headers,
                       std::string& out);
// "HTTP/1.<minor> status reason\r\n" + fields + "\r\n".
void appendResponseHead(int version_minor, int status, std::string_view reason,
                        const HeaderMap& headers, std::string& out);
void appendHeaders(const HeaderMap& headers, std::string& out);
// The standard reason phrase, or "Unknown".
std::string_view reasonPhrase(int status);
// "<hex size>\r\n"; the caller sends the data and then "\r\n".
void appendChunkHeader(uint64_t size, std::string& out);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace larder::http
