// Streams a JSON object (SAX: no DOM is built) and extracts only the top-level members a caller
// names, with their expected types. Used for JWS headers and claims.
//
//   constexpr MemberSpec kSpecs[] = {{"alg", Want::kString}, {"crit", Want::kPresence}};
//   std::array<MemberValue, 2> values;
//   absl::Status s = ExtractMembers(header_json, kSpecs, absl::MakeSpan(values));
#ifndef SERVICE_JWT_INTERNAL_JSON_MEMBERS_H_
#define SERVICE_JWT_INTERNAL_JSON_MEMBERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace logout::jwt::internal {

// Nesting deeper than this (objects and arrays) is refused.
inline constexpr int kMaxJsonDepth = 16;

// What a named top-level member must be.
enum class Want : uint8_t { kString, kNumber, kStringOrStrings, kPresence };

struct MemberSpec {
  absl::string_view name;
  Want want;
};

struct MemberValue {
  bool present = false;
  std::string str;                   // kString, or kStringOrStrings given as one string
  std::vector<std::string> strings;  // kStringOrStrings given as an array
  bool is_integer = false;           // kNumber: exact int64 value in `integer`
  int64_t integer = 0;
  double number = 0;  // kNumber: the value (approximate for huge integers)
};

// ExtractMembers parses `json`, which must be one JSON object, and fills `out[i]` for the member
// named `specs[i].name`. Returns InvalidArgumentError ("is not valid JSON", "is not a JSON
// object", "has a duplicate member name" — at any depth —, "is nested too deeply", "member
// \"x\" has the wrong type"). Unnamed members are skipped but still checked for duplicates and
// depth. `out` must have specs.size() elements. Thread-safe.
absl::Status ExtractMembers(absl::string_view json, absl::Span<const MemberSpec> specs,
                            absl::Span<MemberValue> out);

}  // namespace logout::jwt::internal

#endif  // SERVICE_JWT_INTERNAL_JSON_MEMBERS_H_
