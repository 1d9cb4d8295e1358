// Mints real JWS tokens at test time with OpenSSL (no fixtures that expire).
//
//   TestKey key = TestKey::Generate(jwt::KeyFamily::kEcP256);
//   std::string token = key.Mint("ES256", R"({"alg":"ES256","kid":"k1"})", R"({"iss":"..."})");
//   v1::Jwk jwk = key.ToJwk("k1");
#ifndef TESTS_TESTING_JWT_MINTER_H_
#define TESTS_TESTING_JWT_MINTER_H_

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "logout/v1/policy.pb.h"
#include "service/jwt/algorithm.h"
#include "service/jwt/base64url.h"

namespace logout::testing {

// TestKey is a freshly generated key pair of one family. Not thread-safe.
class TestKey {
 public:
  static TestKey Generate(jwt::KeyFamily family) {
    TestKey k;
    k.family_ = family;
    switch (family) {
      case jwt::KeyFamily::kRsa:
        k.pkey_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free);
        break;
      case jwt::KeyFamily::kEcP256:
        k.pkey_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
        break;
      case jwt::KeyFamily::kEcP384:
        k.pkey_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"), EVP_PKEY_free);
        break;
      case jwt::KeyFamily::kEd25519:
        k.pkey_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
        break;
      case jwt::KeyFamily::kSecret:
        break;
    }
    return k;
  }

  EVP_PKEY* pkey() const { return pkey_.get(); }

  // ToJwk exports the public key with the RFC 7517 member names.
  v1::Jwk ToJwk(const std::string& kid) const {
    v1::Jwk jwk;
    jwk.set_kid(kid);
    switch (family_) {
      case jwt::KeyFamily::kRsa:
        jwk.set_kty("RSA");
        jwk.set_n(Base64UrlBn(OSSL_PKEY_PARAM_RSA_N, 0));
        jwk.set_e(Base64UrlBn(OSSL_PKEY_PARAM_RSA_E, 0));
        break;
      case jwt::KeyFamily::kEcP256:
      case jwt::KeyFamily::kEcP384: {
        const int size = family_ == jwt::KeyFamily::kEcP256 ? 32 : 48;
        jwk.set_kty("EC");
        jwk.set_crv(family_ == jwt::KeyFamily::kEcP256 ? "P-256" : "P-384");
        jwk.set_x(Base64UrlBn(OSSL_PKEY_PARAM_EC_PUB_X, size));
        jwk.set_y(Base64UrlBn(OSSL_PKEY_PARAM_EC_PUB_Y, size));
        break;
      }
      case jwt::KeyFamily::kEd25519: {
        unsigned char raw[32];
        size_t len = sizeof(raw);
        EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &len);
        jwk.set_kty("OKP");
        jwk.set_crv("Ed25519");
        jwk.set_x(jwt::Base64UrlEncode(std::string(reinterpret_cast<char*>(raw), len)));
        break;
      }
      case jwt::KeyFamily::kSecret:
        break;
    }
    return jwk;
  }

  // PublicKeyDer is the SubjectPublicKeyInfo DER (what an attacker might use as an HMAC key).
  std::string PublicKeyDer() const {
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(pkey_.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
  }

  // Sign returns the JWS signature bytes of `input` for `alg` (raw r||s for ECDSA).
  std::string Sign(absl::string_view alg_name, absl::string_view input) const {
    const jwt::Algorithm alg = *jwt::AlgorithmFromName(alg_name);
    const EVP_MD* md = alg == jwt::Algorithm::kEdDSA ? nullptr
                       : jwt::HashBytes(alg) == 32   ? EVP_sha256()
                       : jwt::HashBytes(alg) == 48   ? EVP_sha384()
                                                     : EVP_sha512();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey_.get());
    if (alg_name[0] == 'P') {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                   input.size());
    sig.resize(len);
    if (alg == jwt::Algorithm::kES256 || alg == jwt::Algorithm::kES384) {
      const int size = alg == jwt::Algorithm::kES256 ? 32 : 48;
      const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      std::string raw(2 * static_cast<size_t>(size), '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), size);
      BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data()) + size,
                   size);
      ECDSA_SIG_free(ecdsa);
      return raw;
    }
    return sig;
  }

  // Mint returns header.payload.signature with both JSON texts base64url-encoded as given.
  std::string Mint(absl::string_view alg, absl::string_view header_json,
                   absl::string_view payload_json) const {
    const std::string input = SigningInput(header_json, payload_json);
    return absl::StrCat(input, ".", jwt::Base64UrlEncode(Sign(alg, input)));
  }

  static std::string SigningInput(absl::string_view header_json, absl::string_view payload_json) {
    return absl::StrCat(jwt::Base64UrlEncode(header_json), ".", jwt::Base64UrlEncode(payload_json));
  }

  // MintHmac signs with a shared secret (HS256/384/512).
  static std::string MintHmac(absl::string_view alg, absl::string_view header_json,
                              absl::string_view payload_json, absl::string_view secret) {
    const std::string input = SigningInput(header_json, payload_json);
    const size_t bytes = jwt::HashBytes(*jwt::AlgorithmFromName(alg));
    const char* digest = bytes == 32 ? "SHA256" : bytes == 48 ? "SHA384" : "SHA512";
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.data(), secret.size(),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof(mac),
              &len);
    return absl::StrCat(input, ".",
                        jwt::Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len)));
  }

 private:
  std::string Base64UrlBn(const char* param, int pad) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(pkey_.get(), param, &bn);
    const int len = pad > 0 ? pad : BN_num_bytes(bn);
    std::string bytes(static_cast<size_t>(len), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), len);
    BN_free(bn);
    return jwt::Base64UrlEncode(bytes);
  }

  jwt::KeyFamily family_ = jwt::KeyFamily::kSecret;
  std::shared_ptr<EVP_PKEY> pkey_{nullptr, EVP_PKEY_free};
};

}  // namespace logout::testing

#endif  // TESTS_TESTING_JWT_MINTER_H_
