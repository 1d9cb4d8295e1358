// Tests for service/url: the WPT conformance data (urltestdata.json, toascii.json,
// IdnaTestV2.json, read in place from LOGOUT_WPT_DIR) and named, table-driven cases for the
// behaviour that matters to an open-redirect guard.
#include "service/url/url.h"

#include <cctype>
#include <cstddef>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace logout::url {
namespace {

using Json = nlohmann::json;

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

bool IsSurrogateEscape(const std::string& text, size_t i, char lo, char hi) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return false;
  const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 2])));
  const char b = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 3])));
  return a == 'd' && b >= lo && b <= hi;
}

// LoadWpt reads a WPT JSON file. IdnaTestV2.json holds lone surrogates ("a\ud900z"), which
// nlohmann::json rejects; a JavaScript URL constructor sees them as U+FFFD (USVString
// conversion), so they are replaced by \ufffd first.
Json LoadWpt(const std::string& name) {
  std::ifstream file(std::string(LOGOUT_WPT_DIR) + "/" + name);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::string fixed;
  fixed.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\\') {
      fixed.append(text, i, 2);  // an escaped backslash, not an escape
      ++i;
      continue;
    }
    if (IsSurrogateEscape(text, i, '8', 'b')) {
      if (IsSurrogateEscape(text, i + 6, 'c', 'f')) {
        fixed.append(text, i, 12);
        i += 11;
      } else {
        fixed.append("\\ufffd");
        i += 5;
      }
      continue;
    }
    if (IsSurrogateEscape(text, i, 'c', 'f')) {
      fixed.append("\\ufffd");
      i += 5;
      continue;
    }
    fixed.push_back(text[i]);
  }
  return Json::parse(fixed, nullptr, /*allow_exceptions=*/false);
}

std::string Quote(const std::string& s) {
  return Json(s).dump(-1, ' ', true, Json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------
// Skipped cases. A case is listed here only when its expectation cannot hold with this
// implementation's inputs (see each reason). Every entry is matched by exact input (and base).
struct Skip {
  const char* input;
  const char* reason;
};

// urltestdata.json: nothing is skipped. (Its ASCII "xn--" hosts such as "https://xn--/" follow
// the URL Standard's fallback for ASCII domains, whatwg/url#914, which the parser implements.)
constexpr Skip kUrlTestDataSkips[] = {
    {"", ""},  // (empty table sentinel; never matches)
};

// toascii.json: cases whose expectation rests on UTS #46 data newer than ICU 72's (Unicode
// 15.0). Each is a mapping that changed in UTS #46 revision 31 (Unicode 15.1) or 33 (16.0).
constexpr Skip kToAsciiSkips[] = {
    {"look\u180eout.net", "U+180E MONGOLIAN VOWEL SEPARATOR: disallowed in 15.0, ignored in 16.0"},
    {"look\u206bout.net",
     "U+206B ACTIVATE SYMMETRIC SWAPPING: disallowed in 15.0, ignored in 16.0"},
    {"\u04c0.com", "U+04C0 CYRILLIC LETTER PALOCHKA: disallowed in 15.0, mapped to U+04CF in 16.0"},
    {"\U0002F868.com", "U+2F868 CJK COMPATIBILITY IDEOGRAPH: disallowed in 15.0, mapped in 16.0"},
    {"\u2183.com", "U+2183 ROMAN NUMERAL REVERSED ONE HUNDRED: disallowed in 15.0, mapped in 16.0"},
    {"\u1e9e.com", "U+1E9E CAPITAL SHARP S: mapped to \"ss\" in 15.0, to U+00DF in 15.1"},
    {"\u1e9e.foo.com", "U+1E9E CAPITAL SHARP S: mapped to \"ss\" in 15.0, to U+00DF in 15.1"},
};

const char* FindSkip(const Skip* begin, const Skip* end, const std::string& input) {
  for (const Skip* s = begin; s != end; ++s) {
    if (s->reason[0] != '\0' && input == s->input) return s->reason;
  }
  return nullptr;
}

// LeadingScheme is the lower-cased scheme the parser would read from `input`, if any.
std::optional<std::string> LeadingScheme(const std::string& raw) {
  std::string input;
  for (char c : raw) {
    if (c != '\t' && c != '\n' && c != '\r') input.push_back(c);
  }
  size_t i = 0;
  while (i < input.size() && static_cast<unsigned char>(input[i]) <= 0x20) ++i;
  std::string scheme;
  if (i >= input.size() || !std::isalpha(static_cast<unsigned char>(input[i]))) {
    return std::nullopt;
  }
  for (; i < input.size(); ++i) {
    const auto c = static_cast<unsigned char>(input[i]);
    if (c == ':') return scheme;
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.')) return std::nullopt;
    scheme.push_back(static_cast<char>(std::tolower(c)));
  }
  return std::nullopt;
}

bool IsHttpScheme(const std::string& s) { return s == "http" || s == "https"; }

// IsHttpCase: the expected protocol is http(s), or, for failures, the input's scheme (or the
// base's, when the input has none) is.
bool IsHttpCase(const Json& c) {
  if (c.contains("protocol")) {
    const std::string protocol = c["protocol"];
    return protocol == "http:" || protocol == "https:";
  }
  if (const auto scheme = LeadingScheme(c["input"]); scheme.has_value()) {
    return IsHttpScheme(*scheme);
  }
  if (c.contains("base") && c["base"].is_string()) {
    const auto scheme = LeadingScheme(c["base"]);
    return scheme.has_value() && IsHttpScheme(*scheme);
  }
  return false;
}

// CheckUrlCase returns "" when the case passes, else what differed.
std::string CheckUrlCase(const Json& c) {
  const std::string input = c["input"];
  const bool expect_failure = c.value("failure", false);
  std::optional<absl::StatusOr<Url>> base;
  if (c.contains("base") && c["base"].is_string()) {
    base = Url::Parse(c["base"].get<std::string>());
    if (!base->ok()) return expect_failure ? "" : "base failed to parse";
  }
  const Url* base_ptr = base.has_value() ? &**base : nullptr;
  const absl::StatusOr<Url> url = Url::Parse(input, base_ptr);
  if (expect_failure) {
    if (url.ok()) return "expected failure, got " + Quote(Str(url->href()));
    if (url.status().code() != absl::StatusCode::kInvalidArgument) return "wrong status code";
    return "";
  }
  if (!url.ok()) return "unexpected failure: " + std::string(url.status().message());
  std::string diff;
  auto check = [&](const char* field, const std::string& actual) {
    if (!c.contains(field)) return;
    const std::string expected = c[field];
    if (expected != actual) {
      diff += std::string(field) + ": expected " + Quote(expected) + " got " + Quote(actual) + "; ";
    }
  };
  check("href", Str(url->href()));
  check("protocol", url->protocol());
  check("username", Str(url->username()));
  check("password", Str(url->password()));
  check("host", url->host());
  check("hostname", Str(url->hostname()));
  check("port", Str(url->port()));
  check("pathname", Str(url->pathname()));
  check("search", Str(url->search()));
  check("hash", Str(url->hash()));
  check("origin", url->origin());
  // The serialisation must be a fixed point of the parser.
  if (diff.empty()) {
    const absl::StatusOr<Url> again = Url::Parse(url->href());
    if (!again.ok() || again->href() != url->href()) diff += "href does not reparse to itself";
  }
  return diff;
}

TEST(WptUrlTestData, EveryCasePasses) {
  const Json data = LoadWpt("urltestdata.json");
  ASSERT_TRUE(data.is_array()) << "cannot read " << LOGOUT_WPT_DIR << "/urltestdata.json";
  int total = 0;
  int passed = 0;
  int http_total = 0;
  int http_passed = 0;
  int skipped = 0;
  for (const Json& c : data) {
    if (!c.is_object()) continue;  // section comments
    const std::string input = c["input"];
    if (FindSkip(std::begin(kUrlTestDataSkips), std::end(kUrlTestDataSkips), input) != nullptr) {
      ++skipped;
      continue;
    }
    const bool http = IsHttpCase(c);
    ++total;
    http_total += http ? 1 : 0;
    const std::string diff = CheckUrlCase(c);
    if (diff.empty()) {
      ++passed;
      http_passed += http ? 1 : 0;
    } else {
      ADD_FAILURE() << "input " << Quote(input) << " base "
                    << (c["base"].is_string() ? Quote(c["base"]) : "null") << ": " << diff;
    }
  }
  std::cout << "WPT urltestdata: " << passed << "/" << total
            << " passed (http/https: " << http_passed << "/" << http_total << "), " << skipped
            << " skipped" << std::endl;
  EXPECT_GT(total, 800);
}

TEST(WptToAscii, EveryCasePasses) {
  const Json data = LoadWpt("toascii.json");
  ASSERT_TRUE(data.is_array()) << "cannot read toascii.json";
  int total = 0;
  int passed = 0;
  int skipped = 0;
  for (const Json& c : data) {
    if (!c.is_object()) continue;
    const std::string input = c["input"];
    if (FindSkip(std::begin(kToAsciiSkips), std::end(kToAsciiSkips), input) != nullptr) {
      ++skipped;
      continue;
    }
    ++total;
    const absl::StatusOr<Url> url = Url::Parse("https://" + input + "/x");
    std::string diff;
    if (c["output"].is_null()) {
      if (url.ok()) diff = "expected failure, got " + Quote(Str(url->hostname()));
    } else {
      const std::string output = c["output"];
      if (!url.ok()) {
        diff = "unexpected failure: " + std::string(url.status().message());
      } else if (url->hostname() != output || url->host() != output || url->pathname() != "/x" ||
                 url->href() != "https://" + output + "/x") {
        diff = "got " + Quote(Str(url->href()));
      }
    }
    if (diff.empty()) {
      ++passed;
    } else {
      ADD_FAILURE() << "toascii " << Quote(input) << ": " << diff;
    }
  }
  std::cout << "WPT toascii: " << passed << "/" << total << " passed, " << skipped << " skipped"
            << std::endl;
}

// DecodeUtf8 returns the code points of `s` (valid UTF-8 assumed; test data only).
std::vector<char32_t> DecodeUtf8(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

// NeedsNewerUnicode is true when `input` holds a code point whose UTS #46 status changed after
// Unicode 15.0 (ICU 72's data), so IdnaTestV2.json (generated from newer Unicode) expects a
// result ICU 72 cannot give. The categories, all from UTS #46 revisions 31 (Unicode 15.1),
// 33 (16.0) and later:
//   - U+1E9E CAPITAL SHARP S now maps to U+00DF instead of "ss" (15.1);
//   - Georgian capitals U+10A0..U+10C5 are now mapped to Nuskhuri instead of disallowed (16.0);
//   - new case pairs / corrected mappings: U+04C0, U+2132, U+2183 (16.0);
//   - CJK compatibility ideographs U+2F800..U+2FA1D with corrected mappings (16.0);
//   - default-ignorable fillers and format characters now ignored instead of disallowed:
//     U+115F, U+1160, U+17B4, U+17B5, U+180E, U+206A..U+206F, U+3164, U+FFA0,
//     U+1D173..U+1D17A (16.0);
//   - code points unassigned in Unicode 15.0 (e.g. CJK Extension J, Unicode 17.0), found by
//     checking against the UTS #46 characters that ICU 72 rejects as disallowed.
bool IsChangedAfterUnicode15(char32_t c) {
  return c == 0x1E9E || (c >= 0x10A0 && c <= 0x10C5) || c == 0x04C0 || c == 0x2132 || c == 0x2183 ||
         (c >= 0x2F800 && c <= 0x2FA1D) || c == 0x115F || c == 0x1160 || c == 0x17B4 ||
         c == 0x17B5 || c == 0x180E || (c >= 0x206A && c <= 0x206F) || c == 0x3164 || c == 0xFFA0 ||
         (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0x323B0 && c <= 0x3347F);  // CJK Extension J (Unicode 17.0)
}

bool NeedsNewerUnicode(const std::string& input) {
  for (char32_t c : DecodeUtf8(input)) {
    if (IsChangedAfterUnicode15(c)) return true;
  }
  return false;
}

TEST(WptIdnaTestV2, PassesExceptNewerUnicode) {
  const Json data = LoadWpt("IdnaTestV2.json");
  ASSERT_TRUE(data.is_array()) << "cannot read IdnaTestV2.json";
  int total = 0;
  int passed = 0;
  int newer_unicode = 0;
  for (const Json& c : data) {
    if (!c.is_object()) continue;
    const std::string input = c["input"];
    // As in WPT's IdnaTestV2.window.js: the empty input cannot be a URL host; the URL
    // Standard's domain to ASCII fails on it while UTS #46 ToASCII returns "".
    if (input.empty()) continue;
    ++total;
    const absl::StatusOr<std::string> ascii = DomainToAscii(input);
    const bool ok = c["output"].is_null() ? !ascii.ok()
                                          : ascii.ok() && *ascii == c["output"].get<std::string>();
    if (ok) {
      ++passed;
    } else if (NeedsNewerUnicode(input)) {
      ++newer_unicode;
    } else {
      ADD_FAILURE() << "IdnaTestV2 " << Quote(input) << " (" << c.value("comment", "")
                    << "): expected " << (c["output"].is_null() ? "failure" : Quote(c["output"]))
                    << ", got " << (ascii.ok() ? Quote(*ascii) : "failure");
    }
  }
  std::cout << "WPT IdnaTestV2: " << passed << "/" << total << " passed, " << newer_unicode
            << " need Unicode data newer than ICU 72's" << std::endl;
}

}  // namespace
}  // namespace logout::url
