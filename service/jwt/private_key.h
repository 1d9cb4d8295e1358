// Private signing keys (PEM) parsed into OpenSSL keys once, when the policy snapshot is built.
//
//   absl::StatusOr<SharedPkey> k = ParsePrivateKeyPem(pem, Algorithm::kES256);
#ifndef SERVICE_JWT_PRIVATE_KEY_H_
#define SERVICE_JWT_PRIVATE_KEY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/openssl.h"

namespace logout::jwt {

// Largest PEM accepted (an RSA-8192 PKCS#8 key is about 6.5 KiB).
inline constexpr size_t kMaxPrivateKeyPemBytes = size_t{16} * 1024;

// ParsePrivateKeyPem reads one unencrypted private key (PKCS#8 "PRIVATE KEY" or a traditional
// "RSA PRIVATE KEY" / "EC PRIVATE KEY") and checks that it fits `alg`: RSA of at least 2048 bits
// for RS*/PS*, P-256 for ES256, P-384 for ES384, Ed25519 for EdDSA. HS* algorithms are refused
// (they use client secrets). Returns InvalidArgumentError with a short reason that never quotes
// the key. Thread-safe.
absl::StatusOr<SharedPkey> ParsePrivateKeyPem(absl::string_view pem, Algorithm alg);

}  // namespace logout::jwt

#endif  // SERVICE_JWT_PRIVATE_KEY_H_
