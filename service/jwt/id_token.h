// Decoding and signature verification of an ID token in JWS compact serialisation.
//
//   absl::StatusOr<IdToken> t = DecodeIdToken(hint);   // structure only: nothing is trusted yet
//   absl::Status s = VerifyWithKeys(*t, tenant_keys);  // or VerifyWithSecret(*t, secret)
//
// Decoding is strict: three base64url segments (no padding), JSON objects without duplicate
// member names at any depth, typed claims, bounded sizes. Unknown header parameters are ignored,
// except `crit`, which is refused (logoutd understands no extensions); key-carrying headers
// (`jwk`, `jku`, `x5u`, `x5c`) are never used.
#ifndef SERVICE_JWT_ID_TOKEN_H_
#define SERVICE_JWT_ID_TOKEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/key_set.h"

namespace logout::jwt {

// Limits on what DecodeIdToken accepts.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;
inline constexpr size_t kMaxHeaderBytes = 2048;

// IdToken is a decoded, not yet verified, JWS. Thread-compatible value type.
struct IdToken {
  // Header.
  Algorithm alg = Algorithm::kRS256;
  std::string kid;
  std::string typ;
  // Claims (empty / nullopt when absent).
  std::string iss;
  std::string sub;
  std::string sid;
  std::string azp;
  std::vector<std::string> aud;
  std::optional<int64_t> iat;
  std::optional<int64_t> nbf;
  std::optional<int64_t> exp;
  bool has_events = false;
  // What the signature covers (ASCII "header.payload") and the signature bytes.
  std::string signing_input;
  std::string signature;
};

// DecodeIdToken parses `compact`. Returns InvalidArgumentError with a short reason that never
// quotes the token: wrong segment count, bad base64url, oversize, not JSON / not an object,
// duplicate member, too deep, `alg` missing / "none" / not accepted, `crit` present, or a claim
// of the wrong type (`iss`, `sub`, `sid`, `azp`, `typ`, `kid` strings; `aud` string or array of
// strings; `iat`, `nbf`, `exp` numbers).
absl::StatusOr<IdToken> DecodeIdToken(absl::string_view compact);

// DecodeIdTokenInto is DecodeIdToken writing into `out`, whose strings keep their capacity (a
// caller that keeps one IdToken per thread decodes typical tokens without allocating). Every
// field of `out` is set on success; on error `out` holds unspecified values. Thread-safe (its
// own working buffers are per thread).
absl::Status DecodeIdTokenInto(absl::string_view compact, IdToken* out);

// VerifyWithKeys checks the signature with the candidate keys of `keys` for the token's `alg`
// and `kid` (see KeySet::Candidates). OK when one key verifies it; InvalidArgumentError
// otherwise (also for HMAC algorithms, which need VerifyWithSecret). Thread-safe.
absl::Status VerifyWithKeys(const IdToken& token, const KeySet& keys);

// VerifyWithSecret checks an HS256/384/512 signature with `secret`, comparing MACs in constant
// time. InvalidArgumentError for a mismatch or a non-HMAC `alg`. Thread-safe.
absl::Status VerifyWithSecret(const IdToken& token, absl::string_view secret);

}  // namespace logout::jwt

#endif  // SERVICE_JWT_ID_TOKEN_H_
