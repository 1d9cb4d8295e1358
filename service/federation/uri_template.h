// RFC 6570 URI Templates (levels 1-4) for federated logout URLs: a connection's template is
// parsed and validated once, when an admin writes it, and expanded per logout request.
//
//   absl::StatusOr<UriTemplate> t = UriTemplate::Parse("https://idp.example/bye{?state}");
//   t->Expand({{"state", TemplateValue::String("a b")}});  // "https://idp.example/bye?state=a%20b"
//
// This replaces Auth0's `getLogoutUrl(query, callback)` JavaScript: the variables are the logout
// request's parameters plus the connection's settings. Parse implements the grammar of RFC 6570
// §2 (with the verified erratum 6937, which admits "'" in literals) and Expand the algorithm of
// §3 and Appendix A, including prefix modifiers counted in code points and explode for lists
// and associative arrays. Every expanded byte is printable ASCII other than space: literal
// Unicode and all value bytes outside the operator's allowed set are percent-encoded as UTF-8.
//
// Reserved expansion ("{+var}", "{#var}") copies reserved characters such as '/', '?', '#' and
// '@' unencoded, so a value can change the structure of the URL (even its authority, as in
// "https://{+host}/"). Use it only for trusted connection settings, never for request
// parameters. Expand does not check that the result is a URL, let alone an https one: the
// caller parses it (service/url) and applies its own policy.
#ifndef SERVICE_FEDERATION_URI_TEMPLATE_H_
#define SERVICE_FEDERATION_URI_TEMPLATE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace logout::federation {

// TemplateValue is the value of one template variable: undefined, a string, a list of strings,
// or an associative array kept as an ordered list of (key, value) pairs (expanded in that
// order; duplicate keys are expanded as given). Strings must be UTF-8 (Expand fails otherwise).
//
// Per RFC 6570 §2.3 an empty list and an empty associative array count as undefined; an empty
// string is defined (and expands differently from an undefined value).
// Thread safety: a value type; const methods may be called concurrently.
class TemplateValue {
 public:
  enum class Kind : uint8_t { kUndefined, kString, kList, kAssoc };
  using Pair = std::pair<std::string, std::string>;

  // The default value is undefined, as is a variable missing from TemplateVariables.
  TemplateValue() = default;

  static TemplateValue Undefined() { return {}; }
  static TemplateValue String(std::string value);
  static TemplateValue List(std::vector<std::string> items);
  static TemplateValue Assoc(std::vector<Pair> pairs);

  Kind kind() const { return static_cast<Kind>(value_.index()); }
  // IsDefined is false for kUndefined and for an empty list or associative array (§2.3).
  bool IsDefined() const;

  // string_value is the string of a kString value, "" for any other kind. The view is valid
  // while this value is alive and unmodified.
  absl::string_view string_value() const;
  // list is the items of a kList value, empty for any other kind (same lifetime).
  absl::Span<const std::string> list() const;
  // assoc is the pairs of a kAssoc value, in order, empty for any other kind (same lifetime).
  absl::Span<const Pair> assoc() const;

 private:
  // The alternatives are in the order of Kind.
  std::variant<std::monostate, std::string, std::vector<std::string>, std::vector<Pair>> value_;
};

// TemplateVariables maps variable names, exactly as written in the template (case-sensitive,
// pct-encoded triplets not decoded: "{Stra%C3%9Fe}" looks up "Stra%C3%9Fe"), to values.
using TemplateVariables = absl::flat_hash_map<std::string, TemplateValue>;

// UriTemplate is a parsed, validated RFC 6570 level 4 template.
//
// Limits (each an InvalidArgumentError): the template text is at most kMaxTemplateBytes bytes
// and holds at most kMaxExpressions expressions, and its literal text alone expands to at most
// kMaxExpansionBytes bytes (checked by Parse); an expansion is at most kMaxExpansionBytes bytes
// (checked by Expand).
//
// Thread safety: immutable after Parse; Expand is const and may be called concurrently.
// Copyable and movable; it owns all its data.
class UriTemplate {
 public:
  static constexpr size_t kMaxTemplateBytes = 4096;
  static constexpr size_t kMaxExpressions = 64;
  static constexpr size_t kMaxExpansionBytes = 8192;

  // Parse validates the whole of `text` against RFC 6570 §2 and compiles it. Returns
  // InvalidArgumentError whose message names the byte offset of the problem, what is wrong and
  // at most a short escaped snippet of the template, for:
  //  - a literal character outside the allowed set: CTL, space, '"', '<', '>', '\', '^', '`',
  //    '|', '}', a '%' not starting a pct-encoded triplet, invalid UTF-8, or a code point that is
  //    neither ucschar nor iprivate (e.g. U+FDD0);
  //  - an unclosed or empty expression, a '{' inside one, a reserved operator ('=', ',', '!',
  //    '@', '|') or any other unknown one;
  //  - a malformed variable name (varchar = ALPHA / DIGIT / '_' / pct-encoded, single '.'
  //    between varchars), a prefix outside 1..9999 or with a leading zero, both ':' and '*',
  //    or anything but ',' or '}' after a varspec;
  //  - the limits above.
  // Templates are never partially accepted.
  static absl::StatusOr<UriTemplate> Parse(absl::string_view text);

  // Expand substitutes `vars` (RFC 6570 §3). Variables missing from `vars`, undefined, or empty
  // composites are skipped as the RFC says; extra variables are ignored. Returns the expansion,
  // or InvalidArgumentError (naming the variable, never echoing its value) when:
  //  - a prefix modifier (":n") is applied to a defined list or associative array (§2.4.1:
  //    prefixes apply only to strings);
  //  - an expanded string, list item, key or value is not valid UTF-8;
  //  - the result would exceed kMaxExpansionBytes bytes.
  // Prefixes count Unicode code points; with '+' and '#' a pct-encoded triplet in the value,
  // which these operators keep as is, counts as one character so it is never split.
  absl::StatusOr<std::string> Expand(const TemplateVariables& vars) const;

  // variable_names lists each distinct variable name once, in order of first appearance, as
  // written in the template. Valid while this template is alive.
  const std::vector<std::string>& variable_names() const { return variable_names_; }

  // text is the template as given to Parse. Valid while this template is alive.
  absl::string_view text() const { return text_; }

  // Expression is one "{...}" of the template: its operator ('\0' for simple string expansion,
  // else one of '+', '#', '.', '/', ';', '?', '&') and its variable names in order, as written.
  struct Expression {
    char op = '\0';
    std::vector<std::string> names;
  };
  // expressions lists the expressions in order of appearance: the k-th is the one opened by the
  // k-th '{' of text() (Parse admits '{' nowhere else). Lets a caller apply its own policy to
  // operators, e.g. refuse reserved expansion of untrusted variables. Built on each call.
  std::vector<Expression> expressions() const;

 private:
  struct VarSpec {
    std::string name;
    uint16_t max_length = 0;  // the prefix modifier; 0 when there is none
    bool explode = false;
  };
  // Part is either a literal (`varspecs` empty; `literal` already encoded for output) or an
  // expression with operator `op` ('\0' for simple string expansion).
  struct Part {
    std::string literal;
    char op = '\0';
    std::vector<VarSpec> varspecs;
  };

  UriTemplate() = default;

  std::string text_;
  std::vector<Part> parts_;
  std::vector<std::string> variable_names_;
};

}  // namespace logout::federation

#endif  // SERVICE_FEDERATION_URI_TEMPLATE_H_
