#include "http/range.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "http/cache_control.h"

namespace larder::http {
namespace {

std::optional<uint64_t> parseDigits(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// If-Range (RFC 9110 §13.1.5): an entity-tag matches by strong comparison
// only; a date matches Last-Modified exactly. Anything else does not match.
bool ifRangeMatches(std::string_view condition, const HeaderMap& response_headers) {
  condition = trimOws(condition);
  if (!condition.empty() && (condition.front() == '"' || condition.substr(0, 2) == "W/")) {
    const std::string* etag = response_headers.find("ETag");
    return etag != nullptr && condition.front() == '"' && trimOws(*etag) == condition;
  }
  const std::string* modified = response_headers.find("Last-Modified");
  if (modified == nullptr) return false;
  const auto wanted = parseHttpDate(condition);
  const auto actual = parseHttpDate(*modified);
  return wanted && actual && *wanted == *actual;
}

}  // namespace

RangeRequest evaluateRange(const HeaderMap& request_headers, const HeaderMap& response_headers,
                           uint64_t length) {
  RangeRequest whole;
  const auto fields = request_headers.findAll("Range");
  if (fields.size() != 1) return whole;  // none, or an ambiguous repeat
  const auto conditions = request_headers.findAll("If-Range");
  if (conditions.size() > 1) return whole;
  if (conditions.size() == 1 && !ifRangeMatches(conditions.front(), response_headers)) return whole;

  std::string_view spec = fields.front();
  constexpr std::string_view kUnit = "bytes=";
  if (spec.size() < kUnit.size() || !equalsIgnoreCase(spec.substr(0, kUnit.size()), kUnit)) return whole;
  spec.remove_prefix(kUnit.size());

  std::vector<ByteRange> satisfiable;
  size_t specs = 0;
  while (true) {
    const size_t comma = spec.find(',');
    const std::string_view item = trimOws(spec.substr(0, comma));
    if (!item.empty()) {
      if (++specs > kMaxRanges) return whole;
      const size_t dash = item.find('-');
      if (dash == std::string_view::npos) return whole;
      const std::string_view first_text = item.substr(0, dash);
      const std::string_view last_text = item.substr(dash + 1);
      if (first_text.empty()) {
        // suffix-range: the last N bytes.
        const auto suffix = parseDigits(last_text);
        if (!suffix) return whole;
        if (*suffix > 0 && length > 0)
          satisfiable.push_back({length - std::min(*suffix, length), length - 1});
      } else {
        const auto first = parseDigits(first_text);
        std::optional<uint64_t> last;
        if (!last_text.empty()) last = parseDigits(last_text);
        if (!first || (!last_text.empty() && !last)) return whole;
        if (last && *last < *first) return whole;  // an invalid range-spec (§14.1.1)
        if (*first < length) satisfiable.push_back({*first, std::min(last.value_or(length - 1), length - 1)});
      }
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  if (specs == 0) return whole;
  RangeRequest result;
  if (satisfiable.empty()) {
    result.kind = RangeRequest::Kind::kUnsatisfiable;
    return result;
  }
  // Overlapping and adjacent ranges become one (§14.2 allows coalescing).
  std::sort(satisfiable.begin(), satisfiable.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  for (const ByteRange& range : satisfiable) {
    if (!result.ranges.empty() && range.first <= result.ranges.back().last + 1) {
      result.ranges.back().last = std::max(result.ranges.back().last, range.last);
    } else {
      result.ranges.push_back(range);
    }
  }
  result.kind = RangeRequest::Kind::kPartial;
  return result;
}

int applyRange(const HeaderMap& request_headers, int status, HeaderMap& headers, std::string& body,
               std::string_view boundary) {
  if (status != 200) return status;
  const RangeRequest request = evaluateRange(request_headers, headers, body.size());
  switch (request.kind) {
    case RangeRequest::Kind::kWhole:
      return status;
    case RangeRequest::Kind::kUnsatisfiable:
      headers.set("Content-Range", fmt::format("bytes */{}", body.size()));
      body.clear();
      return 416;
    case RangeRequest::Kind::kPartial:
      break;
  }
  if (request.ranges.size() == 1) {
    const ByteRange& range = request.ranges.front();
    headers.set("Content-Range", contentRange(range, body.size()));
    body = body.substr(range.first, range.size());
    return 206;
  }
  const std::string content_type = headers.joined("Content-Type");
  body = multipartByteranges(body, request.ranges, content_type, boundary);
  headers.set("Content-Type", fmt::format("multipart/byteranges; boundary={}", boundary));
  return 206;
}

std::string contentRange(const ByteRange& range, uint64_t length) {
  return fmt::format("bytes {}-{}/{}", range.first, range.last, length);
}

std::string multipartByteranges(std::string_view body, const std::vector<ByteRange>& ranges,
                                std::string_view content_type, std::string_view boundary) {
  std::string out;
  size_t total = 0;
  for (const ByteRange& range : ranges) total += range.size() + 128 + content_type.size();
  out.reserve(total);
  for (const ByteRange& range : ranges) {
    out += "\r\n--";
    out += boundary;
    out += "\r\n";
    if (!content_type.empty()) {
      out += "Content-Type: ";
      out += content_type;
      out += "\r\n";
    }
    out += "Content-Range: ";
    out += contentRange(range, body.size());
    out += "\r\n\r\n";
    out += body.substr(range.first, range.size());
  }
  out += "\r\n--";
  out += boundary;
  out += "--\r\n";
  return out;
}

}  // namespace larder::http
