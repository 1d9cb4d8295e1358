#include "service/jwt/internal/json_members.h"

#include <locale.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "service/common/utf8.h"

namespace logout::jwt::internal {
namespace {

constexpr absl::string_view kNotJson = "is not valid JSON";
constexpr absl::string_view kNotObject = "is not a JSON object";

// The per-thread buffers of a read: their capacity is kept from call to call.
struct Buffers {
  std::string text;                                 // the string being read, unescaped
  std::string number;                               // a number's text, NUL-terminated
  std::vector<std::vector<std::string>> key_stack;  // member names per open object
};

// The "C" locale, so numbers read the same whatever LC_NUMERIC the process runs with (a comma
// decimal separator would otherwise cut "1.9e9" to 1).
locale_t CLocale() {
  static const locale_t c = newlocale(LC_ALL_MASK, "C", nullptr);
  return c;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A strict RFC 8259 reader of one JSON object that hands the named top-level members to their
// MemberValue as it goes, in document order: the first problem met ends the read, and which one
// is reported depends only on where it is in the text. Values are checked where they start
// (containers) or once they are read (scalars). Strings must be well-formed UTF-8 and escapes
// must not leave a lone surrogate; one UTF-8 byte order mark before the object is skipped.
class Reader {
 public:
  Reader(absl::string_view text, absl::Span<const MemberSpec> specs, absl::Span<MemberValue> out,
         Buffers* buffers)
      : p_(text.data()), end_(text.data() + text.size()), specs_(specs), out_(out), b_(*buffers) {}

  absl::Status Run() {
    if (p_ != end_ && static_cast<unsigned char>(*p_) == 0xEF) {
      if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB ||
          static_cast<unsigned char>(p_[2]) != 0xBF) {
        return absl::InvalidArgumentError(kNotJson);
      }
      p_ += 3;
    }
    SkipWhitespace();
    if (!ReadValue(0, Role::kTop, 0)) return absl::InvalidArgumentError(error_);
    SkipWhitespace();
    if (p_ != end_) return absl::InvalidArgumentError(kNotJson);
    return absl::OkStatus();
  }

 private:
  // What a value is to the caller.
  enum class Role : uint8_t {
    kTop,         // the whole text: must be an object
    kMember,      // a named top-level member (index `member`)
    kAudElement,  // an element of an array given for a kStringOrStrings member
    kUnnamed,     // anything else: checked for syntax, duplicates and depth only
  };
  enum class Kind : uint8_t { kString, kNumber, kOther };

  bool Fail(absl::string_view why) {
    if (error_.empty()) error_ = std::string(why);
    return false;
  }
  bool WrongType(size_t member) {
    return Fail(absl::StrCat("member \"", specs_[member].name, "\" has the wrong type"));
  }

  void SkipWhitespace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  // Checks a value of `kind` in `role` where it appears (a container at its start, a scalar
  // once read).
  bool Check(Kind kind, Role role, size_t member) {
    switch (role) {
      case Role::kTop:
        return Fail(kNotObject);
      case Role::kAudElement:
        return kind == Kind::kString || WrongType(member);
      case Role::kUnnamed:
        return true;
      case Role::kMember:
        break;
    }
    out_[member].present = true;
    const Want want = specs_[member].want;
    const bool ok = want == Want::kPresence ||
                    (want == Want::kNumber ? kind == Kind::kNumber : kind == Kind::kString);
    return ok || WrongType(member);
  }

  // `depth` is the number of containers around the value.
  bool ReadValue(int depth, Role role, size_t member) {
    if (p_ == end_) return Fail(kNotJson);
    switch (*p_) {
      case '{':
        if (role != Role::kTop && !Check(Kind::kOther, role, member)) return false;
        ++p_;
        return ReadObject(depth + 1);
      case '[': {
        Role elements = Role::kUnnamed;
        if (role == Role::kMember && specs_[member].want == Want::kStringOrStrings) {
          out_[member].present = true;
          elements = Role::kAudElement;
        } else if (!Check(Kind::kOther, role, member)) {
          return false;
        }
        ++p_;
        return ReadArray(depth + 1, elements, member);
      }
      case '"':
        if (!ReadString(&b_.text) || !Check(Kind::kString, role, member)) return false;
        if (role == Role::kMember) {
          out_[member].str.assign(b_.text);
        } else if (role == Role::kAudElement) {
          out_[member].strings.push_back(b_.text);
        }
        return true;
      case 't':
        return ReadLiteral("true") && Check(Kind::kOther, role, member);
      case 'f':
        return ReadLiteral("false") && Check(Kind::kOther, role, member);
      case 'n':
        return ReadLiteral("null") && Check(Kind::kOther, role, member);
      default:
        return ReadNumber(role, member);
    }
  }

  bool ReadObject(int depth) {
    if (depth > kMaxJsonDepth) return Fail("is nested too deeply");
    const auto level = static_cast<size_t>(depth) - 1;
    if (b_.key_stack.size() <= level) b_.key_stack.resize(level + 1);
    // Not a reference: a nested object may grow key_stack while this object is open.
    b_.key_stack[level].clear();
    SkipWhitespace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      if (p_ == end_ || *p_ != '"' || !ReadString(&b_.text)) return Fail(kNotJson);
      if (!AddKey(b_.key_stack[level], b_.text)) return Fail("has a duplicate member name");
      size_t member = specs_.size();
      if (depth == 1) {
        for (size_t i = 0; i < specs_.size(); ++i) {
          if (specs_[i].name == b_.text) member = i;
        }
      }
      SkipWhitespace();
      if (p_ == end_ || *p_ != ':') return Fail(kNotJson);
      ++p_;
      SkipWhitespace();
      const Role role = member < specs_.size() ? Role::kMember : Role::kUnnamed;
      if (!ReadValue(depth, role, member)) return false;
      SkipWhitespace();
      if (p_ == end_) return Fail(kNotJson);
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return Fail(kNotJson);
      ++p_;
      SkipWhitespace();
    }
  }

  bool ReadArray(int depth, Role elements, size_t member) {
    if (depth > kMaxJsonDepth) return Fail("is nested too deeply");
    SkipWhitespace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!ReadValue(depth, elements, member)) return false;
      SkipWhitespace();
      if (p_ == end_) return Fail(kNotJson);
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return Fail(kNotJson);
      ++p_;
      SkipWhitespace();
    }
  }

  // Adds `key` to the names of one object; false when it is already there. Small objects are
  // scanned; from kLinear names on they are kept sorted.
  static bool AddKey(std::vector<std::string>& keys, const std::string& key) {
    constexpr size_t kLinear = 32;
    if (keys.size() < kLinear) {
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return false;
      keys.push_back(key);
      if (keys.size() == kLinear) std::sort(keys.begin(), keys.end());
      return true;
    }
    const auto it = std::lower_bound(keys.begin(), keys.end(), key);
    if (it != keys.end() && *it == key) return false;
    keys.insert(it, key);
    return true;
  }

  bool ReadLiteral(absl::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        absl::string_view(p_, word.size()) != word) {
      return Fail(kNotJson);
    }
    p_ += word.size();
    return true;
  }

  // Reads four hex digits at p_ into `unit`.
  bool ReadHex4(uint32_t* unit) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = HexDigit(p_[i]);
      if (d < 0) return false;
      v = (v << 4) | static_cast<uint32_t>(d);
    }
    p_ += 4;
    *unit = v;
    return true;
  }

  // Reads the string starting at p_ ('"') into `out`, unescaped.
  bool ReadString(std::string* out) {
    out->clear();
    ++p_;  // the opening quote
    for (;;) {
      if (p_ == end_) return Fail(kNotJson);
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return Fail(kNotJson);
      if (c == '\\') {
        if (!ReadEscape(out)) return Fail(kNotJson);
        continue;
      }
      if (c < 0x80) {
        out->push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      const size_t length = WellFormedUtf8Length();
      if (length == 0) return Fail(kNotJson);
      out->append(p_, length);
      p_ += length;
    }
  }

  // Reads the escape at p_ ('\\') and appends what it stands for.
  bool ReadEscape(std::string* out) {
    if (end_ - p_ < 2) return false;
    const char e = p_[1];
    p_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    uint32_t unit = 0;
    if (!ReadHex4(&unit)) return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false;  // a low surrogate first
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      if (!ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    common::AppendUtf8(unit, out);
    return true;
  }

  // The length of the well-formed UTF-8 sequence of two to four bytes at p_ (RFC 3629 §4), or
  // 0: no overlong forms, no surrogates, nothing above U+10FFFF.
  size_t WellFormedUtf8Length() const {
    const auto at = [this](ptrdiff_t i) {
      return i < end_ - p_ ? static_cast<unsigned char>(p_[i]) : 0;
    };
    const auto in = [](unsigned char b, unsigned char lo, unsigned char hi) {
      return b >= lo && b <= hi;
    };
    const unsigned char b0 = at(0);
    const unsigned char b1 = at(1);
    if (in(b0, 0xC2, 0xDF)) return in(b1, 0x80, 0xBF) ? 2 : 0;
    const bool tail2 = in(at(2), 0x80, 0xBF);
    if (b0 == 0xE0) return in(b1, 0xA0, 0xBF) && tail2 ? 3 : 0;
    if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) return in(b1, 0x80, 0xBF) && tail2 ? 3 : 0;
    if (b0 == 0xED) return in(b1, 0x80, 0x9F) && tail2 ? 3 : 0;
    const bool tail3 = tail2 && in(at(3), 0x80, 0xBF);
    if (b0 == 0xF0) return in(b1, 0x90, 0xBF) && tail3 ? 4 : 0;
    if (in(b0, 0xF1, 0xF3)) return in(b1, 0x80, 0xBF) && tail3 ? 4 : 0;
    if (b0 == 0xF4) return in(b1, 0x80, 0x8F) && tail3 ? 4 : 0;
    return 0;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p_. An integer that fits int64 (negative)
  // or uint64 (otherwise) is exact; anything else is read as a double, and a magnitude too
  // large for one is refused as not valid JSON.
  bool ReadNumber(Role role, size_t member) {
    const char* const start = p_;
    const auto digit = [this] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
    const bool negative = p_ != end_ && *p_ == '-';
    if (negative) ++p_;
    if (!digit()) return Fail(kNotJson);
    if (*p_ == '0') {
      ++p_;
    } else {
      while (digit()) ++p_;
    }
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (!digit()) return Fail(kNotJson);
      while (digit()) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return Fail(kNotJson);
      while (digit()) ++p_;
    }
    // The value first: a number too large for a double is not valid JSON, whatever it is for.
    MemberValue value;
    b_.number.assign(start, p_);  // NUL-terminated for the strto*_l functions
    bool exact = false;
    if (integral) {
      errno = 0;
      if (negative) {
        const long long n =  // NOLINT(runtime/int)
            strtoll_l(b_.number.c_str(), nullptr, 10, CLocale());
        exact = errno == 0;
        value.is_integer = exact;
        value.integer = n;
        value.number = static_cast<double>(n);
      } else {
        const unsigned long long n =  // NOLINT(runtime/int)
            strtoull_l(b_.number.c_str(), nullptr, 10, CLocale());
        exact = errno == 0;
        value.is_integer = exact && n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        value.integer = value.is_integer ? static_cast<int64_t>(n) : 0;
        value.number = static_cast<double>(n);
      }
    }
    if (!exact) {
      value.is_integer = false;
      value.integer = 0;
      value.number = strtod_l(b_.number.c_str(), nullptr, CLocale());
      if (!std::isfinite(value.number)) return Fail(kNotJson);
    }
    if (!Check(Kind::kNumber, role, member)) return false;
    if (role == Role::kMember) {
      MemberValue& v = out_[member];
      v.is_integer = value.is_integer;
      v.integer = value.integer;
      v.number = value.number;
    }
    return true;
  }

  const char* p_;
  const char* const end_;
  absl::Span<const MemberSpec> specs_;
  absl::Span<MemberValue> out_;
  Buffers& b_;
  std::string error_;
};

}  // namespace

absl::Status ExtractMembers(absl::string_view json, absl::Span<const MemberSpec> specs,
                            absl::Span<MemberValue> out) {
  for (MemberValue& v : out) {
    v.present = false;
    v.str.clear();
    v.strings.clear();
    v.is_integer = false;
    v.integer = 0;
    v.number = 0;
  }
  thread_local Buffers buffers;
  return Reader(json, specs, out, &buffers).Run();
}

}  // namespace logout::jwt::internal
