// libFuzzer target for logout::federation::UriTemplate (RFC 6570 Parse and Expand).
//
// The input up to its first NUL byte is the template; the bytes after it, if any, become the
// value of variable "z" (so values are fuzzed too). All other variables are a fixed set that
// covers every value kind: strings with reserved, non-ASCII and '%' characters, the empty string,
// lists, associative arrays, empty composites, a value too long to expand and an invalid UTF-8
// one. Invariants (abort() on violation):
//   - Parse never crashes; it fails only with InvalidArgumentError, whose message is short
//     printable ASCII (the snippet is escaped, never raw input);
//   - a parsed template keeps its text, and its variable names are non-empty and unique;
//   - Expand with the fixed set succeeds or fails with InvalidArgumentError, is deterministic,
//     and its output is at most 8192 bytes of printable ASCII without space or control bytes;
//   - Expand with no variables (literals only) always succeeds, and its output, when it is
//     short enough to be a template, parses as a literal-only template expanding to itself;
//   - "{z}" expands to exactly the unreserved-or-%XX encoding of a valid UTF-8 "z".
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/federation/uri_template.h"

namespace {

using logout::federation::TemplateValue;
using logout::federation::TemplateVariables;
using logout::federation::UriTemplate;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "uri_template_fuzzer invariant violated: %s\n", what);
    std::abort();
  }
}

// IsClean: printable ASCII without space (0x21..0x7E).
bool IsClean(absl::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F) return false;
  }
  return true;
}

// IsMessageClean: printable ASCII, spaces allowed.
bool IsMessageClean(absl::string_view s) {
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7F) return false;
  }
  return true;
}

// FixedVariables builds the fixed variable set (once per input; the fuzzer values simplicity
// over speed here, and no globals with non-trivial destructors are kept).
TemplateVariables FixedVariables() {
  std::string long_value;
  for (int i = 0; i < 3000; ++i) long_value.append("\xE2\x82\xAC");  // 3000 x U+20AC
  return {
      {"a", TemplateValue::String("x y/\xC3\xBC?&=#%41%zz")},
      {"b", TemplateValue::String("")},
      {"c", TemplateValue::List({"1", "%2F", "\xC3\xA9", ""})},
      {"d", TemplateValue::Assoc({{"k", "v w"}, {"\xC3\xA9", "%zz"}, {"e", ""}})},
      {"e", TemplateValue::List({})},
      {"f", TemplateValue::String(std::move(long_value))},
      {"g", TemplateValue::Undefined()},
      {"h", TemplateValue::String("ok\xFF")},
      {"i", TemplateValue::Assoc({})},
      {"var", TemplateValue::String("value")},
      {"hello", TemplateValue::String("Hello World!")},
      {"list", TemplateValue::List({"red", "green", "blue"})},
      {"keys", TemplateValue::Assoc({{"semi", ";"}, {"dot", "."}, {"comma", ","}})},
      {"state", TemplateValue::String("s 1/2")},
      {"returnTo", TemplateValue::String("https://app.example.com/bye?a=1&b=2#f")},
      {"id_token_hint", TemplateValue::String("eyJ.eyJ.sig")},
      {"Stra%C3%9Fe", TemplateValue::String("Gr\xC3\xBCner Weg")},
      {"a.b", TemplateValue::String("\xF0\x9D\x84\x9E\xCC\x81")},
  };
}

bool IsValidUtf8(absl::string_view s) {
  // The template engine itself is the subject; this is an independent, simple check.
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// SimpleEncode is the reference for "{z}": unreserved bytes kept, every other byte %XX.
std::string SimpleEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

void CheckExpansion(const absl::StatusOr<std::string>& out) {
  if (!out.ok()) {
    Check(out.status().code() == absl::StatusCode::kInvalidArgument,
          "Expand failed with a code other than InvalidArgument");
    Check(IsMessageClean(out.status().message()), "Expand error message is not printable");
    return;
  }
  Check(out->size() <= UriTemplate::kMaxExpansionBytes, "expansion exceeds 8192 bytes");
  Check(IsClean(*out), "expansion holds a control byte, space or non-ASCII byte");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const absl::string_view text = input.substr(0, nul);
  const bool has_z = nul != absl::string_view::npos;
  const absl::string_view z = has_z ? input.substr(nul + 1) : absl::string_view();

  absl::StatusOr<UriTemplate> t = UriTemplate::Parse(text);
  if (!t.ok()) {
    Check(t.status().code() == absl::StatusCode::kInvalidArgument,
          "Parse failed with a code other than InvalidArgument");
    Check(t.status().message().size() <= 200, "Parse error message is long");
    Check(IsMessageClean(t.status().message()), "Parse error message is not printable");
    return 0;
  }
  Check(t->text() == text, "text() differs from the input");
  absl::flat_hash_set<std::string> names;
  for (const std::string& name : t->variable_names()) {
    Check(!name.empty(), "empty variable name");
    Check(names.insert(name).second, "variable name listed twice");
    Check(text.find(name) != absl::string_view::npos, "variable name not in the text");
  }

  TemplateVariables vars = FixedVariables();
  if (has_z) vars["z"] = TemplateValue::String(std::string(z));
  const absl::StatusOr<std::string> out = t->Expand(vars);
  CheckExpansion(out);
  const absl::StatusOr<std::string> again = t->Expand(vars);
  Check(out.ok() == again.ok() && (!out.ok() || *out == *again), "Expand is not deterministic");

  // Literals only: never fails (Parse bounds the literal text), and is a fixed point.
  const absl::StatusOr<std::string> bare = t->Expand({});
  Check(bare.ok(), "Expand with no variables failed");
  CheckExpansion(bare);
  if (bare->size() <= UriTemplate::kMaxTemplateBytes) {
    absl::StatusOr<UriTemplate> reparsed = UriTemplate::Parse(*bare);
    Check(reparsed.ok(), "a literal expansion does not parse as a template");
    Check(reparsed->variable_names().empty(), "a literal expansion has variables");
    const absl::StatusOr<std::string> bare2 = reparsed->Expand({});
    Check(bare2.ok() && *bare2 == *bare, "a literal expansion is not a fixed point");
  }

  // The simple-expansion encoder against the reference.
  if (has_z) {
    absl::StatusOr<UriTemplate> simple = UriTemplate::Parse("{z}");
    Check(simple.ok(), "\"{z}\" does not parse");
    const absl::StatusOr<std::string> enc = simple->Expand(vars);
    const bool valid = IsValidUtf8(z);
    const std::string want = SimpleEncode(z);
    if (!valid) {
      Check(!enc.ok() && enc.status().code() == absl::StatusCode::kInvalidArgument,
            "invalid UTF-8 value was expanded");
    } else if (want.size() > UriTemplate::kMaxExpansionBytes) {
      Check(!enc.ok() && enc.status().code() == absl::StatusCode::kInvalidArgument,
            "over-long expansion was not refused");
    } else {
      Check(enc.ok() && *enc == want, "\"{z}\" differs from the reference encoding");
    }
  }
  return 0;
}
