#include "service/federation/uri_template.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace logout::federation {

TemplateValue TemplateValue::String(std::string value) {
  TemplateValue v;
  v.value_.emplace<std::string>(std::move(value));
  return v;
}

TemplateValue TemplateValue::List(std::vector<std::string> items) {
  TemplateValue v;
  v.value_.emplace<std::vector<std::string>>(std::move(items));
  return v;
}

TemplateValue TemplateValue::Assoc(std::vector<Pair> pairs) {
  TemplateValue v;
  v.value_.emplace<std::vector<Pair>>(std::move(pairs));
  return v;
}

bool TemplateValue::IsDefined() const {
  switch (kind()) {
    case Kind::kUndefined:
      return false;
    case Kind::kString:
      return true;
    case Kind::kList:
      return !list().empty();
    case Kind::kAssoc:
      return !assoc().empty();
  }
  return false;
}

absl::string_view TemplateValue::string_value() const {
  const auto* s = std::get_if<std::string>(&value_);
  return s == nullptr ? absl::string_view() : absl::string_view(*s);
}

absl::Span<const std::string> TemplateValue::list() const {
  const auto* l = std::get_if<std::vector<std::string>>(&value_);
  return l == nullptr ? absl::Span<const std::string>() : absl::Span<const std::string>(*l);
}

absl::Span<const TemplateValue::Pair> TemplateValue::assoc() const {
  const auto* a = std::get_if<std::vector<Pair>>(&value_);
  return a == nullptr ? absl::Span<const Pair>() : absl::Span<const Pair>(*a);
}

namespace {

constexpr size_t kSnippetBytes = 12;
constexpr char kHexUpper[] = "0123456789ABCDEF";

// Operator is one row of RFC 6570 Appendix A's table.
struct Operator {
  absl::string_view first;
  char sep;
  bool named;
  absl::string_view ifemp;
  bool allow_reserved;  // allow = U+R rather than U
};

Operator OperatorFor(char op) {
  switch (op) {
    case '+':
      return {"", ',', false, "", true};
    case '#':
      return {"#", ',', false, "", true};
    case '.':
      return {".", '.', false, "", false};
    case '/':
      return {"/", '/', false, "", false};
    case ';':
      return {";", ';', true, "", false};
    case '?':
      return {"?", '&', true, "=", false};
    case '&':
      return {"&", '&', true, "=", false};
    default:
      return {"", ',', false, "", false};
  }
}

bool IsAlpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(unsigned char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// IsUnreserved: RFC 3986 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
bool IsUnreserved(unsigned char c) {
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// IsReserved: RFC 3986 gen-delims / sub-delims.
bool IsReserved(unsigned char c) {
  switch (c) {
    case ':':
    case '/':
    case '?':
    case '#':
    case '[':
    case ']':
    case '@':  // gen-delims
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':  // sub-delims
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

// IsLiteralAscii: the ASCII part of RFC 6570 `literals` with erratum 6937 (which admits "'"),
// without '%', which only starts a pct-encoded triplet.
bool IsLiteralAscii(unsigned char c) {
  if (c <= 0x20 || c >= 0x7F) return false;
  switch (c) {
    case '"':
    case '%':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
      return false;
    default:
      return true;
  }
}

// IsUcscharOrIprivate: the non-ASCII code points RFC 6570 allows in literals.
bool IsUcscharOrIprivate(char32_t cp) {
  if (cp < 0xA0) return false;
  if (cp <= 0xD7FF) return true;                    // ucschar
  if (cp >= 0xE000 && cp <= 0xFDCF) return true;    // iprivate E000-F8FF, ucschar F900-FDCF
  if (cp >= 0xFDF0 && cp <= 0xFFEF) return true;    // ucschar
  if (cp < 0x10000 || cp > 0x10FFFF) return false;  // surrogates, FFF0-FFFF, beyond Unicode
  if ((cp & 0xFFFF) > 0xFFFD) return false;         // the two noncharacters of each plane
  return cp < 0xE0000 || cp >= 0xE1000;             // E0000-E0FFF (tags etc.) excluded
}

// DecodeUtf8 decodes the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, at most U+10FFFF) starting at s[i] into *cp. Returns its length, or 0 when the
// bytes there are not well-formed UTF-8.
size_t DecodeUtf8(absl::string_view s, size_t i, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  char32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    min = 0x80;
    *cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    min = 0x800;
    *cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    min = 0x10000;
    *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

bool IsValidUtf8(absl::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool IsTripletAt(absl::string_view s, size_t i) {
  return s.size() - i >= 3 && s[i] == '%' && IsHexDigit(static_cast<unsigned char>(s[i + 1])) &&
         IsHexDigit(static_cast<unsigned char>(s[i + 2]));
}

void Append(absl::string_view s, std::string* out) { out->append(s.data(), s.size()); }

void AppendPctEncoded(unsigned char b, std::string* out) {
  out->push_back('%');
  out->push_back(kHexUpper[b >> 4]);
  out->push_back(kHexUpper[b & 0xF]);
}

// AppendEncoded appends `value` encoded for the allowed set (RFC 6570 §3.2.1): unreserved
// characters, and with U+R also reserved characters and pct-encoded triplets, are copied; every
// other byte (non-ASCII ones as the UTF-8 octets they are) becomes a pct-encoded triplet.
void AppendEncoded(absl::string_view value, bool allow_reserved, std::string* out) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (IsUnreserved(c) || (allow_reserved && IsReserved(c))) {
      out->push_back(static_cast<char>(c));
    } else if (allow_reserved && IsTripletAt(value, i)) {
      out->append(value.data() + i, 3);
      i += 2;
    } else {
      AppendPctEncoded(c, out);
    }
  }
}

// Prefix returns the first `max_length` characters of the valid UTF-8 `value`: code points,
// and with U+R pct-encoded triplets (which are copied, not re-encoded) as one character each.
absl::string_view Prefix(absl::string_view value, size_t max_length, bool allow_reserved) {
  size_t i = 0;
  char32_t cp;
  for (size_t n = 0; n < max_length && i < value.size(); ++n) {
    if (allow_reserved && IsTripletAt(value, i)) {
      i += 3;
    } else {
      i += DecodeUtf8(value, i, &cp);  // never 0: the value was validated
    }
  }
  return value.substr(0, i);
}

// ParseError builds Parse's error: the offset, the problem and a short escaped snippet.
absl::Status ParseError(absl::string_view text, size_t offset, absl::string_view problem) {
  std::string where;
  if (offset >= text.size()) {
    where = "at the end of the template";
  } else {
    absl::string_view snippet = text.substr(offset, kSnippetBytes);
    where = absl::StrCat("at \"", absl::CHexEscape(snippet),
                         offset + snippet.size() < text.size() ? "\"..." : "\"");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("uri template: offset ", offset, ": ", problem, " (", where, ")"));
}

// Describe names a byte for an error message without echoing anything unprintable.
std::string Describe(unsigned char c) {
  if (c > 0x20 && c < 0x7F) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("byte 0x%02X", c);
}

absl::Status ExpandError(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("uri template expansion: ", problem));
}

absl::Status TooLong() {
  return ExpandError(
      absl::StrCat("the result exceeds ", UriTemplate::kMaxExpansionBytes, " bytes"));
}

}  // namespace

absl::StatusOr<UriTemplate> UriTemplate::Parse(absl::string_view text) {
  if (text.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("uri template: ", text.size(), " bytes; the limit is ", kMaxTemplateBytes));
  }
  UriTemplate t;
  t.text_ = std::string(text);
  absl::flat_hash_set<absl::string_view> seen_names;  // views into `text`
  size_t expressions = 0;
  size_t literal_bytes = 0;
  std::string literal;
  const size_t n = text.size();
  size_t i = 0;

  auto flush_literal = [&] {
    if (literal.empty()) return;
    literal_bytes += literal.size();
    Part part;
    part.literal = std::move(literal);
    t.parts_.push_back(std::move(part));
    literal.clear();
  };

  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '{') {
      flush_literal();
      const size_t start = i;
      if (++expressions > kMaxExpressions) {
        return ParseError(text, start, absl::StrCat("more than ", kMaxExpressions, " expressions"));
      }
      ++i;
      Part part;
      if (i < n) {
        const char op = text[i];
        if (op == '+' || op == '#' || op == '.' || op == '/' || op == ';' || op == '?' ||
            op == '&') {
          part.op = op;
          ++i;
        } else if (op == '=' || op == ',' || op == '!' || op == '@' || op == '|') {
          return ParseError(text, i,
                            absl::StrCat("operator '", std::string(1, op),
                                         "' is reserved by RFC 6570 and not supported"));
        }
      }
      while (true) {  // one varspec per iteration
        // varname = varchar *( ["."] varchar ); varchar = ALPHA / DIGIT / "_" / pct-encoded
        const size_t name_start = i;
        bool need_varchar = true;  // at the start of the name and after a '.'
        while (true) {
          if (i >= n) return ParseError(text, start, "unclosed expression");
          const auto w = static_cast<unsigned char>(text[i]);
          if (IsAlpha(w) || IsDigit(w) || w == '_') {
            ++i;
            need_varchar = false;
          } else if (w == '%') {
            if (!IsTripletAt(text, i)) {
              return ParseError(text, i, "'%' in a variable name must start a %XX triplet");
            }
            i += 3;
            need_varchar = false;
          } else if (w == '.' && !need_varchar) {
            ++i;
            need_varchar = true;
          } else if (!need_varchar) {
            break;  // the name ended; a modifier or separator follows
          } else if (i > name_start) {
            return ParseError(text, i - 1,
                              "'.' in a variable name must be followed by a name character");
          } else if (w == '}' && i == start + 1) {
            return ParseError(text, start, "empty expression");
          } else if (w == '{') {
            return ParseError(text, i, "'{' inside an expression");
          } else {
            return ParseError(text, i,
                              absl::StrCat("expected a variable name, found ", Describe(w)));
          }
        }
        const absl::string_view name = text.substr(name_start, i - name_start);
        VarSpec spec;
        spec.name = std::string(name);
        if (text[i] == ':') {
          const size_t digits_start = ++i;
          uint32_t value = 0;
          while (i < n && IsDigit(static_cast<unsigned char>(text[i])) && i - digits_start < 5) {
            value = value * 10 + static_cast<uint32_t>(text[i] - '0');
            ++i;
          }
          if (i == digits_start || text[digits_start] == '0' || value > 9999) {
            return ParseError(text, digits_start,
                              "a prefix must be an integer from 1 to 9999 without leading zeros");
          }
          spec.max_length = static_cast<uint16_t>(value);
        } else if (text[i] == '*') {
          spec.explode = true;
          ++i;
        }
        if (seen_names.insert(name).second) t.variable_names_.push_back(spec.name);
        part.varspecs.push_back(std::move(spec));
        if (i >= n) return ParseError(text, start, "unclosed expression");
        if (text[i] == ',') {
          ++i;
          continue;
        }
        if (text[i] == '}') {
          ++i;
          break;
        }
        if (text[i] == '{') return ParseError(text, i, "'{' inside an expression");
        return ParseError(text, i,
                          absl::StrCat("expected ',' or '}' after a variable, found ",
                                       Describe(static_cast<unsigned char>(text[i]))));
      }
      t.parts_.push_back(std::move(part));
      continue;
    }
    if (c == '%') {
      if (!IsTripletAt(text, i)) return ParseError(text, i, "'%' must start a %XX triplet");
      literal.append(text.data() + i, 3);
      i += 3;
      continue;
    }
    if (c < 0x80) {
      if (!IsLiteralAscii(c)) {
        return ParseError(text, i,
                          c == '}'
                              ? std::string("'}' outside an expression")
                              : absl::StrCat(Describe(c), " is not allowed outside an expression"));
      }
      literal.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    char32_t cp;
    const size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) return ParseError(text, i, "invalid UTF-8");
    if (!IsUcscharOrIprivate(cp)) {
      return ParseError(
          text, i,
          absl::StrFormat("U+%04X is not allowed in a literal", static_cast<uint32_t>(cp)));
    }
    for (size_t k = 0; k < len; ++k) {
      AppendPctEncoded(static_cast<unsigned char>(text[i + k]), &literal);
    }
    i += len;
  }
  flush_literal();
  if (literal_bytes > kMaxExpansionBytes) {
    return absl::InvalidArgumentError(absl::StrCat("uri template: the literal text expands to ",
                                                   literal_bytes, " bytes; the limit is ",
                                                   kMaxExpansionBytes));
  }
  return t;
}

std::vector<UriTemplate::Expression> UriTemplate::expressions() const {
  std::vector<Expression> result;
  for (const Part& part : parts_) {
    if (part.varspecs.empty()) continue;
    Expression& e = result.emplace_back();
    e.op = part.op;
    e.names.reserve(part.varspecs.size());
    for (const VarSpec& spec : part.varspecs) e.names.push_back(spec.name);
  }
  return result;
}

absl::StatusOr<std::string> UriTemplate::Expand(const TemplateVariables& vars) const {
  std::string out;
  out.reserve(text_.size() < kMaxExpansionBytes / 2 ? text_.size() * 2 : kMaxExpansionBytes);

  // Encoding never shrinks a value, so a value that cannot fit is refused before it is encoded:
  // the output never grows far past the limit, however long the values are.
  auto append_value = [&out](absl::string_view value, bool allow_reserved) -> bool {
    if (out.size() > kMaxExpansionBytes || value.size() > kMaxExpansionBytes - out.size()) {
      return false;
    }
    AppendEncoded(value, allow_reserved, &out);
    return out.size() <= kMaxExpansionBytes;
  };

  for (const Part& part : parts_) {
    if (part.varspecs.empty()) {
      out.append(part.literal);
      if (out.size() > kMaxExpansionBytes) return TooLong();
      continue;
    }
    const Operator op = OperatorFor(part.op);
    bool first = true;
    for (const VarSpec& spec : part.varspecs) {
      const auto it = vars.find(spec.name);
      if (it == vars.end() || !it->second.IsDefined()) continue;
      const TemplateValue& value = it->second;
      if (spec.max_length > 0 && value.kind() != TemplateValue::Kind::kString) {
        return ExpandError(absl::StrCat(
            "variable \"", spec.name, "\" has ",
            value.kind() == TemplateValue::Kind::kList ? "a list" : "an associative array",
            " value; the prefix modifier ':", spec.max_length, "' applies only to strings"));
      }
      Append(first ? op.first : absl::string_view(&op.sep, 1), &out);
      first = false;

      switch (value.kind()) {
        case TemplateValue::Kind::kUndefined:
          break;
        case TemplateValue::Kind::kString: {
          absl::string_view s = value.string_value();
          if (!IsValidUtf8(s)) {
            return ExpandError(absl::StrCat("variable \"", spec.name, "\" is not valid UTF-8"));
          }
          if (spec.max_length > 0) s = Prefix(s, spec.max_length, op.allow_reserved);
          if (op.named) {
            out.append(spec.name);
            Append(s.empty() ? op.ifemp : "=", &out);
          }
          if (!append_value(s, op.allow_reserved)) return TooLong();
          break;
        }
        case TemplateValue::Kind::kList: {
          const absl::Span<const std::string> items = value.list();
          for (const std::string& item : items) {
            if (!IsValidUtf8(item)) {
              return ExpandError(
                  absl::StrCat("an item of variable \"", spec.name, "\" is not valid UTF-8"));
            }
          }
          if (!spec.explode && op.named) {
            out.append(spec.name);
            out.push_back('=');
          }
          for (size_t k = 0; k < items.size(); ++k) {
            if (k > 0) out.push_back(spec.explode ? op.sep : ',');
            if (spec.explode && op.named) {
              out.append(spec.name);
              Append(items[k].empty() ? op.ifemp : "=", &out);
            }
            if (!append_value(items[k], op.allow_reserved)) return TooLong();
          }
          break;
        }
        case TemplateValue::Kind::kAssoc: {
          const absl::Span<const TemplateValue::Pair> pairs = value.assoc();
          for (const TemplateValue::Pair& pair : pairs) {
            if (!IsValidUtf8(pair.first) || !IsValidUtf8(pair.second)) {
              return ExpandError(absl::StrCat("a key or value of variable \"", spec.name,
                                              "\" is not valid UTF-8"));
            }
          }
          if (!spec.explode && op.named) {
            out.append(spec.name);
            out.push_back('=');
          }
          for (size_t k = 0; k < pairs.size(); ++k) {
            if (k > 0) out.push_back(spec.explode ? op.sep : ',');
            if (!append_value(pairs[k].first, op.allow_reserved)) return TooLong();
            if (spec.explode) {
              Append(op.named && pairs[k].second.empty() ? op.ifemp : "=", &out);
            } else {
              out.push_back(',');
            }
            if (!append_value(pairs[k].second, op.allow_reserved)) return TooLong();
          }
          break;
        }
      }
      if (out.size() > kMaxExpansionBytes) return TooLong();
    }
  }
  return out;
}

}  // namespace logout::federation
