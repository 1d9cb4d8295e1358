#include "service/jwt/algorithm.h"

#include <array>
#include <utility>

namespace logout::jwt {
namespace {

constexpr std::array<std::pair<absl::string_view, Algorithm>, 12> kNames = {{
    {"RS256", Algorithm::kRS256},
    {"RS384", Algorithm::kRS384},
    {"RS512", Algorithm::kRS512},
    {"PS256", Algorithm::kPS256},
    {"PS384", Algorithm::kPS384},
    {"PS512", Algorithm::kPS512},
    {"ES256", Algorithm::kES256},
    {"ES384", Algorithm::kES384},
    {"EdDSA", Algorithm::kEdDSA},
    {"HS256", Algorithm::kHS256},
    {"HS384", Algorithm::kHS384},
    {"HS512", Algorithm::kHS512},
}};

}  // namespace

std::optional<Algorithm> AlgorithmFromName(absl::string_view name) {
  for (const auto& [n, alg] : kNames) {
    if (n == name) return alg;
  }
  return std::nullopt;
}

absl::string_view AlgorithmName(Algorithm alg) {
  for (const auto& [n, a] : kNames) {
    if (a == alg) return n;
  }
  return "";
}

KeyFamily FamilyOf(Algorithm alg) {
  switch (alg) {
    case Algorithm::kRS256:
    case Algorithm::kRS384:
    case Algorithm::kRS512:
    case Algorithm::kPS256:
    case Algorithm::kPS384:
    case Algorithm::kPS512:
      return KeyFamily::kRsa;
    case Algorithm::kES256:
      return KeyFamily::kEcP256;
    case Algorithm::kES384:
      return KeyFamily::kEcP384;
    case Algorithm::kEdDSA:
      return KeyFamily::kEd25519;
    case Algorithm::kHS256:
    case Algorithm::kHS384:
    case Algorithm::kHS512:
      return KeyFamily::kSecret;
  }
  return KeyFamily::kSecret;
}

size_t HashBytes(Algorithm alg) {
  switch (alg) {
    case Algorithm::kRS256:
    case Algorithm::kPS256:
    case Algorithm::kES256:
    case Algorithm::kHS256:
      return 32;
    case Algorithm::kRS384:
    case Algorithm::kPS384:
    case Algorithm::kES384:
    case Algorithm::kHS384:
      return 48;
    default:
      return 64;
  }
}

}  // namespace logout::jwt
