// Single-logout test fixtures: private keys generated at test time (PEM) and a policy with
// front- and back-channel clients.
//
//   TestKey key = TestKey::Generate(jwt::KeyFamily::kEcP256);
//   std::string pem = PrivateKeyPem(key);
#ifndef TESTS_TESTING_SLO_FIXTURES_H_
#define TESTS_TESTING_SLO_FIXTURES_H_

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <string>

#include "logout/v1/policy.pb.h"
#include "tests/testing/jwt_minter.h"

namespace logout::testing {

// PrivateKeyPem is the PKCS#8 PEM of `key`'s private key.
inline std::string PrivateKeyPem(const TestKey& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.pkey(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// RsaKeyPem generates an RSA key of `bits` (for the size rule).
inline std::string RsaKeyPem(unsigned int bits) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits});
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
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
