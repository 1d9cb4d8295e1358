#include "service/common/strict_json.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace logout::common {
namespace {

constexpr absl::StatusCode kOk = absl::StatusCode::kOk;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

struct Case {
  std::string name;
  std::string input;
  absl::StatusCode code;
  std::string message;  // substring of the status message; empty for valid inputs
};

// PrintTo names a failing case by its name instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Nested builds `depth` levels of alternating objects and arrays around a number:
// {"a":[{"a":[ ... 1 ... ]}]}.
std::string Nested(int depth) {
  std::string open;
  std::string close;
  for (int i = 0; i < depth; ++i) {
    if (i % 2 == 0) {
      open += "{\"a\":";
      close = "}" + close;
    } else {
      open += "[";
      close = "]" + close;
    }
  }
  return open + "1" + close;
}

class CheckStrictJsonTest : public ::testing::TestWithParam<Case> {};

TEST_P(CheckStrictJsonTest, ReportsCodeAndReason) {
  const Case& c = GetParam();
  const absl::Status status = CheckStrictJson(c.input);
  EXPECT_EQ(status.code(), c.code) << status;
  if (c.code == kOk) {
    EXPECT_EQ(status.message(), "");
  } else {
    EXPECT_NE(status.message().find(c.message), absl::string_view::npos)
        << "message: " << status.message() << "\nwanted:  " << c.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Valid, CheckStrictJsonTest,
    ::testing::ValuesIn(std::vector<Case>{
        {"AcceptsEmptyObject", "{}", kOk, ""},
        {"AcceptsEmptyArray", "[]", kOk, ""},
        {"AcceptsEmptyContainersWithWhitespace", " { } ", kOk, ""},
        {"AcceptsNestedObjects", R"({"a": {"b": {"c": {}}, "d": []}})", kOk, ""},
        {"AcceptsNestedArrays", "[[], [[1, 2], [3]], [[[]]]]", kOk, ""},
        {"AcceptsPolicyDocument",
         "{\r\n  \"tenants\": [\r\n    {\"name\": \"acme\", \"urls\": [\"https://a/\"], "
         "\"strict\": true, \"ttl\": null, \"weight\": -2.5e-1}\r\n  ]\r\n}\r\n",
         kOk, ""},
        {"AcceptsAllEscapes", R"("\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC \u0000")", kOk, ""},
        {"AcceptsSurrogatePair", R"(["\uD83D\uDE00"])", kOk, ""},
        {"AcceptsLowerCaseSurrogatePair", R"("\ud83d\ude00")", kOk, ""},
        {"AcceptsSurrogatePairInKey", R"({"\uD83D\uDE00": 1, "\uD83D\uDE01": 2})", kOk, ""},
        {"AcceptsRawUnicode", "{\"名前\": \"héllo 日本 😀\"}", kOk, ""},
        {"AcceptsDelInString", "\"a\x7F\"", kOk, ""},
        {"AcceptsNegativeZero", "-0", kOk, ""},
        {"AcceptsZero", "0", kOk, ""},
        {"AcceptsExponent", "1e10", kOk, ""},
        {"AcceptsFractionWithUpperCaseExponent", "1.5E-3", kOk, ""},
        {"AcceptsSignedExponent", "[-1.25e+7, 0.0, 10, 1E400]", kOk, ""},
        {"AcceptsTopLevelString", R"("just a string")", kOk, ""},
        {"AcceptsTopLevelTrue", "true", kOk, ""},
        {"AcceptsTopLevelFalse", "false", kOk, ""},
        {"AcceptsTopLevelNull", "null", kOk, ""},
        {"AcceptsSurroundingWhitespace", "\n\t 42 \r\n", kOk, ""},
        {"AcceptsSameKeyInSiblingObjects", R"([{"a": 1}, {"a": 2}])", kOk, ""},
        {"AcceptsSameKeyInNestedObject", R"({"a": {"a": 1}})", kOk, ""},
        {"AcceptsKeysDifferingInCase", R"({"a": 1, "A": 2})", kOk, ""},
        {"AcceptsNesting64Deep", Nested(64), kOk, ""},
    }),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Invalid, CheckStrictJsonTest,
    ::testing::ValuesIn(std::vector<Case>{
        // Trailing commas point at the closing bracket.
        {"RejectsTrailingCommaInObject", R"({"tenants": [{"name": "acme",}]})", kInvalid,
         "line 1, column 30: trailing comma before '}'"},
        {"RejectsTrailingCommaInArray", "[1, 2,]", kInvalid,
         "line 1, column 7: trailing comma before ']'"},
        {"RejectsTrailingCommaOnNextLine", "{\n  \"a\": 1,\n}", kInvalid,
         "line 3, column 1: trailing comma before '}'"},
        {"CountsColumnsInCodePoints", "{\"名前\": 1,}", kInvalid,
         "line 1, column 10: trailing comma before '}'"},
        // Single quotes and comments.
        {"RejectsSingleQuotedValue", "{\"a\": 'b'}", kInvalid,
         "line 1, column 7: single-quoted string (JSON strings use double quotes)"},
        {"RejectsSingleQuotedKey", "{'a': 1}", kInvalid,
         "line 1, column 2: single-quoted string (JSON strings use double quotes)"},
        {"RejectsLineComment", "{\n  // note\n  \"a\": 1\n}", kInvalid,
         "line 2, column 3: comments are not JSON"},
        {"RejectsBlockComment", "[1 /* x */]", kInvalid, "line 1, column 4: comments are not JSON"},
        {"RejectsCommentAfterValue", "{} // end", kInvalid,
         "line 1, column 4: comments are not JSON"},
        {"RejectsCommentBeforeColon", R"({"a" /* x */ : 1})", kInvalid,
         "line 1, column 6: comments are not JSON"},
        // Duplicate keys compare decoded keys.
        {"RejectsDuplicateKey", "{\n  \"a\": {\n    \"name\": 1,\n    \"name\": 2\n  }\n}",
         kInvalid,
         "line 4, column 5: duplicate key \"name\" in the same object (first at line 3, "
         "column 5)"},
        {"RejectsDuplicateKeyWrittenAsEscape", R"({"a": 1, "\u0061": 2})", kInvalid,
         "line 1, column 10: duplicate key \"a\" in the same object (first at line 1, column 2)"},
        {"RejectsDuplicateSurrogatePairKey", "{\"😀\": 1, \"\\uD83D\\uDE00\": 2}", kInvalid,
         "line 1, column 10: duplicate key \"😀\" in the same object"},
        {"EscapesQuoteInDuplicateKey", R"({"a\"b": 1, "a\"b": 2})", kInvalid,
         R"(duplicate key "a\"b" in the same object)"},
        {"EscapesControlCharacterInDuplicateKey", R"({"a\nb": 1, "a\u000Ab": 2})", kInvalid,
         R"(duplicate key "a\u000Ab" in the same object)"},
        {"TruncatesLongDuplicateKeyTo40Bytes",
         "{\"" + std::string(60, 'k') + "\": 1, \"" + std::string(60, 'k') + "\": 2}", kInvalid,
         "duplicate key \"" + std::string(40, 'k') + "…\" in the same object"},
        {"TruncatesLongKeyAtCharacterBoundary",
         "{\"" + std::string(39, 'k') + "é\": 1, \"" + std::string(39, 'k') + "é\": 2}", kInvalid,
         "duplicate key \"" + std::string(39, 'k') + "…\" in the same object"},
        // Unexpected characters.
        {"RejectsUnexpectedCharacter", "[1, @]", kInvalid,
         "line 1, column 5: unexpected character '@' (expected a JSON value)"},
        {"RejectsBareWord", "x", kInvalid, "line 1, column 1: unexpected character 'x'"},
        {"RejectsUnquotedKey", "{a: 1}", kInvalid,
         "line 1, column 2: unexpected character 'a' (expected a double-quoted key or '}')"},
        {"RejectsMismatchedCloser", "[1}", kInvalid,
         "line 1, column 3: unexpected character '}' (expected ',' or ']')"},
        {"RejectsMissingValue", R"({"a": })", kInvalid,
         "line 1, column 7: unexpected character '}' (expected a JSON value)"},
        {"RejectsEmptyArrayElement", "[1,,2]", kInvalid,
         "line 1, column 4: unexpected character ',' (expected a JSON value)"},
        {"RejectsNonAsciiOutsideString", "[é]", kInvalid,
         "line 1, column 2: unexpected character U+00E9"},
        {"RejectsNonBreakingSpace", "\xC2\xA0[]", kInvalid,
         "line 1, column 1: unexpected character U+00A0"},
        {"RejectsFormFeedAsWhitespace", "[1,\f2]", kInvalid,
         "line 1, column 4: unexpected character U+000C"},
        {"RejectsMissingCommaInArray", "[1 2]", kInvalid,
         "line 1, column 4: missing ',' between array elements"},
        {"RejectsMissingCommaInObject", R"({"a": 1 "b": 2})", kInvalid,
         "line 1, column 9: missing ',' between object members"},
        {"RejectsTrailingCommaBeforeBracketInObject", R"({"a": 1,])", kInvalid,
         "line 1, column 9: unexpected character ']' (expected a double-quoted key)"},
        // Strings.
        {"RejectsUnterminatedString", R"({"a": "abc)", kInvalid,
         "line 1, column 7: unterminated string"},
        {"RejectsBackslashAtEnd", "\"abc\\", kInvalid, "line 1, column 1: unterminated string"},
        {"RejectsInvalidEscape", R"(["a\qb"])", kInvalid, "line 1, column 4: invalid escape \\q"},
        {"RejectsEscapedSingleQuote", R"("it\'s")", kInvalid,
         "line 1, column 4: invalid escape \\'"},
        {"RejectsShortUnicodeEscape", R"("\u12G4")", kInvalid,
         "line 1, column 2: invalid escape \\u (it needs exactly 4 hex digits)"},
        {"RejectsTruncatedUnicodeEscape", R"("\u12)", kInvalid,
         "line 1, column 2: invalid escape \\u"},
        {"RejectsNewlineInString", "[\"a\nb\"]", kInvalid,
         "line 1, column 4: control character U+000A in a string"},
        {"RejectsTabInString", "\"a\tb\"", kInvalid,
         "line 1, column 3: control character U+0009 in a string"},
        {"RejectsNulInString", std::string("\"a\0b\"", 5), kInvalid,
         "line 1, column 3: control character U+0000 in a string"},
        // Surrogates.
        {"RejectsLoneHighSurrogate", R"("\uD800")", kInvalid,
         "line 1, column 2: lone surrogate \\uD800"},
        {"RejectsLoneLowSurrogate", R"(["x", "\uDE00"])", kInvalid,
         "line 1, column 8: lone surrogate \\uDE00"},
        {"RejectsHighSurrogateBeforeOtherEscape", R"("\ud83d\u0041")", kInvalid,
         "line 1, column 2: lone surrogate \\uD83D"},
        {"RejectsHighSurrogateBeforeText", R"("\uD83Dx")", kInvalid,
         "line 1, column 2: lone surrogate \\uD83D"},
        {"RejectsReversedSurrogatePair", R"("\uDE00\uD83D")", kInvalid,
         "line 1, column 2: lone surrogate \\uDE00"},
        {"RejectsLoneSurrogateInKey", R"({"\uD800": 1})", kInvalid,
         "line 1, column 3: lone surrogate \\uD800"},
        // Invalid UTF-8.
        {"RejectsInvalidUtf8Byte", "\"\xFF\"", kInvalid, "line 1, column 2: invalid UTF-8"},
        {"RejectsOverlongUtf8", "\"\xC0\xAF\"", kInvalid, "line 1, column 2: invalid UTF-8"},
        {"RejectsEncodedSurrogate", "\"\xED\xA0\x80\"", kInvalid,
         "line 1, column 2: invalid UTF-8"},
        {"RejectsCodePointAboveMax", "\"\xF4\x90\x80\x80\"", kInvalid,
         "line 1, column 2: invalid UTF-8"},
        {"RejectsTruncatedUtf8", "\"\xE6\x97\"", kInvalid, "line 1, column 2: invalid UTF-8"},
        {"RejectsStrayContinuationByte", "\"日\x80\"", kInvalid,
         "line 1, column 3: invalid UTF-8 (bad byte 0x80)"},
        {"RejectsInvalidUtf8OutsideString", "[\xFF]", kInvalid,
         "line 1, column 2: invalid UTF-8 (bad byte 0xFF)"},
        {"RejectsByteOrderMark", "\xEF\xBB\xBF{}", kInvalid,
         "line 1, column 1: UTF-8 byte order mark (U+FEFF)"},
        // Numbers.
        {"RejectsLeadingZero", "01", kInvalid, "line 1, column 1: leading zeros in a number"},
        {"RejectsNegativeLeadingZero", "[-01]", kInvalid,
         "line 1, column 2: leading zeros in a number"},
        {"RejectsDoubleZero", "00", kInvalid, "line 1, column 1: leading zeros in a number"},
        {"RejectsTrailingDot", "[1.]", kInvalid,
         "line 1, column 2: invalid number: '.' must be followed by a digit"},
        {"RejectsLeadingDot", ".5", kInvalid,
         "line 1, column 1: invalid number: a digit must come before '.'"},
        {"RejectsLeadingPlus", "+1", kInvalid,
         "line 1, column 1: invalid number: a leading '+' is not allowed"},
        {"RejectsBareMinus", "-", kInvalid,
         "line 1, column 1: invalid number: '-' must be followed by a digit"},
        {"RejectsEmptyExponent", "1e", kInvalid,
         "line 1, column 1: invalid number: the exponent needs a digit"},
        {"RejectsSignOnlyExponent", "[1E+]", kInvalid,
         "line 1, column 2: invalid number: the exponent needs a digit"},
        {"RejectsHexNumber", "0x1F", kInvalid, "line 1, column 1: invalid number: unexpected 'x'"},
        {"RejectsTwoDots", "1.2.3", kInvalid, "line 1, column 1: invalid number: unexpected '.'"},
        // Bare words.
        {"RejectsNaN", "NaN", kInvalid, "line 1, column 1: NaN/Infinity are not JSON"},
        {"RejectsLowerCaseNan", "[nan]", kInvalid, "line 1, column 2: NaN/Infinity are not JSON"},
        {"RejectsInfinity", R"({"x": Infinity})", kInvalid,
         "line 1, column 7: NaN/Infinity are not JSON"},
        {"RejectsNegativeInfinity", "-Infinity", kInvalid,
         "line 1, column 1: NaN/Infinity are not JSON"},
        {"RejectsUndefined", "[1, undefined]", kInvalid, "line 1, column 5: undefined is not JSON"},
        {"RejectsCapitalisedTrue", "True", kInvalid, "line 1, column 1: unknown literal"},
        {"RejectsUpperCaseNull", "NULL", kInvalid, "line 1, column 1: unknown literal"},
        {"RejectsTruncatedNull", "[nul]", kInvalid, "line 1, column 2: unknown literal"},
        {"RejectsTruncatedFalse", "fals", kInvalid, "line 1, column 1: unknown literal"},
        {"RejectsLiteralWithSuffix", "truex", kInvalid, "line 1, column 1: unknown literal"},
        {"RejectsPythonNone", "None", kInvalid, "line 1, column 1: unknown literal"},
        // Structure.
        {"RejectsMissingColon", R"({"a" 1})", kInvalid,
         "line 1, column 6: expected ':' after an object key"},
        {"RejectsEqualsForColon", R"({"a" = 1})", kInvalid,
         "line 1, column 6: expected ':' after an object key"},
        {"RejectsEndAfterKey", R"({"a")", kInvalid,
         "line 1, column 5: unexpected end of input (expected ':' after an object key)"},
        {"RejectsEmptyInput", "", kInvalid, "line 1, column 1: unexpected end of input"},
        {"RejectsWhitespaceOnlyInput", "  \n ", kInvalid,
         "line 2, column 2: unexpected end of input (expected a JSON value)"},
        {"RejectsUnclosedObject", R"({"a": 1)", kInvalid,
         "line 1, column 8: unexpected end of input (expected ',' or '}')"},
        {"RejectsUnclosedArray", "[1,", kInvalid,
         "line 1, column 4: unexpected end of input (expected a JSON value)"},
        {"RejectsUnclosedMultiLine", "{\n  \"a\": [\n    1\n", kInvalid,
         "line 4, column 1: unexpected end of input (expected ',' or ']')"},
        {"RejectsTwoValues", "{} {}", kInvalid,
         "line 1, column 4: extra text after the JSON value"},
        {"RejectsTwoNumbers", "1 2", kInvalid, "line 1, column 3: extra text after the JSON value"},
        {"RejectsExtraCloser", "{\"a\": [1]}}\n", kInvalid,
         "line 1, column 11: extra text after the JSON value"},
        {"RejectsNesting65Deep", Nested(65), kInvalid,
         "line 1, column 193: nesting deeper than 64"},
        {"RejectsDeepArrays", std::string(100, '[') + std::string(100, ']'), kInvalid,
         "line 1, column 65: nesting deeper than 64"},
    }),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(CheckStrictJsonMessageTest, NeverEchoesStringValues) {
  const std::string secret = "hunter2-secret-value";
  for (const std::string& input : {
           "{\"password\": \"" + secret + "\",}",
           "{\"password\": \"" + secret,
           "{\"password\": \"" + secret + "\n\"}",
           "{\"password\": \"" + secret + "\\q\"}",
           "{\"password\": \"" + secret + "\\uD800\"}",
           "{\"password\": \"" + secret + "\xFF\"}",
           "{\"password\": \"" + secret + "\" \"x\": 1}",
           "[\"" + secret + "\" \"" + secret + "\"]",
           "\"" + secret + "\" x",
       }) {
    const absl::Status status = CheckStrictJson(input);
    EXPECT_EQ(status.code(), kInvalid) << input;
    EXPECT_EQ(status.message().find("hunter2"), absl::string_view::npos) << status;
  }
}

}  // namespace
}  // namespace logout::common
