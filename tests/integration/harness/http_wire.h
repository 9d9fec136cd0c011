// HTTP/1.1 wire helpers shared by FakeUpstream and HttpClient: header lists
// that keep order and original case, reading a message head, and decoding a
// chunked body. They are deliberately lenient (they record what arrives) so
// that tests can see exactly what larder sent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/socket_io.h"

namespace larder::test {

// Header fields in arrival order, names in their original case.
using Headers = std::vector<std::pair<std::string, std::string>>;

bool equalsIgnoreCase(std::string_view a, std::string_view b);
// The first value of the named field (case-insensitive), or "" if absent.
std::string headerValue(const Headers& headers, std::string_view name);
bool hasHeader(const Headers& headers, std::string_view name);
std::vector<std::string> headerValues(const Headers& headers, std::string_view name);
// True if a comma-separated list value of the named field holds token.
bool headerHasToken(const Headers& headers, std::string_view name, std::string_view token);

struct MessageHead {
  std::string start_line;  // without its line end
  Headers headers;
  std::string raw;         // every byte of the head, final empty line included
};

// Reads a request or response head. Header lines are split at the first
// colon, the value trimmed of SP/HTAB; a line that starts with SP/HTAB is
// appended to the previous value (obsolete folding, recorded as received).
IoStatus readHead(StreamReader& reader, MessageHead& head, Deadline deadline, size_t max_size);

// Decodes a chunked body, passing the data to sink. Trailer fields are read
// and appended to trailers if given. kMalformed on a bad chunk size or
// missing CRLF after the data.
IoStatus readChunkedBody(StreamReader& reader, Deadline deadline, const Sink& sink,
                         Headers* trailers = nullptr);

// The longest head either side reads.
inline constexpr size_t kMaxHeadSize = 1024 * 1024;

// 1xx, 204 and 304 answers end at their head (RFC 9112 §6.3).
inline bool isBodylessStatus(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// "1a;ext" -> 26. False if not a hex number.
bool parseChunkSize(std::string_view line, uint64_t& size);

}  // namespace larder::test
