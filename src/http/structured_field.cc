#include "http/structured_field.h"

namespace larder::http {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool isAlpha(char c) { return isLcAlpha(c) || (c >= 'A' && c <= 'Z'); }

// tchar (RFC 9110 §5.6.2).
bool isTchar(char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool isBase64(char c) { return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '='; }

// One parse over the input; every reader returns false on a syntax error
// and the whole dictionary is then rejected (RFC 8941 §4.2).
class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  std::optional<StructuredDictionary> dictionary() {
    skipSp();
    StructuredDictionary members;
    while (!atEnd()) {
      std::string key;
      if (!parseKey(key)) return std::nullopt;
      StructuredItem item;
      if (peek() == '=') {
        ++pos_;
        if (!parseItemOrInnerList(item)) return std::nullopt;
      } else {
        item.type = StructuredItem::Type::kBoolean;  // bare key: true
        if (!skipParameters()) return std::nullopt;
      }
      put(members, std::move(key), std::move(item));
      skipOws();
      if (atEnd()) return members;
      if (peek() != ',') return std::nullopt;
      ++pos_;
      skipOws();
      if (atEnd()) return std::nullopt;  // a trailing comma
    }
    return members;
  }

 private:
  static void put(StructuredDictionary& members, std::string key, StructuredItem item) {
    for (auto& [existing, value] : members) {
      if (existing == key) {
        value = std::move(item);
        return;
      }
    }
    members.emplace_back(std::move(key), std::move(item));
  }

  bool atEnd() const { return pos_ >= in_.size(); }
  char peek() const { return atEnd() ? '\0' : in_[pos_]; }
  void skipSp() {
    while (!atEnd() && in_[pos_] == ' ') ++pos_;
  }
  void skipOws() {
    while (!atEnd() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
  }

  // key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
  bool parseKey(std::string& out) {
    if (!(isLcAlpha(peek()) || peek() == '*')) return false;
    const size_t start = pos_;
    while (!atEnd()) {
      const char c = in_[pos_];
      if (!(isLcAlpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
      ++pos_;
    }
    out.assign(in_.substr(start, pos_ - start));
    return true;
  }

  bool parseItemOrInnerList(StructuredItem& item) {
    if (peek() != '(') return parseBareItem(item) && skipParameters();
    ++pos_;
    item.type = StructuredItem::Type::kInnerList;
    while (true) {
      skipSp();
      if (peek() == ')') {
        ++pos_;
        return skipParameters();
      }
      StructuredItem member;
      if (!parseBareItem(member) || !skipParameters()) return false;
      if (peek() != ' ' && peek() != ')') return false;
    }
  }

  bool skipParameters() {
    while (peek() == ';') {
      ++pos_;
      skipSp();
      std::string key;
      if (!parseKey(key)) return false;
      if (peek() == '=') {
        ++pos_;
        StructuredItem value;
        if (!parseBareItem(value)) return false;
      }
    }
    return true;
  }

  bool parseBareItem(StructuredItem& item) {
    const char c = peek();
    if (c == '-' || isDigit(c)) return parseNumber(item);
    if (c == '"') return parseString(item);
    if (c == ':') return parseBinary(item);
    if (c == '?') return parseBoolean(item);
    if (isAlpha(c) || c == '*') return parseToken(item);
    return false;
  }

  // sf-integer = ["-"] 1*15DIGIT; sf-decimal = ["-"] 1*12DIGIT "." 1*3DIGIT
  bool parseNumber(StructuredItem& item) {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!isDigit(peek())) return false;
    int64_t integer = 0;
    size_t int_digits = 0;
    while (isDigit(peek())) {
      if (++int_digits > 15) return false;
      integer = integer * 10 + (in_[pos_++] - '0');
    }
    if (peek() != '.') {
      item.type = StructuredItem::Type::kInteger;
      item.integer = negative ? -integer : integer;
      return true;
    }
    if (int_digits > 12) return false;
    ++pos_;
    double fraction = 0;
    double scale = 0.1;
    size_t frac_digits = 0;
    while (isDigit(peek())) {
      if (++frac_digits > 3) return false;
      fraction += (in_[pos_++] - '0') * scale;
      scale /= 10;
    }
    if (frac_digits == 0) return false;
    item.type = StructuredItem::Type::kDecimal;
    item.decimal = (static_cast<double>(integer) + fraction) * (negative ? -1 : 1);
    return true;
  }

  bool parseString(StructuredItem& item) {
    ++pos_;  // DQUOTE
    item.type = StructuredItem::Type::kString;
    while (!atEnd()) {
      const char c = in_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (atEnd() || (peek() != '"' && peek() != '\\')) return false;
        item.text += in_[pos_++];
        continue;
      }
      if (c < 0x20 || c > 0x7e) return false;
      item.text += c;
    }
    return false;  // unterminated
  }

  bool parseToken(StructuredItem& item) {
    item.type = StructuredItem::Type::kToken;
    const size_t start = pos_++;
    while (!atEnd() && (isTchar(in_[pos_]) || in_[pos_] == ':' || in_[pos_] == '/')) ++pos_;
    item.text.assign(in_.substr(start, pos_ - start));
    return true;
  }

  bool parseBinary(StructuredItem& item) {
    ++pos_;  // ':'
    item.type = StructuredItem::Type::kBinary;
    const size_t start = pos_;
    while (!atEnd() && in_[pos_] != ':') {
      if (!isBase64(in_[pos_])) return false;
      ++pos_;
    }
    if (atEnd()) return false;
    item.text.assign(in_.substr(start, pos_ - start));
    ++pos_;
    return true;
  }

  bool parseBoolean(StructuredItem& item) {
    ++pos_;  // '?'
    if (peek() != '0' && peek() != '1') return false;
    item.type = StructuredItem::Type::kBoolean;
    item.boolean = in_[pos_++] == '1';
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<StructuredDictionary> parseStructuredDictionary(std::string_view value) {
  return Parser(value).dictionary();
}

}  // namespace larder::http
