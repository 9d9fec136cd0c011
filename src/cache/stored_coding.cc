#include "cache/stored_coding.h"

#include "cache/revalidation.h"
#include "http/cache_control.h"

namespace larder::cache {
namespace {

// Content-Encoding may arrive as several field lines (RFC 9110 §5.3).
std::string contentEncoding(const http::HeaderMap& headers) {
  std::string joined;
  for (std::string_view value : headers.findAll("Content-Encoding")) {
    if (!joined.empty()) joined += ", ";
    joined += value;
  }
  return joined;
}

// RFC 9110 §8.8.3: W/ marks a weak validator.
void weakenEtag(Entry& entry) {
  const std::string* etag = entry.headers.find("ETag");
  if (etag == nullptr || etag->empty() || etag->front() != '"') return;
  entry.headers.set("ETag", "W/" + *etag);
  entry.etag_weakened = true;
}

constexpr std::string_view kAddedVary = "Accept-Encoding";

void varyOnAcceptEncoding(http::HeaderMap& headers) {
  if (headers.hasToken("Vary", "accept-encoding") || headers.hasToken("Vary", "*")) return;
  headers.add("Vary", std::string(kAddedVary));
}

}  // namespace

Coding storedCoding(const Entry& entry) {
  if (!entry.decoded_length) return Coding::kIdentity;
  return parseCoding(contentEncoding(entry.headers));
}

StoreCodingResult codeForStore(Entry& entry, const config::CacheConfig& cache) {
  StoreCodingResult result;
  if (entry.decoded_length) {
    if (entry.coded_here) {
      weakenEtag(entry);
      varyOnAcceptEncoding(entry.headers);
    }
    return result;
  }
  const Coding coding = parseCoding(contentEncoding(entry.headers));
  if (coding == Coding::kOther) return result;  // a coding larder cannot decode: as it came
  if (coding != Coding::kIdentity) {
    // As it came, once it is known to decode within the bound.
    Decoded decoded = decompress(coding, entry.body, cache.max_object_size);
    if (decoded.error != DecodeError::kNone) {
      result.store = false;
      result.refusal = decoded.error == DecodeError::kTooBig ? "coding_too_big" : "coding_corrupt";
      return result;
    }
    entry.decoded_length = decoded.body.size();
    return result;
  }
  const config::CompressionConfig& compression = cache.compression;
  if (compression.algorithm == config::CompressionConfig::Algorithm::kOff || entry.status == 206 ||
      entry.body.size() < compression.min_size || entry.body.empty())
    return result;
  const std::string* type = entry.headers.find("Content-Type");
  if (type == nullptr || !isCompressibleType(*type, compression.types)) return result;
  if (http::parseCacheControl(entry.headers).no_transform) return result;
  const Coding target = compression.algorithm == config::CompressionConfig::Algorithm::kZstd ? Coding::kZstd : Coding::kGzip;
  std::optional<std::string> packed = compress(target, entry.body, compression.level);
  // Not worth it when nothing is saved (already dense data sent as text).
  if (!packed || packed->size() >= entry.body.size()) return result;
  entry.decoded_length = entry.body.size();
  entry.coded_here = true;
  entry.body = std::move(*packed);
  entry.headers.remove("Content-Encoding");
  entry.headers.add("Content-Encoding", std::string(codingName(target)));
  if (entry.headers.has("Content-Length")) entry.headers.set("Content-Length", std::to_string(entry.body.size()));
  weakenEtag(entry);
  varyOnAcceptEncoding(entry.headers);
  result.compressed = true;
  return result;
}

ServedForm servedForm(const Entry& entry, const http::HeaderMap& request_headers) {
  const Coding coding = storedCoding(entry);
  if (coding == Coding::kIdentity || coding == Coding::kOther) return ServedForm::kAsStored;
  // Ranges apply to the identity form: one answer per range whichever the
  // client's codings (a byte range of gzip bytes is useless to most), cut
  // from the whole decoded body.
  if (request_headers.has("Range")) return ServedForm::kDecodeWhole;
  if (acceptsCoding(request_headers, codingName(coding))) return ServedForm::kAsStored;
  const bool large = entry.decoded_length.has_value() && *entry.decoded_length >= kDecodeWhileSendingFrom;
  return large ? ServedForm::kDecodeWhileSending : ServedForm::kDecodeWhole;
}

DecodeError toIdentityForm(Entry& entry, uint64_t limit) {
  const Coding coding = storedCoding(entry);
  if (coding == Coding::kIdentity || coding == Coding::kOther) return DecodeError::kNone;
  // The length recorded at store time bounds the work, and must match.
  if (*entry.decoded_length > limit) return DecodeError::kTooBig;
  Decoded decoded = decompress(coding, entry.body, *entry.decoded_length);
  if (decoded.error != DecodeError::kNone) return decoded.error;
  if (decoded.body.size() != *entry.decoded_length) return DecodeError::kCorrupt;
  entry.body = std::move(decoded.body);
  toIdentityFields(entry);
  entry.decoded_length.reset();
  entry.coded_here = false;
  return DecodeError::kNone;
}

void toIdentityFields(Entry& entry) {
  entry.headers.remove("Content-Encoding");
  if (entry.headers.has("Content-Length"))
    entry.headers.set("Content-Length", std::to_string(entry.decoded_length.value_or(entry.body.size())));
  // The identity form is the upstream's own: so is its strong ETag.
  const std::string* etag = entry.headers.find("ETag");
  if (entry.etag_weakened && etag != nullptr && etag->rfind("W/", 0) == 0)
    entry.headers.set("ETag", etag->substr(2));
  entry.etag_weakened = false;
}

void setUpstreamValidators(const Entry& stale, http::HeaderMap& request_headers) {
  setValidators(stale.headers, request_headers);
  if (!stale.etag_weakened) return;
  const std::string* tag = request_headers.find("If-None-Match");
  if (tag != nullptr && tag->rfind("W/", 0) == 0) request_headers.set("If-None-Match", tag->substr(2));
}

void removeAddedVary(const Entry& entry, http::HeaderMap& headers) {
  if (!entry.coded_here) return;
  auto& fields = headers.fields();
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (http::equalsIgnoreCase(it->name, "Vary") && http::equalsIgnoreCase(http::trimOws(it->value), kAddedVary)) {
      fields.erase(it);
      return;
    }
  }
}

}  // namespace larder::cache
