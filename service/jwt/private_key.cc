#include "service/jwt/private_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace logout::jwt {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Never prompts for a passphrase: an encrypted key fails to load.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

std::string GroupName(EVP_PKEY* pkey) {
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    ERR_clear_error();
    return "";
  }
  return {name, len};
}

}  // namespace

absl::StatusOr<SharedPkey> ParsePrivateKeyPem(absl::string_view pem, Algorithm alg) {
  if (IsHmac(alg)) return Invalid("HS* algorithms sign with the client secret, not a key");
  if (pem.empty()) return Invalid("private_key_pem is required");
  if (pem.size() > kMaxPrivateKeyPemBytes) return Invalid("private_key_pem is too large");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();
  if (raw == nullptr) {
    return Invalid("private_key_pem is not an unencrypted PEM private key");
  }
  SharedPkey pkey(raw, EVP_PKEY_free);
  const absl::string_view alg_name = AlgorithmName(alg);
  switch (FamilyOf(alg)) {
    case KeyFamily::kRsa:
      if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
        return Invalid(absl::StrCat("private_key_pem is not an RSA key (alg ", alg_name, ")"));
      }
      if (EVP_PKEY_get_bits(raw) < 2048) {
        return Invalid(absl::StrCat("RSA key has ", EVP_PKEY_get_bits(raw),
                                    " bits; at least 2048 are required"));
      }
      break;
    case KeyFamily::kEcP256:
    case KeyFamily::kEcP384: {
      const bool p256 = FamilyOf(alg) == KeyFamily::kEcP256;
      const std::string group = GroupName(raw);
      const bool fits = EVP_PKEY_get_base_id(raw) == EVP_PKEY_EC &&
                        (p256 ? (group == "prime256v1" || group == "P-256")
                              : (group == "secp384r1" || group == "P-384"));
      if (!fits) {
        return Invalid(absl::StrCat("private_key_pem is not a ", p256 ? "P-256" : "P-384",
                                    " EC key (alg ", alg_name, ")"));
      }
      break;
    }
    case KeyFamily::kEd25519:
      if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_ED25519) {
        return Invalid("private_key_pem is not an Ed25519 key (alg EdDSA)");
      }
      break;
    case KeyFamily::kSecret:
      return Invalid("HS* algorithms sign with the client secret, not a key");
  }
  return pkey;
}

}  // namespace logout::jwt
