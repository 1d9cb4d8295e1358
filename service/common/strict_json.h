// A strict RFC 8259 JSON checker: says whether a text is exactly one JSON value, and if not,
// where and why. It validates only; it builds no values.
//
//   absl::Status s = logout::common::CheckStrictJson(R"({"a": [1, 2,]})");
//   // s.message() == "line 1, column 13: trailing comma before ']'"
//
// Use it to give a person a precise, safe diagnosis of a hand-written JSON document (a policy
// file, an admin request body) before handing the text to a real parser.
#ifndef SERVICE_COMMON_STRICT_JSON_H_
#define SERVICE_COMMON_STRICT_JSON_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace logout::common {

// CheckStrictJson checks that `text` is exactly one RFC 8259 JSON value (an object, array,
// string, number, true, false or null at the top level), optionally surrounded by JSON
// whitespace (space, tab, CR, LF). Returns OkStatus when it is.
//
// Otherwise returns InvalidArgumentError with the message
//   "line L, column C: <reason>"
// where L and C are 1-based. Lines are separated by LF (so CRLF text counts lines correctly).
// C counts Unicode code points (UTF-8 sequences) from the start of the line, not bytes; a tab
// counts as one. The position is that of the offending character; for a number it is the
// number's first character, for "unterminated string" the opening quote, for a duplicate key
// its opening quote, and for "unexpected end of input" the end of the text. Reasons include:
//   "trailing comma before '}'" / "trailing comma before ']'" (at the closing bracket),
//   "single-quoted string (JSON strings use double quotes)", "comments are not JSON",
//   "duplicate key \"name\" in the same object (first at line 3, column 5)",
//   "unexpected character 'x' (expected ...)", "unterminated string",
//   "invalid escape \q (...)", "control character U+000A in a string (...)",
//   "invalid number: ...", "leading zeros in a number", "expected ':' after an object key",
//   "missing ',' between object members", "missing ',' between array elements",
//   "unexpected end of input (expected ...)", "extra text after the JSON value",
//   "invalid UTF-8 (...)", "lone surrogate \uD800 (...)", "NaN/Infinity are not JSON",
//   "undefined is not JSON", "unknown literal (...)", "nesting deeper than 64",
//   "UTF-8 byte order mark (U+FEFF) at the start (not allowed)".
// The first error found is reported; checking stops there.
//
// Messages never contain string values. They may contain a single offending character (or its
// U+XXXX code point), an escape as written (at most 6 bytes), and for a duplicate key the
// decoded key, escaped and cut to at most 40 bytes followed by "…".
//
// Strictness: duplicate keys are compared after decoding escapes ("a" and "\u0061" collide);
// escapes of lone surrogates and invalid UTF-8 (overlong forms, encoded surrogates, code points
// above U+10FFFF) are refused; arrays and objects nest at most 64 deep.
//
// Deliberately not checked: the size of `text` (the caller bounds it), the range or precision
// of numbers (1e999 is valid JSON), noncharacters such as U+FFFE, and "\u0000" in strings.
//
// Thread safety: a pure function; `text` is only read during the call. Allocates only the key
// set of each object being checked (at most 64 live at once).
absl::Status CheckStrictJson(absl::string_view text);

}  // namespace logout::common

#endif  // SERVICE_COMMON_STRICT_JSON_H_
