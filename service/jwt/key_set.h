// A tenant's JSON Web Key Set, parsed into OpenSSL public keys once, when the policy snapshot is
// built.
//
//   absl::StatusOr<std::unique_ptr<KeySet>> keys = KeySet::Create(tenant.jwks());
//   for (const Key* k : (*keys)->Candidates(Algorithm::kRS256, "k1")) { ... }
#ifndef SERVICE_JWT_KEY_SET_H_
#define SERVICE_JWT_KEY_SET_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/policy.pb.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/openssl.h"

namespace logout::jwt {

// Key is one verified-to-be-well-formed public key.
struct Key {
  std::string kid;
  KeyFamily family;
  std::optional<Algorithm> alg;  // the JWK's "alg", when given
  SharedPkey pkey;
};

// KeySet is an immutable list of public keys. Thread-safe after Create.
class KeySet {
 public:
  // Minimum RSA modulus size accepted.
  static constexpr int kMinRsaBits = 2048;

  // Create parses every key: RSA (n, e; modulus ≥ 2048 bits), EC P-256/P-384 (x, y; the point
  // must be on the curve), OKP Ed25519 (x). `use`, when given, must be "sig"; `alg`, when given,
  // must be an accepted asymmetric algorithm of the key's family. Returns InvalidArgumentError
  // naming the key ("jwks.keys[1] (kid \"k2\"): EC point is not on P-256"). Key ids need not be
  // unique (rotation may publish the same kid for a short while; all are tried).
  static absl::StatusOr<std::unique_ptr<KeySet>> Create(const v1::Jwks& jwks);

  // Candidates returns, in configuration order, the keys that may verify a token signed with
  // `alg`: right family, a JWK "alg" (if any) equal to `alg`, and — when `kid` is non-empty —
  // that kid. Without a kid every key of the family is a candidate.
  std::vector<const Key*> Candidates(Algorithm alg, absl::string_view kid) const;
  // ForEachCandidate calls `fn(const Key&)` on each key Candidates(alg, kid) returns, in the
  // same order and without building a vector, until `fn` returns false.
  template <typename Fn>
  void ForEachCandidate(Algorithm alg, absl::string_view kid, Fn&& fn) const {
    for (const Key& k : keys_) {
      if (IsCandidate(k, alg, kid) && !fn(k)) return;
    }
  }

  size_t size() const { return keys_.size(); }

 private:
  static bool IsCandidate(const Key& key, Algorithm alg, absl::string_view kid);
  KeySet() = default;
  std::vector<Key> keys_;
};

}  // namespace logout::jwt

#endif  // SERVICE_JWT_KEY_SET_H_
