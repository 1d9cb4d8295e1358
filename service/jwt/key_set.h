// A tenant's JSON Web Key Set, parsed into OpenSSL public keys once, when the policy snapshot is
// built.
//
//   absl::StatusOr<std::unique_ptr<KeySet>> keys = KeySet::Create(tenant.jwks());
//   for (const Key* k : (*keys)->Candidates(Algorithm::kRS256, "k1")) { ... }
#ifndef SERVICE_JWT_KEY_SET_H_
#define SERVICE_JWT_KEY_SET_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "logout/v1/policy.pb.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/openssl.h"

namespace logout::jwt {

// PreparedVerifiers holds, per algorithm, EVP_PKEY_CTXs of one public key already set up for
// EVP_PKEY_verify (padding, digest), so a verification does not build one: OpenSSL 3's
// EVP_DigestVerifyInit fetches the implementation and builds a context on every call. A context
// serves one verification at a time and carries nothing from one call to the next (no result
// is cached); one that failed a verification is freed rather than reused. At most
// kMaxPerAlgorithm idle contexts are kept per algorithm. Thread-safe.
class PreparedVerifiers {
 public:
  static constexpr size_t kMaxPerAlgorithm = 64;

  explicit PreparedVerifiers(SharedPkey pkey);
  ~PreparedVerifiers();
  PreparedVerifiers(const PreparedVerifiers&) = delete;
  PreparedVerifiers& operator=(const PreparedVerifiers&) = delete;

  // Verify checks `signature` (DER for ECDSA) over `digest`, the `md` hash of the signing
  // input, for `alg` (RSA PKCS#1 v1.5, RSA-PSS or ECDSA; not EdDSA, which signs the message
  // itself). True only when it verifies.
  bool Verify(Algorithm alg, const EVP_MD* md, absl::string_view digest,
              absl::string_view signature);

 private:
  EVP_PKEY_CTX* Take(Algorithm alg, const EVP_MD* md);
  void Give(Algorithm alg, EVP_PKEY_CTX* ctx);

  const SharedPkey pkey_;
  absl::Mutex mu_;
  std::array<std::vector<EVP_PKEY_CTX*>, 9> idle_ ABSL_GUARDED_BY(mu_);  // by Algorithm value
};

// Key is one verified-to-be-well-formed public key.
struct Key {
  std::string kid;
  KeyFamily family;
  std::optional<Algorithm> alg;  // the JWK's "alg", when given
  SharedPkey pkey;
  std::shared_ptr<PreparedVerifiers> verifiers;  // of `pkey`
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
