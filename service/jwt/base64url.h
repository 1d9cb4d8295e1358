// Strict base64url (RFC 4648 §5) as JWS uses it: no padding, no whitespace, canonical trailing
// bits.
//
//   std::optional<std::string> bytes = Base64UrlDecode("eyJhbGciOiJSUzI1NiJ9");
#ifndef SERVICE_JWT_BASE64URL_H_
#define SERVICE_JWT_BASE64URL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace logout::jwt {

// Base64UrlDecode returns the decoded bytes, or std::nullopt when `in` has a character outside
// the base64url alphabet, padding, a length of 1 mod 4, or non-zero unused trailing bits (so
// every byte string has exactly one accepted encoding). Thread-safe.
std::optional<std::string> Base64UrlDecode(absl::string_view in);
// Base64UrlDecodeTo is Base64UrlDecode into `out` (its capacity is kept). Returns false, with
// `out` holding unspecified bytes, where Base64UrlDecode returns std::nullopt.
bool Base64UrlDecodeTo(absl::string_view in, std::string* out);

// Base64UrlEncode encodes without padding.
std::string Base64UrlEncode(absl::string_view in);

}  // namespace logout::jwt

#endif  // SERVICE_JWT_BASE64URL_H_
