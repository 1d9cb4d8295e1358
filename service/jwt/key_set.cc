#include "service/jwt/key_set.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/jwt/base64url.h"

namespace logout::jwt {
namespace {

absl::StatusOr<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("OpenSSL refused the key parameters");
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the public key fails OpenSSL's validity check");
  }
  return pkey;
}

absl::StatusOr<std::string> Member(const std::string& value, absl::string_view name) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is required"));
  std::optional<std::string> bytes = Base64UrlDecode(value);
  if (!bytes.has_value() || bytes->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not strict base64url"));
  }
  return *std::move(bytes);
}

absl::StatusOr<EvpPkeyPtr> RsaKey(const v1::Jwk& jwk) {
  absl::StatusOr<std::string> n = Member(jwk.n(), "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = Member(jwk.e(), "e");
  if (!e.ok()) return e.status();
  if ((*n)[0] == '\0' || (*e)[0] == '\0') {
    return absl::InvalidArgumentError("\"n\" and \"e\" must not have leading zero bytes");
  }
  if (e->size() > 4) return absl::InvalidArgumentError("\"e\" is too large");
  BnPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                       static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                       static_cast<int>(e->size()), nullptr));
  if (bn_n == nullptr || bn_e == nullptr) return absl::InternalError("out of memory");
  if (BN_num_bits(bn_n.get()) < KeySet::kMinRsaBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA modulus has ", BN_num_bits(bn_n.get()), " bits; at least 2048 required"));
  }
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) {
    return absl::InvalidArgumentError("RSA exponent must be odd and greater than 1");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return absl::InternalError("out of memory");
  }
  return FromData("RSA", bld.get());
}

absl::StatusOr<EvpPkeyPtr> EcKey(const v1::Jwk& jwk, const char* group, size_t coord_bytes) {
  absl::StatusOr<std::string> x = Member(jwk.x(), "x");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = Member(jwk.y(), "y");
  if (!y.ok()) return y.status();
  if (x->size() != coord_bytes || y->size() != coord_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"x\" and \"y\" must be ", coord_bytes, " bytes for ", jwk.crv()));
  }
  std::string point = absl::StrCat("\x04", *x, *y);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::InternalError("out of memory");
  }
  absl::StatusOr<EvpPkeyPtr> key = FromData("EC", bld.get());
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("EC point is not on ", jwk.crv()));
  }
  return key;
}

absl::StatusOr<EvpPkeyPtr> Ed25519Key(const v1::Jwk& jwk) {
  absl::StatusOr<std::string> x = Member(jwk.x(), "x");
  if (!x.ok()) return x.status();
  if (x->size() != 32) return absl::InvalidArgumentError("\"x\" must be 32 bytes for Ed25519");
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size()));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("OpenSSL refused the Ed25519 key");
  }
  return pkey;
}

absl::StatusOr<Key> ParseKey(const v1::Jwk& jwk) {
  Key key;
  key.kid = jwk.kid();
  absl::StatusOr<EvpPkeyPtr> pkey;
  if (jwk.kty() == "RSA") {
    key.family = KeyFamily::kRsa;
    pkey = RsaKey(jwk);
  } else if (jwk.kty() == "EC" && jwk.crv() == "P-256") {
    key.family = KeyFamily::kEcP256;
    pkey = EcKey(jwk, "P-256", 32);
  } else if (jwk.kty() == "EC" && jwk.crv() == "P-384") {
    key.family = KeyFamily::kEcP384;
    pkey = EcKey(jwk, "P-384", 48);
  } else if (jwk.kty() == "OKP" && jwk.crv() == "Ed25519") {
    key.family = KeyFamily::kEd25519;
    pkey = Ed25519Key(jwk);
  } else if (jwk.kty() == "EC" || jwk.kty() == "OKP") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported curve \"", absl::CEscape(jwk.crv()), "\""));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported kty \"", absl::CEscape(jwk.kty()), "\" (RSA, EC or OKP)"));
  }
  if (!pkey.ok()) return pkey.status();
  if (!jwk.use().empty() && jwk.use() != "sig") {
    return absl::InvalidArgumentError("\"use\" must be \"sig\"");
  }
  if (!jwk.alg().empty()) {
    std::optional<Algorithm> alg = AlgorithmFromName(jwk.alg());
    if (!alg.has_value() || FamilyOf(*alg) != key.family) {
      return absl::InvalidArgumentError(absl::StrCat("\"alg\" \"", absl::CEscape(jwk.alg()),
                                                     "\" does not fit a ", jwk.kty(), " key"));
    }
    key.alg = alg;
  }
  key.pkey = SharedPkey(pkey->release(), EvpPkeyFree());
  key.verifiers = std::make_shared<PreparedVerifiers>(key.pkey);
  return key;
}

}  // namespace

PreparedVerifiers::PreparedVerifiers(SharedPkey pkey) : pkey_(std::move(pkey)) {}

PreparedVerifiers::~PreparedVerifiers() {
  for (std::vector<EVP_PKEY_CTX*>& contexts : idle_) {
    for (EVP_PKEY_CTX* ctx : contexts) EVP_PKEY_CTX_free(ctx);
  }
}

EVP_PKEY_CTX* PreparedVerifiers::Take(Algorithm alg, const EVP_MD* md) {
  {
    absl::MutexLock lock(&mu_);
    std::vector<EVP_PKEY_CTX*>& contexts = idle_[static_cast<size_t>(alg)];
    if (!contexts.empty()) {
      EVP_PKEY_CTX* ctx = contexts.back();
      contexts.pop_back();
      return ctx;
    }
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx.get()) != 1) return nullptr;
  const bool pss = alg == Algorithm::kPS256 || alg == Algorithm::kPS384 || alg == Algorithm::kPS512;
  if (FamilyOf(alg) == KeyFamily::kRsa &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) !=
          1) {
    return nullptr;
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) return nullptr;
  if (pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1) {
    return nullptr;
  }
  return ctx.release();
}

void PreparedVerifiers::Give(Algorithm alg, EVP_PKEY_CTX* ctx) {
  {
    absl::MutexLock lock(&mu_);
    std::vector<EVP_PKEY_CTX*>& contexts = idle_[static_cast<size_t>(alg)];
    if (contexts.size() < kMaxPerAlgorithm) {
      contexts.push_back(ctx);
      return;
    }
  }
  EVP_PKEY_CTX_free(ctx);
}

bool PreparedVerifiers::Verify(Algorithm alg, const EVP_MD* md, absl::string_view digest,
                               absl::string_view signature) {
  if (alg == Algorithm::kEdDSA || IsHmac(alg) || md == nullptr) return false;
  EVP_PKEY_CTX* ctx = Take(alg, md);
  if (ctx == nullptr) {
    ERR_clear_error();
    return false;
  }
  const bool ok =
      EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                      digest.size()) == 1;
  if (ok) {
    Give(alg, ctx);
  } else {
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
  }
  return ok;
}

absl::StatusOr<std::unique_ptr<KeySet>> KeySet::Create(const v1::Jwks& jwks) {
  std::unique_ptr<KeySet> set(new KeySet());
  set->keys_.reserve(jwks.keys_size());
  for (int i = 0; i < jwks.keys_size(); ++i) {
    absl::StatusOr<Key> key = ParseKey(jwks.keys(i));
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("jwks.keys[", i, "] (kid \"",
                                                     absl::CEscape(jwks.keys(i).kid()),
                                                     "\"): ", key.status().message()));
    }
    set->keys_.push_back(*std::move(key));
  }
  return set;
}

bool KeySet::IsCandidate(const Key& key, Algorithm alg, absl::string_view kid) {
  return key.family == FamilyOf(alg) && (!key.alg.has_value() || *key.alg == alg) &&
         (kid.empty() || key.kid == kid);
}

std::vector<const Key*> KeySet::Candidates(Algorithm alg, absl::string_view kid) const {
  std::vector<const Key*> out;
  ForEachCandidate(alg, kid, [&out](const Key& k) {
    out.push_back(&k);
    return true;
  });
  return out;
}

}  // namespace logout::jwt
