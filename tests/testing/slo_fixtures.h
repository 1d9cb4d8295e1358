// Single-logout test fixtures: private keys generated at test time (PEM) and a policy with
// front- and back-channel clients.
//
//   TestKey key = TestKey::Generate(jwt::KeyFamily::kEcP256);
//   std::string pem = PrivateKeyPem(key);
#ifndef TESTS_TESTING_SLO_FIXTURES_H_
#define TESTS_TESTING_SLO_FIXTURES_H_

#include <openssl/evp.h>

#include <string>

#include "logout/v1/policy.pb.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/test_pki.h"

namespace logout::testing {

// PrivateKeyPem is the PKCS#8 PEM of `key`'s private key.
inline std::string PrivateKeyPem(const TestKey& key) { return PemOfKey(key.pkey()); }

// RsaKeyPem generates an RSA key of `bits` (for the size rule).
inline std::string RsaKeyPem(unsigned int bits) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits});
  std::string out = PemOfKey(pkey);
  EVP_PKEY_free(pkey);
  return out;
}

inline v1::SigningKey SigningKeyOf(const std::string& kid, const std::string& alg,
                                   const std::string& pem) {
  v1::SigningKey k;
  k.set_kid(kid);
  k.set_alg(alg);
  k.set_private_key_pem(pem);
  return k;
}

// A client with one allowed logout URL on https://<id>.example.com.
inline v1::Client SloClient(const std::string& id) {
  v1::Client c;
  c.set_client_id(id);
  c.add_allowed_logout_urls("https://" + id + ".example.com/bye");
  return c;
}

}  // namespace logout::testing

#endif  // TESTS_TESTING_SLO_FIXTURES_H_
