#include "service/common/strict_json.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "service/common/status_macros.h"
#include "service/common/utf8.h"

namespace logout::common {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxEchoedKeyBytes = 40;
constexpr absl::string_view kBom = "\xEF\xBB\xBF";

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }
bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Hex4 spells `value` in upper-case hex with at least four digits.
std::string Hex4(uint32_t value) {
  constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  int shift = 20;
  while (shift > 12 && ((value >> shift) & 0xF) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) out.push_back(kDigits[(value >> shift) & 0xF]);
  return out;
}

std::string CodePointName(uint32_t code_point) { return absl::StrCat("U+", Hex4(code_point)); }

// DecodeUtf8 returns the length of the well-formed UTF-8 sequence at text[pos] and stores its
// code point, or returns 0 when the bytes there are not well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
size_t DecodeUtf8(absl::string_view text, size_t pos, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  size_t length;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  uint32_t value;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 1; i < length; ++i) {
    if (!IsContinuation(byte(i))) return 0;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  *code_point = value;
  return length;
}

// RenderKey quotes a decoded key for an error message: '"' and '\' escaped, control characters
// as \u00XX, at most kMaxEchoedKeyBytes bytes of content, cut at a character boundary and
// followed by "…" when longer.
std::string RenderKey(absl::string_view key) {
  std::string out = "\"";
  size_t used = 0;
  size_t i = 0;
  while (i < key.size()) {
    const unsigned char b = static_cast<unsigned char>(key[i]);
    std::string piece;
    size_t consumed = 1;
    if (b == '"' || b == '\\') {
      piece = absl::StrCat("\\", absl::string_view(key.data() + i, 1));
    } else if (b < 0x20 || b == 0x7F) {
      piece = absl::StrCat("\\u", Hex4(b));
    } else if (b < 0x80) {
      piece.assign(1, static_cast<char>(b));
    } else {
      uint32_t code_point;
      consumed = DecodeUtf8(key, i, &code_point);
      if (consumed == 0) consumed = 1;  // cannot happen: keys are validated before this
      piece = std::string(key.substr(i, consumed));
    }
    if (used + piece.size() > kMaxEchoedKeyBytes) {
      absl::StrAppend(&out, "…");
      break;
    }
    absl::StrAppend(&out, piece);
    used += piece.size();
    i += consumed;
  }
  absl::StrAppend(&out, "\"");
  return out;
}

// WordReason says why a bare word (letters, digits, '_', '$') is not a JSON value, or returns
// an empty view when it is not one of the well-known mistakes.
absl::string_view WordReason(absl::string_view word) {
  if (absl::EqualsIgnoreCase(word, "nan") || absl::EqualsIgnoreCase(word, "infinity") ||
      absl::EqualsIgnoreCase(word, "inf")) {
    return "NaN/Infinity are not JSON";
  }
  if (absl::EqualsIgnoreCase(word, "undefined")) return "undefined is not JSON";
  for (absl::string_view literal : {"true", "false", "null"}) {
    if (absl::StartsWithIgnoreCase(word, literal) || absl::StartsWithIgnoreCase(literal, word)) {
      return "unknown literal (JSON has only true, false and null, all lower case)";
    }
  }
  if (absl::EqualsIgnoreCase(word, "none") || absl::EqualsIgnoreCase(word, "nil")) {
    return "unknown literal (JSON has only true, false and null, all lower case)";
  }
  return "";
}

class Checker {
 public:
  explicit Checker(absl::string_view text) : text_(text) {}

  absl::Status Run() {
    if (absl::StartsWith(text_, kBom)) {
      return Fail(0, "UTF-8 byte order mark (U+FEFF) at the start (not allowed)");
    }
    SkipWhitespace();
    LOGOUT_RETURN_IF_ERROR(ParseValue(0));
    SkipWhitespace();
    if (!AtEnd()) {
      if (IsCommentAt(pos_)) return Fail(pos_, "comments are not JSON");
      return Fail(pos_, "extra text after the JSON value");
    }
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }

  void SkipWhitespace() {
    while (!AtEnd() && IsWhitespace(text_[pos_])) ++pos_;
  }

  bool IsCommentAt(size_t pos) const {
    return pos + 1 < text_.size() && text_[pos] == '/' &&
           (text_[pos + 1] == '/' || text_[pos + 1] == '*');
  }

  // Location spells "line L, column C" for a byte offset (columns count code points).
  std::string Location(size_t pos) const {
    size_t line = 1;
    size_t column = 1;
    for (size_t i = 0; i < pos && i < text_.size(); ++i) {
      const unsigned char b = static_cast<unsigned char>(text_[i]);
      if (b == '\n') {
        ++line;
        column = 1;
      } else if (!IsContinuation(b)) {
        ++column;
      }
    }
    return absl::StrCat("line ", line, ", column ", column);
  }

  absl::Status Fail(size_t pos, absl::string_view reason) const {
    return absl::InvalidArgumentError(absl::StrCat(Location(pos), ": ", reason));
  }

  absl::Status InvalidUtf8(size_t pos) const {
    return Fail(pos, absl::StrCat("invalid UTF-8 (bad byte 0x",
                                  Hex4(static_cast<unsigned char>(text_[pos])).substr(2), ")"));
  }

  // Unexpected reports the character at `pos` where `expected` should have been.
  absl::Status Unexpected(size_t pos, absl::string_view expected) const {
    if (pos >= text_.size()) {
      return Fail(pos, absl::StrCat("unexpected end of input (expected ", expected, ")"));
    }
    const unsigned char b = static_cast<unsigned char>(text_[pos]);
    if (IsCommentAt(pos)) return Fail(pos, "comments are not JSON");
    if (b == '\'') return Fail(pos, "single-quoted string (JSON strings use double quotes)");
    std::string found;
    if (b >= 0x80) {
      uint32_t code_point;
      if (DecodeUtf8(text_, pos, &code_point) == 0) return InvalidUtf8(pos);
      found = CodePointName(code_point);
    } else if (b < 0x20 || b == 0x7F) {
      found = CodePointName(b);
    } else {
      found = absl::StrCat("'", absl::string_view(text_.data() + pos, 1), "'");
    }
    return Fail(pos, absl::StrCat("unexpected character ", found, " (expected ", expected, ")"));
  }

  absl::string_view WordAt(size_t pos) const {
    size_t end = pos;
    while (end < text_.size() && IsWordChar(text_[end])) ++end;
    return text_.substr(pos, end - pos);
  }

  bool StartsValue(char c) const {
    return c == '{' || c == '[' || c == '"' || c == '-' || IsDigit(c) || c == 't' || c == 'f' ||
           c == 'n';
  }

  // ParseValue checks the value at pos_; `depth` is the number of enclosing arrays/objects.
  absl::Status ParseValue(int depth) {
    if (AtEnd()) return Unexpected(pos_, "a JSON value");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(depth + 1);
    if (c == '[') return ParseArray(depth + 1);
    if (c == '"') return ParseString(nullptr);
    if (c == '-' || IsDigit(c)) return ParseNumber();
    if (c == '+') return Fail(pos_, "invalid number: a leading '+' is not allowed");
    if (c == '.' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1])) {
      return Fail(pos_, "invalid number: a digit must come before '.'");
    }
    if (IsWordStart(c)) {
      const absl::string_view word = WordAt(pos_);
      if (word == "true" || word == "false" || word == "null") {
        pos_ += word.size();
        return absl::OkStatus();
      }
      const absl::string_view reason = WordReason(word);
      if (!reason.empty()) return Fail(pos_, reason);
      return Unexpected(pos_, "a JSON value; strings use double quotes");
    }
    return Unexpected(pos_, "a JSON value");
  }

  absl::Status ParseObject(int depth) {
    const size_t open = pos_;
    if (depth > kMaxDepth) return Fail(open, absl::StrCat("nesting deeper than ", kMaxDepth));
    ++pos_;
    // Decoded key -> offset of its opening quote.
    std::unordered_map<std::string, size_t> keys;
    SkipWhitespace();
    if (!AtEnd() && text_[pos_] == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    absl::string_view expected_key = "a double-quoted key or '}'";
    while (true) {
      if (AtEnd() || text_[pos_] != '"') return Unexpected(pos_, expected_key);
      const size_t key_pos = pos_;
      std::string key;
      LOGOUT_RETURN_IF_ERROR(ParseString(&key));
      const auto [it, inserted] = keys.try_emplace(std::move(key), key_pos);
      if (!inserted) {
        return Fail(key_pos,
                    absl::StrCat("duplicate key ", RenderKey(it->first),
                                 " in the same object (first at ", Location(it->second), ")"));
      }
      SkipWhitespace();
      if (AtEnd()) return Unexpected(pos_, "':' after an object key");
      if (text_[pos_] != ':') {
        if (IsCommentAt(pos_)) return Fail(pos_, "comments are not JSON");
        return Fail(pos_, "expected ':' after an object key");
      }
      ++pos_;
      SkipWhitespace();
      LOGOUT_RETURN_IF_ERROR(ParseValue(depth));
      SkipWhitespace();
      if (AtEnd()) return Unexpected(pos_, "',' or '}'");
      const char c = text_[pos_];
      if (c == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '"') return Fail(pos_, "missing ',' between object members");
      if (c != ',') return Unexpected(pos_, "',' or '}'");
      ++pos_;
      SkipWhitespace();
      if (!AtEnd() && text_[pos_] == '}') return Fail(pos_, "trailing comma before '}'");
      expected_key = "a double-quoted key";
    }
  }

  absl::Status ParseArray(int depth) {
    const size_t open = pos_;
    if (depth > kMaxDepth) return Fail(open, absl::StrCat("nesting deeper than ", kMaxDepth));
    ++pos_;
    SkipWhitespace();
    if (!AtEnd() && text_[pos_] == ']') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      LOGOUT_RETURN_IF_ERROR(ParseValue(depth));
      SkipWhitespace();
      if (AtEnd()) return Unexpected(pos_, "',' or ']'");
      const char c = text_[pos_];
      if (c == ']') {
        ++pos_;
        return absl::OkStatus();
      }
      if (StartsValue(c)) return Fail(pos_, "missing ',' between array elements");
      if (c != ',') return Unexpected(pos_, "',' or ']'");
      ++pos_;
      SkipWhitespace();
      if (!AtEnd() && text_[pos_] == ']') return Fail(pos_, "trailing comma before ']'");
    }
  }

  // ParseNumber checks the number at pos_. Errors point at the number's first character.
  absl::Status ParseNumber() {
    const size_t start = pos_;
    if (text_[pos_] == '-') {
      ++pos_;
      if (AtEnd() || !IsDigit(text_[pos_])) {
        if (!AtEnd() && WordReason(WordAt(pos_)) == "NaN/Infinity are not JSON") {
          return Fail(start, "NaN/Infinity are not JSON");
        }
        return Fail(start, "invalid number: '-' must be followed by a digit");
      }
    }
    if (text_[pos_] == '0') {
      ++pos_;
      if (!AtEnd() && IsDigit(text_[pos_])) return Fail(start, "leading zeros in a number");
    } else {
      while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
    }
    if (!AtEnd() && text_[pos_] == '.') {
      ++pos_;
      if (AtEnd() || !IsDigit(text_[pos_])) {
        return Fail(start, "invalid number: '.' must be followed by a digit");
      }
      while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
    }
    if (!AtEnd() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!AtEnd() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (AtEnd() || !IsDigit(text_[pos_])) {
        return Fail(start, "invalid number: the exponent needs a digit");
      }
      while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
    }
    if (!AtEnd()) {
      const char c = text_[pos_];
      if (IsWordChar(c) || c == '.' || c == '+' || c == '-') {
        return Fail(start, absl::StrCat("invalid number: unexpected '",
                                        absl::string_view(text_.data() + pos_, 1), "' in it"));
      }
    }
    return absl::OkStatus();
  }

  // ReadHex4 reads four hex digits at `pos` into `value`; false if there are not four.
  bool ReadHex4(size_t pos, uint32_t* value) const {
    if (pos > text_.size() || text_.size() - pos < 4) return false;
    uint32_t v = 0;
    for (size_t i = pos; i < pos + 4; ++i) {
      const char c = text_[i];
      if (!IsHexDigit(c)) return false;
      const uint32_t digit = IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
      v = (v << 4) | digit;
    }
    *value = v;
    return true;
  }

  // ParseEscape checks the escape at pos_ (a '\') inside the string opened at `string_start`,
  // appending the decoded character to `key` when it is not null.
  absl::Status ParseEscape(size_t string_start, std::string* key) {
    const size_t escape = pos_;
    if (pos_ + 1 >= text_.size()) return Fail(string_start, "unterminated string");
    const char e = text_[pos_ + 1];
    char simple = 0;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        simple = e;
        break;
      case 'b':
        simple = '\b';
        break;
      case 'f':
        simple = '\f';
        break;
      case 'n':
        simple = '\n';
        break;
      case 'r':
        simple = '\r';
        break;
      case 't':
        simple = '\t';
        break;
      case 'u':
        break;
      default: {
        const unsigned char b = static_cast<unsigned char>(e);
        std::string shown;
        if (b > 0x20 && b < 0x7F) {
          shown = absl::StrCat("\\", absl::string_view(&e, 1));
        } else {
          uint32_t code_point = b;
          if (b >= 0x80 && DecodeUtf8(text_, pos_ + 1, &code_point) == 0) {
            return InvalidUtf8(pos_ + 1);
          }
          shown = absl::StrCat("\\ followed by ", CodePointName(code_point));
        }
        return Fail(escape, absl::StrCat("invalid escape ", shown,
                                         " (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"));
      }
    }
    if (e != 'u') {
      if (key != nullptr) key->push_back(simple);
      pos_ += 2;
      return absl::OkStatus();
    }
    constexpr absl::string_view kBadU = "invalid escape \\u (it needs exactly 4 hex digits)";
    uint32_t unit;
    if (!ReadHex4(pos_ + 2, &unit)) return Fail(escape, kBadU);
    pos_ += 6;
    uint32_t code_point = unit;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return Fail(escape, absl::StrCat("lone surrogate \\u", Hex4(unit),
                                       " (a low surrogate with no high surrogate before it)"));
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      uint32_t low = 0;
      const bool has_escape =
          pos_ + 1 < text_.size() && text_[pos_] == '\\' && text_[pos_ + 1] == 'u';
      if (has_escape && !ReadHex4(pos_ + 2, &low)) return Fail(pos_, kBadU);
      if (!has_escape || low < 0xDC00 || low > 0xDFFF) {
        return Fail(escape, absl::StrCat("lone surrogate \\u", Hex4(unit),
                                         " (a high surrogate needs a \\uDC00-\\uDFFF after it)"));
      }
      pos_ += 6;
      code_point = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    if (key != nullptr) AppendUtf8(code_point, key);
    return absl::OkStatus();
  }

  // ParseString checks the string at pos_ (a '"'), decoding it into `key` when not null.
  absl::Status ParseString(std::string* key) {
    const size_t start = pos_;
    ++pos_;
    while (true) {
      if (AtEnd()) return Fail(start, "unterminated string");
      const unsigned char b = static_cast<unsigned char>(text_[pos_]);
      if (b == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (b == '\\') {
        LOGOUT_RETURN_IF_ERROR(ParseEscape(start, key));
        continue;
      }
      if (b < 0x20) {
        const bool line_break = b == '\n' || b == '\r';
        return Fail(pos_, absl::StrCat("control character ", CodePointName(b),
                                       " in a string (it must be escaped",
                                       line_break ? "; is a closing quote missing?)" : ")"));
      }
      size_t length = 1;
      if (b >= 0x80) {
        uint32_t code_point;
        length = DecodeUtf8(text_, pos_, &code_point);
        if (length == 0) return InvalidUtf8(pos_);
      }
      if (key != nullptr) key->append(text_.data() + pos_, length);
      pos_ += length;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status CheckStrictJson(absl::string_view text) { return Checker(text).Run(); }

}  // namespace logout::common
