#include "http/cache_control.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <string>

#include "http/structured_field.h"

namespace larder::http {

namespace {

// RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31.
constexpr int64_t kDeltaSecondsMax = int64_t{1} << 31;


std::optional<std::chrono::seconds> parseDeltaSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > kDeltaSecondsMax) value = kDeltaSecondsMax;
  }
  return std::chrono::seconds(value);
}

void setOnce(std::optional<std::chrono::seconds>& slot, std::optional<std::chrono::seconds> value,
             bool& seen) {
  // The first occurrence wins, even a malformed one (RFC 9111 §4.2.1 asks
  // for conservative handling of conflicting directives).
  if (seen) return;
  seen = true;
  slot = value;
}

struct Seen {
  bool max_age = false, s_maxage = false, swr = false, sie = false, min_fresh = false, max_stale = false;
};

// Parses one comma-separated list into `cc`. Values may be tokens or
// quoted-strings; a comma inside quotes does not split.
void parseInto(std::string_view value, CacheControl& cc, Seen& seen) {
  size_t i = 0;
  const size_t n = value.size();
  std::string unquoted;
  while (i < n) {
    while (i < n && (isOws(value[i]) || value[i] == ',')) ++i;
    if (i >= n) break;
    const size_t name_start = i;
    while (i < n && value[i] != '=' && value[i] != ',') ++i;
    std::string_view raw_name = value.substr(name_start, i - name_start);
    std::string_view name = trimOws(raw_name);
    std::optional<std::string_view> arg;
    // "max-age =5" and "max-age= 5" are not the grammar: such a directive
    // is dropped rather than guessed at.
    const bool spaced = i < n && value[i] == '=' &&
                        ((!raw_name.empty() && isOws(raw_name.back())) ||
                         (i + 1 < n && isOws(value[i + 1])));
    if (spaced) name = {};
    if (i < n && value[i] == '=') {
      ++i;
      if (i < n && value[i] == '"') {
        ++i;
        unquoted.clear();
        while (i < n && value[i] != '"') {
          if (value[i] == '\\' && i + 1 < n) ++i;
          unquoted += value[i++];
        }
        if (i < n) ++i;  // closing quote
        arg = std::string_view(unquoted);
        while (i < n && value[i] != ',') ++i;
      } else {
        const size_t arg_start = i;
        while (i < n && value[i] != ',') ++i;
        arg = trimOws(value.substr(arg_start, i - arg_start));
      }
    }
    auto delta = [&]() { return arg ? parseDeltaSeconds(*arg) : std::nullopt; };
    if (equalsIgnoreCase(name, "no-store")) {
      cc.no_store = true;
    } else if (equalsIgnoreCase(name, "no-cache")) {
      // With field names it still means "revalidate"; honouring it as the
      // unqualified form is the conservative reading.
      cc.no_cache = true;
    } else if (equalsIgnoreCase(name, "private")) {
      cc.is_private = true;
    } else if (equalsIgnoreCase(name, "public")) {
      cc.is_public = true;
    } else if (equalsIgnoreCase(name, "must-revalidate")) {
      cc.must_revalidate = true;
    } else if (equalsIgnoreCase(name, "proxy-revalidate")) {
      cc.proxy_revalidate = true;
    } else if (equalsIgnoreCase(name, "no-transform")) {
      cc.no_transform = true;
    } else if (equalsIgnoreCase(name, "only-if-cached")) {
      cc.only_if_cached = true;
    } else if (equalsIgnoreCase(name, "max-age")) {
      setOnce(cc.max_age, delta(), seen.max_age);
    } else if (equalsIgnoreCase(name, "s-maxage")) {
      setOnce(cc.s_maxage, delta(), seen.s_maxage);
    } else if (equalsIgnoreCase(name, "stale-while-revalidate")) {
      setOnce(cc.stale_while_revalidate, delta(), seen.swr);
    } else if (equalsIgnoreCase(name, "stale-if-error")) {
      setOnce(cc.stale_if_error, delta(), seen.sie);
    } else if (equalsIgnoreCase(name, "min-fresh")) {
      setOnce(cc.min_fresh, delta(), seen.min_fresh);
    } else if (equalsIgnoreCase(name, "max-stale")) {
      // RFC 9111 §5.2.1.2: without a value, any staleness is acceptable.
      setOnce(cc.max_stale, arg ? delta() : std::chrono::seconds(kDeltaSecondsMax), seen.max_stale);
    }
  }
}

}  // namespace

CacheControl parseCacheControl(const HeaderMap& headers) {
  CacheControl cc;
  Seen seen;
  for (const Header& h : headers) {
    if (equalsIgnoreCase(h.name, "cache-control")) parseInto(h.value, cc, seen);
  }
  return cc;
}

CacheControl parseCacheControl(std::string_view value) {
  CacheControl cc;
  Seen seen;
  parseInto(value, cc, seen);
  return cc;
}

std::optional<CacheControl> parseTargetedCacheControl(std::string_view value) {
  auto dictionary = parseStructuredDictionary(value);
  if (!dictionary || dictionary->empty()) return std::nullopt;
  CacheControl cc;
  for (const auto& [key, item] : *dictionary) {
    using Type = StructuredItem::Type;
    std::optional<std::chrono::seconds>* delta = nullptr;
    if (key == "max-age") delta = &cc.max_age;
    else if (key == "s-maxage") delta = &cc.s_maxage;
    else if (key == "stale-while-revalidate") delta = &cc.stale_while_revalidate;
    else if (key == "stale-if-error") delta = &cc.stale_if_error;
    if (delta != nullptr) {
      // RFC 9213 §2.1: an Integer; anything else makes the field invalid.
      if (item.type != Type::kInteger || item.integer < 0) return std::nullopt;
      *delta = std::chrono::seconds(std::min(item.integer, kDeltaSecondsMax));
      continue;
    }
    // Directives without an argument are Booleans; no-cache and private may
    // also carry field names (a String or an Inner List), which still mean
    // the directive applies (the conservative reading, as for Cache-Control).
    const bool set = item.type != Type::kBoolean || item.boolean;
    const bool may_list = item.type == Type::kString || item.type == Type::kInnerList;
    bool* flag = nullptr;
    if (key == "no-store") flag = &cc.no_store;
    else if (key == "no-cache") flag = &cc.no_cache;
    else if (key == "private") flag = &cc.is_private;
    else if (key == "public") flag = &cc.is_public;
    else if (key == "must-revalidate") flag = &cc.must_revalidate;
    else if (key == "proxy-revalidate") flag = &cc.proxy_revalidate;
    else if (key == "no-transform") flag = &cc.no_transform;
    if (flag == nullptr) continue;  // an extension directive
    const bool lists_fields = may_list && (key == "no-cache" || key == "private");
    if (item.type != Type::kBoolean && !lists_fields) return std::nullopt;
    *flag = set;
  }
  return cc;
}

namespace {

constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A small cursor over the date text; every reader fails closed.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool literal(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  // Exactly `digits` digits (or, with allow_space_pad, a space then digits-1).
  bool number(int digits, int& out, bool allow_space_pad = false) {
    if (s_.size() < static_cast<size_t>(digits)) return false;
    out = 0;
    for (int i = 0; i < digits; ++i) {
      char c = s_[i];
      if (i == 0 && allow_space_pad && c == ' ') continue;
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    s_.remove_prefix(digits);
    return true;
  }
  bool month(int& out) {
    for (int i = 0; i < 12; ++i) {
      if (literal(kMonths[i])) {
        out = i;
        return true;
      }
    }
    return false;
  }
  bool time(int& h, int& m, int& s) {
    return number(2, h) && literal(":") && number(2, m) && literal(":") && number(2, s);
  }
  bool done() const { return s_.empty(); }
  std::string_view rest() const { return s_; }

 private:
  std::string_view s_;
};

std::optional<base::WallTime> toTime(int year, int mon, int mday, int hour, int min, int sec) {
  if (mday < 1 || mday > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  // system_clock counts nanoseconds: it spans about 1678-2262. Dates beyond
  // are clamped (long past, or as far ahead as it goes), not overflowed:
  // "Expires: ... 9999" still means a very long time.
  year = std::clamp(year, 1900, 2200);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = mday;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const time_t t = timegm(&tm);
  // timegm normalizes "Feb 31" into March: such a date is invalid.
  if (tm.tm_mday != mday || tm.tm_mon != mon) return std::nullopt;
  return base::WallClock::from_time_t(t);
}

}  // namespace

std::optional<base::WallTime> parseHttpDate(std::string_view text) {
  int day = 0, mon = 0, year = 0, hour = 0, min = 0, sec = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  for (std::string_view d : kDays) {
    Cursor c(text);
    if (c.literal(d) && c.literal(", ") && c.number(2, day) && c.literal(" ") && c.month(mon) &&
        c.literal(" ") && c.number(4, year) && c.literal(" ") && c.time(hour, min, sec) &&
        c.literal(" GMT") && c.done()) {
      return toTime(year, mon, day, hour, min, sec);
    }
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  for (std::string_view d : kLongDays) {
    Cursor c(text);
    if (c.literal(d) && c.literal(", ") && c.number(2, day) && c.literal("-") && c.month(mon) &&
        c.literal("-") && c.number(2, year) && c.literal(" ") && c.time(hour, min, sec) &&
        c.literal(" GMT") && c.done()) {
      // RFC 9110 §5.6.7 pivots on the current year; policy code takes no
      // clock, so a fixed pivot is used: 70-99 → 19xx, 00-69 → 20xx.
      year += year < 70 ? 2000 : 1900;
      return toTime(year, mon, day, hour, min, sec);
    }
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  for (std::string_view d : kDays) {
    Cursor c(text);
    if (c.literal(d) && c.literal(" ") && c.month(mon) && c.literal(" ") &&
        c.number(2, day, /*allow_space_pad=*/true) && c.literal(" ") && c.time(hour, min, sec) &&
        c.literal(" ") && c.number(4, year) && c.done()) {
      return toTime(year, mon, day, hour, min, sec);
    }
  }
  return std::nullopt;
}

std::string formatHttpDate(base::WallTime time) {
  std::string out;
  const int64_t seconds = std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  appendHttpDate(out, std::clamp<int64_t>(seconds, 0, kMaxHttpDateSeconds));
  return out;
}

void appendHttpDate(std::string& out, int64_t unix_seconds) {
  char text[kHttpDateLength];
  writeHttpDate(text, unix_seconds);
  out.append(text, kHttpDateLength);
}

void writeHttpDate(char* p, int64_t unix_seconds) {
  const int64_t days = unix_seconds / 86400;
  const int64_t in_day = unix_seconds % 86400;
  // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible
  // Low-Level Date Algorithms"), for days >= 0.
  const int64_t z = days + 719468;
  const int64_t era = z / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;  // 1..12
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const auto two = [](char* to, int64_t v) {
    to[0] = static_cast<char>('0' + v / 10);
    to[1] = static_cast<char>('0' + v % 10);
  };
  std::memcpy(p, kDays[(days + 4) % 7].data(), 3);  // 1970-01-01 was a Thursday
  std::memcpy(p + 3, ", ", 2);
  two(p + 5, day);
  p[7] = ' ';
  std::memcpy(p + 8, kMonths[month - 1].data(), 3);
  p[11] = ' ';
  two(p + 12, year / 100);
  two(p + 14, year % 100);
  p[16] = ' ';
  two(p + 17, in_day / 3600);
  p[19] = ':';
  two(p + 20, in_day / 60 % 60);
  p[22] = ':';
  two(p + 23, in_day % 60);
  std::memcpy(p + 25, " GMT", 4);
}

}  // namespace larder::http
