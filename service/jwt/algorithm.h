// The JWS algorithms logoutd accepts (an explicit allow-list; never "none").
//
//   std::optional<Algorithm> alg = AlgorithmFromName("ES256");
#ifndef SERVICE_JWT_ALGORITHM_H_
#define SERVICE_JWT_ALGORITHM_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace logout::jwt {

enum class Algorithm : uint8_t {
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kEdDSA,
  kHS256,
  kHS384,
  kHS512,
};

// The key family an algorithm needs.
enum class KeyFamily : uint8_t { kRsa, kEcP256, kEcP384, kEd25519, kSecret };

// AlgorithmFromName maps the JOSE name ("RS256") to the enum; std::nullopt for "none" and
// everything not in the list above (names are case-sensitive, as in RFC 7518).
std::optional<Algorithm> AlgorithmFromName(absl::string_view name);
// AlgorithmName is the JOSE name.
absl::string_view AlgorithmName(Algorithm alg);
// FamilyOf is the key family `alg` verifies with.
KeyFamily FamilyOf(Algorithm alg);
// IsHmac is true for HS256/384/512.
inline bool IsHmac(Algorithm alg) { return FamilyOf(alg) == KeyFamily::kSecret; }
// HashBytes is the digest size of `alg`'s hash (32, 48 or 64; 64 for EdDSA's SHA-512).
size_t HashBytes(Algorithm alg);

}  // namespace logout::jwt

#endif  // SERVICE_JWT_ALGORITHM_H_
