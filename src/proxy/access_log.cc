#include "proxy/access_log.h"

#include <fmt/format.h>

namespace larder::proxy {
namespace {

// RFC 8259 §7: quote, backslash and control characters are escaped. Bytes
// above 0x7f (a target may carry them unencoded) become \u00XX, so every
// line is valid JSON whatever the client sent.
void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\u{:04x}", byte);
    } else {
      out += c;
    }
  }
  out += '"';
}

// The text format quotes the route name (it has a space); a quote or
// backslash in it is escaped so the field stays one token.
void appendQuoted(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string formatText(const AccessRecord& r) {
  std::string upstream = r.upstream_seconds < 0 ? "-" : fmt::format("{:.3f}", r.upstream_seconds);
  std::string out = fmt::format("{} {} \"{} {} HTTP/1.{}\" {} {} upstream={} cache={} route=", r.time,
                                r.client, r.method, r.target, r.version_minor, r.status, r.bytes,
                                upstream, r.cache);
  appendQuoted(out, r.route);
  out += fmt::format(" time={:.3f}", r.total_seconds);
  if (!r.shadow.empty()) out += fmt::format(" shadow={}", r.shadow);
  return out;
}

std::string formatJson(const AccessRecord& r) {
  std::string out;
  out.reserve(256);
  auto field = [&](std::string_view name, std::string_view value) {
    out += out.empty() ? "{" : ",";
    appendJsonString(out, name);
    out += ':';
    appendJsonString(out, value);
  };
  auto raw = [&](std::string_view name, const std::string& value) {
    out += ',';
    appendJsonString(out, name);
    out += ':';
    out += value;
  };
  field("time", r.time);
  field("client", r.client);
  field("method", r.method);
  field("target", r.target);
  field("protocol", fmt::format("HTTP/1.{}", r.version_minor));
  raw("status", std::to_string(r.status));
  raw("bytes", std::to_string(r.bytes));
  raw("upstream", r.upstream_seconds < 0 ? std::string("null") : fmt::format("{:.3f}", r.upstream_seconds));
  field("cache", r.cache);
  field("route", r.route);
  if (!r.shadow.empty()) field("shadow", r.shadow);
  raw("duration", fmt::format("{:.3f}", r.total_seconds));
  out += '}';
  return out;
}

}  // namespace

std::string formatAccessLine(const AccessRecord& record, config::LogConfig::AccessFormat format) {
  return format == config::LogConfig::AccessFormat::kJson ? formatJson(record) : formatText(record);
}

}  // namespace larder::proxy
