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

// ---------------------------------------------------------------------------------------------
// Named cases for the behaviour an open-redirect guard depends on.

struct ParseCase {
  const char* name;
  std::string input;
  const char* href;                // nullptr: Parse must fail with InvalidArgument
  const char* hostname = nullptr;  // checked when set
  bool saw_userinfo = false;
  const char* base = nullptr;
};

std::string CaseName(const testing::TestParamInfo<ParseCase>& info) { return info.param.name; }

class ParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseTest, MatchesBrowser) {
  const ParseCase& c = GetParam();
  std::optional<absl::StatusOr<Url>> base;
  if (c.base != nullptr) {
    base = Url::Parse(c.base);
    ASSERT_TRUE(base->ok()) << base->status();
  }
  const absl::StatusOr<Url> url = Url::Parse(c.input, base.has_value() ? &**base : nullptr);
  if (c.href == nullptr) {
    ASSERT_FALSE(url.ok()) << "parsed as " << url->href();
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->href(), c.href);
  if (c.hostname != nullptr) {
    EXPECT_EQ(url->hostname(), c.hostname);
  }
  EXPECT_EQ(url->saw_userinfo_delimiter(), c.saw_userinfo);
  // The serialisation is a fixed point.
  const absl::StatusOr<Url> again = Url::Parse(url->href());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->href(), url->href());
}

const ParseCase kUserinfoCases[] = {
    {"RecordsEmptyUserinfoDelimiter", "https://@example.com/", "https://example.com/",
     "example.com", true},
    {"RecordsColonOnlyUserinfo", "https://:@example.com", "https://example.com/", "example.com",
     true},
    {"KeepsUserAndPassword", "https://user:pass@example.com/", "https://user:pass@example.com/",
     "example.com", true},
    {"LastAtSignEndsUserinfo", "https://a@evil.com@example.com/",
     "https://a%40evil.com@example.com/", "example.com", true},
    {"ColonInPasswordIsEncoded", "https://u:p:q@example.com/", "https://u:p%3Aq@example.com/",
     "example.com", true},
    {"AtSignInPathIsNotUserinfo", "https://example.com/@evil.com", "https://example.com/@evil.com",
     "example.com", false},
    {"AtSignInQueryIsNotUserinfo", "https://example.com?@evil.com",
     "https://example.com/?@evil.com", "example.com", false},
    {"BackslashEndsAuthorityBeforeAtSign", "https://evil.com\\@example.com/",
     "https://evil.com/@example.com/", "evil.com", false},
    {"RejectsEncodedAtSignInHost", "https://evil.com%40example.com/", nullptr},
    {"RejectsUserinfoWithoutHost", "https://user@/", nullptr},
    {"RejectsAtSignOnlyAuthority", "https://@/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(Userinfo, ParseTest, testing::ValuesIn(kUserinfoCases), CaseName);

const ParseCase kSlashCases[] = {
    {"BackslashesAreSlashesInHttps", "https:\\\\example.com\\a\\b", "https://example.com/a/b",
     "example.com"},
    {"MixedSlashesBeforeAuthority", "https:/\\/\\example.com", "https://example.com/",
     "example.com"},
    {"MissingSlashesStillGiveAuthority", "https:example.com/x", "https://example.com/x",
     "example.com"},
    {"ManySlashesBeforeHost", "https:////example.com", "https://example.com/", "example.com"},
    {"BackslashSchemeRelativeTakesNewHost", "\\\\evil.com/x", "https://evil.com/x", "evil.com",
     false, "https://example.com/a"},
    {"SlashBackslashSchemeRelativeTakesNewHost", "/\\evil.com", "https://evil.com/", "evil.com",
     false, "https://example.com/a"},
    {"BackslashIsDataInNonSpecialUrl", "sc:\\\\evil.com", "sc:\\\\evil.com", ""},
    {"RejectsSchemeRelativeWithoutBase", "//example.com/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(Slashes, ParseTest, testing::ValuesIn(kSlashCases), CaseName);

const ParseCase kWhitespaceCases[] = {
    {"StripsTabInScheme", "ht\ttps://example.com/", "https://example.com/", "example.com"},
    {"StripsNewlinesInHost", "https://exam\r\nple.com/", "https://example.com/", "example.com"},
    {"TrimsLeadingAndTrailingControls", std::string("\x01\x00 https://example.com/ \x1f", 24),
     "https://example.com/", "example.com"},
    {"StripsTabInJavascriptScheme", "java\tscript:alert(1)", "javascript:alert(1)", ""},
    {"RejectsSpaceInHost", "https://exa mple.com/", nullptr},
    {"RejectsNulInHost", std::string("https://exa\0mple.com/", 21), nullptr},
    {"EncodesSpaceInPath", "https://example.com/a b", "https://example.com/a%20b"},
};
INSTANTIATE_TEST_SUITE_P(Whitespace, ParseTest, testing::ValuesIn(kWhitespaceCases), CaseName);

const ParseCase kSchemeCases[] = {
    {"LowerCasesMixedCaseJavascript", "JaVaScRiPt:alert(1)", "javascript:alert(1)", ""},
    {"TrimsSpaceBeforeJavascript", " javascript:alert(1)", "javascript:alert(1)", ""},
    {"KeepsDataUrlOpaque", "data:text/html,<script>alert(1)</script>",
     "data:text/html,<script>alert(1)</script>", ""},
    {"LowerCasesHttpsSchemeAndHost", "HTTPS://EXAMPLE.COM/A", "https://example.com/A",
     "example.com"},
    {"RejectsRelativeWithoutBase", "/path", nullptr},
    {"RejectsEmptyInput", "", nullptr},
};
INSTANTIATE_TEST_SUITE_P(Schemes, ParseTest, testing::ValuesIn(kSchemeCases), CaseName);

const ParseCase kIdnCases[] = {
    {"IdeographicFullStopIsDot", "https://example\u3002com/", "https://example.com/",
     "example.com"},
    {"FullwidthFullStopIsDot", "https://example\uff0ecom/", "https://example.com/", "example.com"},
    {"HalfwidthIdeographicFullStopIsDot", "https://example\uff61com/", "https://example.com/",
     "example.com"},
    {"FullwidthLettersMapToAscii", "https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/",
     "https://example.com/", "example.com"},
    {"FullwidthDigitsBecomeIPv4", "https://\uff11\uff12\uff17.0.0.1/", "https://127.0.0.1/",
     "127.0.0.1"},
    {"UnicodeDomainBecomesPunycode", "https://b\u00fccher.de/", "https://xn--bcher-kva.de/",
     "xn--bcher-kva.de"},
    {"SharpSIsNonTransitional", "https://fa\u00df.de/", "https://xn--fa-hia.de/", "xn--fa-hia.de"},
    {"SoftHyphenIsIgnored", "https://ex\u00adample.com/", "https://example.com/", "example.com"},
    {"PercentEncodedDotIsDecoded", "https://example%2Ecom/", "https://example.com/", "example.com"},
    {"PercentEncodedUnicodeIsDecoded", "https://%E2%80%8Bexample.com/", "https://example.com/",
     "example.com"},
    {"RejectsJoinerOutsideContext", "https://a\u200db.com/", nullptr},
    {"RejectsBidiViolation", "https://\u064aa.com/", nullptr},
    {"RejectsFullwidthSolidusInHost", "https://evil.com\uff0fexample.com/", nullptr},
    {"RejectsInvalidPercentEncodingInHost", "https://ex%zzample.com/", nullptr},
    {"IgnoresHyphensInThirdAndFourthPosition", "https://ab--c.\u00e9/", "https://ab--c.xn--9ca/",
     "ab--c.xn--9ca"},
    {"RejectsPunycodeThatDecodesToXnLabel", "https://xn--xn--a--gua.\u00e9/", nullptr},
    {"KeepsAsciiPunycodeLabel", "https://XN--BCHER-KVA.de/", "https://xn--bcher-kva.de/",
     "xn--bcher-kva.de"},
};
INSTANTIATE_TEST_SUITE_P(Idn, ParseTest, testing::ValuesIn(kIdnCases), CaseName);

const ParseCase kTraversalCases[] = {
    {"ResolvesDotDot", "https://example.com/a/b/../c", "https://example.com/a/c"},
    {"ResolvesEncodedDotDot", "https://example.com/a/b/%2e%2e/c", "https://example.com/a/c"},
    {"ResolvesMixedCaseEncodedDotDot", "https://example.com/a/b/%2E./c", "https://example.com/a/c"},
    {"ResolvesDotDotWithBackslashes", "https://example.com/a\\b\\..\\c", "https://example.com/a/c"},
    {"DotDotCannotClimbAboveRoot", "https://example.com/../../x", "https://example.com/x"},
    {"KeepsDotDotSemicolon", "https://example.com/a/..;/b", "https://example.com/a/..;/b"},
    {"KeepsEncodedSlash", "https://example.com/a/..%2fb", "https://example.com/a/..%2fb"},
    {"KeepsDoubleEncodedDots", "https://example.com/a/%252e%252e/b",
     "https://example.com/a/%252e%252e/b"},
    {"RemovesSingleDots", "https://example.com/./a/./", "https://example.com/a/"},
    {"TrailingDotDotLeavesSlash", "https://example.com/a/b/..", "https://example.com/a/"},
    {"RelativeDotDotResolvesAgainstBase", "../../x", "https://example.com/x", "example.com", false,
     "https://example.com/a/b/c"},
};
INSTANTIATE_TEST_SUITE_P(Traversal, ParseTest, testing::ValuesIn(kTraversalCases), CaseName);

const ParseCase kPortCases[] = {
    {"ElidesDefaultHttpsPort", "https://example.com:443/", "https://example.com/"},
    {"ElidesDefaultHttpPort", "http://example.com:80/", "http://example.com/"},
    {"ElidesDefaultPortWithLeadingZeros", "https://example.com:000443/", "https://example.com/"},
    {"KeepsNonDefaultPort", "https://example.com:8443/", "https://example.com:8443/"},
    {"KeepsHttpsPortOnHttp", "http://example.com:443/", "http://example.com:443/"},
    {"DropsEmptyPort", "https://example.com:/", "https://example.com/"},
    {"RejectsPortAbove65535", "https://example.com:65536/", nullptr},
    {"RejectsNonDigitPort", "https://example.com:44a/", nullptr},
    {"RejectsPortWithoutHost", "https://:443/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(Ports, ParseTest, testing::ValuesIn(kPortCases), CaseName);

const ParseCase kIPv4Cases[] = {
    {"HexAndShortForm", "http://0x7f.1/", "http://127.0.0.1/", "127.0.0.1"},
    {"SingleDecimalNumber", "http://2130706433/", "http://127.0.0.1/", "127.0.0.1"},
    {"OctalFirstPart", "http://0177.0.0.1/", "http://127.0.0.1/", "127.0.0.1"},
    {"UpperCaseHexPrefix", "http://0X7F000001/", "http://127.0.0.1/", "127.0.0.1"},
    {"TrailingDotDropped", "http://127.0.0.1./", "http://127.0.0.1/", "127.0.0.1"},
    {"PercentEncodedDigits", "http://%31%32%37.0.0.1/", "http://127.0.0.1/", "127.0.0.1"},
    {"NonNumericLastLabelIsDomain", "http://1.2.3.4.example/", "http://1.2.3.4.example/",
     "1.2.3.4.example"},
    {"RejectsPartAbove255", "http://256.0.0.1/", nullptr},
    {"RejectsFiveParts", "http://1.2.3.4.5/", nullptr},
    {"RejectsBadOctalDigit", "http://1.2.3.09/", nullptr},
    {"RejectsNumberAbove32Bits", "http://4294967296/", nullptr},
    {"RejectsDomainEndingInHexNumber", "http://example.0x1/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(IPv4, ParseTest, testing::ValuesIn(kIPv4Cases), CaseName);

const ParseCase kIPv6Cases[] = {
    {"MappedIPv4IsSerialisedAsHex", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
     "[::ffff:7f00:1]"},
    {"LoopbackIsCompressed", "http://[0:0:0:0:0:0:0:1]/", "http://[::1]/", "[::1]"},
    {"HexIsLowerCased", "http://[2001:DB8::A]/", "http://[2001:db8::a]/", "[2001:db8::a]"},
    {"LongestZeroRunIsCompressed", "http://[1:0:0:2:0:0:0:3]/", "http://[1:0:0:2::3]/",
     "[1:0:0:2::3]"},
    {"FirstOfEqualRunsIsCompressed", "http://[1:0:0:2:0:0:3:4]/", "http://[1::2:0:0:3:4]/",
     "[1::2:0:0:3:4]"},
    {"SingleZeroIsNotCompressed", "http://[1:0:2:3:4:5:6:7]/", "http://[1:0:2:3:4:5:6:7]/"},
    {"KeepsPortAfterAddress", "http://[::1]:8080/", "http://[::1]:8080/", "[::1]"},
    {"RejectsUnclosedBracket", "http://[::1/", nullptr},
    {"RejectsZoneId", "http://[fe80::1%25eth0]/", nullptr},
    {"RejectsTwoCompressions", "http://[1::2::3]/", nullptr},
    {"RejectsIPv4WithLeadingZero", "http://[::ffff:127.0.0.01]/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(IPv6, ParseTest, testing::ValuesIn(kIPv6Cases), CaseName);

const ParseCase kHostCases[] = {
    {"KeepsTrailingDot", "https://example.com./", "https://example.com./", "example.com."},
    {"KeepsTwoTrailingDots", "https://example.com../", "https://example.com../", "example.com.."},
    {"RejectsEmptyHttpHost", "http://", nullptr},
    {"RejectsEmptyHostBeforeQuery", "https://?x", nullptr},
    {"RejectsEmptyHostBeforeFragment", "https://#x", nullptr},
    {"ThirdSlashStartsHostForHttp", "http:///example.com/", "http://example.com/", "example.com"},
    {"AllowsEmptyFileHost", "file:///etc/passwd", "file:///etc/passwd", ""},
    {"LocalhostFileHostBecomesEmpty", "file://localhost/etc", "file:///etc", ""},
    {"KeepsOpaqueHostOfNonSpecialUrl", "sc://EX%41mple/", "sc://EX%41mple/", "EX%41mple"},
    {"RejectsCaretInHost", "https://a^b.com/", nullptr},
};
INSTANTIATE_TEST_SUITE_P(Hosts, ParseTest, testing::ValuesIn(kHostCases), CaseName);

TEST(UrlAccessorsTest, ExposesComponentsOfHttpsUrl) {
  const absl::StatusOr<Url> url = Url::Parse("HTTPS://u:p@EXAMPLE.com:8443/a/../b?x=1#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->href(), "https://u:p@example.com:8443/b?x=1#frag");
  EXPECT_EQ(url->scheme(), "https");
  EXPECT_EQ(url->protocol(), "https:");
  EXPECT_EQ(url->username(), "u");
  EXPECT_EQ(url->password(), "p");
  EXPECT_TRUE(url->has_credentials());
  EXPECT_TRUE(url->saw_userinfo_delimiter());
  EXPECT_EQ(url->host_type(), HostType::kDomain);
  EXPECT_EQ(url->hostname(), "example.com");
  EXPECT_EQ(url->host(), "example.com:8443");
  EXPECT_EQ(url->port(), "8443");
  EXPECT_EQ(url->effective_port(), 8443);
  EXPECT_EQ(url->pathname(), "/b");
  EXPECT_EQ(url->search(), "?x=1");
  EXPECT_EQ(url->query(), "x=1");
  EXPECT_EQ(url->hash(), "#frag");
  EXPECT_EQ(url->fragment(), "frag");
  EXPECT_TRUE(url->is_special());
  EXPECT_FALSE(url->has_opaque_path());
  EXPECT_EQ(url->origin(), "https://example.com:8443");
}

TEST(UrlAccessorsTest, DistinguishesEmptyFromAbsentQueryAndFragment) {
  const absl::StatusOr<Url> empty = Url::Parse("https://example.com/?#");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->has_query());
  EXPECT_TRUE(empty->has_fragment());
  EXPECT_EQ(empty->search(), "");
  EXPECT_EQ(empty->hash(), "");
  const absl::StatusOr<Url> none = Url::Parse("https://example.com/");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_query());
  EXPECT_FALSE(none->has_fragment());
  EXPECT_EQ(none->effective_port(), 443);
  EXPECT_EQ(none->port(), "");
}

TEST(UrlAccessorsTest, ReportsHostTypes) {
  struct {
    const char* input;
    HostType type;
  } const cases[] = {
      {"mailto:x@example.com", HostType::kNone}, {"sc://", HostType::kEmpty},
      {"file:///x", HostType::kEmpty},           {"https://a.example", HostType::kDomain},
      {"https://127.1", HostType::kIPv4},        {"https://[::1]", HostType::kIPv6},
      {"sc://host", HostType::kOpaque},
  };
  for (const auto& c : cases) {
    const absl::StatusOr<Url> url = Url::Parse(c.input);
    ASSERT_TRUE(url.ok()) << c.input;
    EXPECT_EQ(url->host_type(), c.type) << c.input;
  }
}

TEST(UrlErrorTest, NamesFailureKindWithoutEchoingInput) {
  struct {
    const char* input;
    const char* message_part;
  } const cases[] = {
      {"https://secret-host:99999/", "invalid port"},
      {"https://secret host/", "invalid host"},
      {"https://[secret/", "invalid host"},
      {"secret-relative", "missing scheme"},
  };
  for (const auto& c : cases) {
    const absl::StatusOr<Url> url = Url::Parse(c.input);
    ASSERT_FALSE(url.ok()) << c.input;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(url.status().message().find(c.message_part), absl::string_view::npos) << url.status();
    EXPECT_EQ(url.status().message().find("secret"), absl::string_view::npos) << url.status();
  }
}

TEST(UrlParseTest, ReplacesInvalidUtf8WithReplacementCharacter) {
  const absl::StatusOr<Url> url = Url::Parse("https://example.com/\xff?\xc3");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->href(), "https://example.com/%EF%BF%BD?%EF%BF%BD");
}

// ParseInto and WithQueryInto reuse the buffer of the Url they write into: what they produce
// must not depend on what that Url held before.
TEST(UrlParseTest, ParseIntoAReusedUrlEqualsAFreshParse) {
  const char* const inputs[] = {"https://user:pw@a.example.com:8443/long/path/x?q=1#frag",
                                "http://b.example/",
                                "https://[::1]/?",
                                "not a url",
                                "https://c.example.com/p#f",
                                "sc:opaque?x"};
  Url reused;
  Url with_query;
  for (int round = 0; round < 2; ++round) {
    for (const char* input : inputs) {
      const absl::StatusOr<Url> fresh = Url::Parse(input);
      const absl::Status status = Url::ParseInto(input, &reused);
      ASSERT_EQ(status.ok(), fresh.ok()) << input;
      if (!fresh.ok()) {
        EXPECT_EQ(status, fresh.status()) << input;
        EXPECT_EQ(reused.href(), "") << input;
        continue;
      }
      EXPECT_EQ(reused.href(), fresh->href()) << input;
      EXPECT_EQ(reused.hostname(), fresh->hostname()) << input;
      EXPECT_EQ(reused.port(), fresh->port()) << input;
      EXPECT_EQ(reused.pathname(), fresh->pathname()) << input;
      EXPECT_EQ(reused.search(), fresh->search()) << input;
      EXPECT_EQ(reused.hash(), fresh->hash()) << input;
      EXPECT_EQ(reused.username(), fresh->username()) << input;
      fresh->WithQueryInto("state=1", &with_query);
      EXPECT_EQ(with_query.href(), fresh->WithQuery("state=1").href()) << input;
      EXPECT_EQ(with_query.hash(), fresh->hash()) << input;
      EXPECT_EQ(with_query.query(), "state=1") << input;
    }
  }
}

struct WithQueryCase {
  const char* name;
  const char* url;
  std::string query;
  const char* href;
};

class WithQueryTest : public testing::TestWithParam<WithQueryCase> {};

TEST_P(WithQueryTest, EncodesLikeTheQueryState) {
  const WithQueryCase& c = GetParam();
  const absl::StatusOr<Url> url = Url::Parse(c.url);
  ASSERT_TRUE(url.ok()) << url.status();
  const Url with = url->WithQuery(c.query);
  EXPECT_EQ(with.href(), c.href);
  EXPECT_TRUE(with.has_query());
  // Accessors agree with a fresh parse of the result.
  const absl::StatusOr<Url> again = Url::Parse(with.href());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->href(), with.href());
  EXPECT_EQ(again->query(), with.query());
  EXPECT_EQ(again->search(), with.search());
  EXPECT_EQ(again->hash(), with.hash());
  EXPECT_EQ(again->pathname(), with.pathname());
  EXPECT_EQ(again->hostname(), with.hostname());
}

const WithQueryCase kWithQueryCases[] = {
    {"EncodesSpaceQuoteAndAngleBrackets", "https://example.com/cb", "state=a b\"<>",
     "https://example.com/cb?state=a%20b%22%3C%3E"},
    {"EncodesApostropheForSpecialUrls", "https://example.com/cb", "s='x'",
     "https://example.com/cb?s=%27x%27"},
    {"KeepsApostropheForNonSpecialUrls", "sc://host/cb", "s='x'", "sc://host/cb?s='x'"},
    {"EncodesHashSoItStaysInQuery", "https://example.com/cb", "a#b",
     "https://example.com/cb?a%23b"},
    {"KeepsFragment", "https://example.com/cb#frag", "x=1", "https://example.com/cb?x=1#frag"},
    {"ReplacesExistingQuery", "https://example.com/cb?old=1#f", "new=2",
     "https://example.com/cb?new=2#f"},
    {"EncodesNonAsciiAsUtf8", "https://example.com/", "v=\u00e9", "https://example.com/?v=%C3%A9"},
    {"DoesNotReencodePercentEscapes", "https://example.com/", "a=%20&b=%zz",
     "https://example.com/?a=%20&b=%zz"},
    {"EncodesControlCharacters", "https://example.com/", "a\tb\nc",
     "https://example.com/?a%09b%0Ac"},
    {"EmptyQueryLeavesQuestionMark", "https://example.com/p", "", "https://example.com/p?"},
    {"KeepsCredentialsAndPort", "https://u@example.com:8443/p", "q",
     "https://u@example.com:8443/p?q"},
};
INSTANTIATE_TEST_SUITE_P(WithQuery, WithQueryTest, testing::ValuesIn(kWithQueryCases),
                         [](const testing::TestParamInfo<WithQueryCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace logout::url
