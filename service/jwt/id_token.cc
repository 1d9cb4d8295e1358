#include "service/jwt/id_token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/jwt/base64url.h"
#include "service/jwt/internal/json_members.h"
#include "service/jwt/openssl.h"

namespace logout::jwt {
namespace {

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

std::optional<int64_t> NumericDate(const internal::MemberValue& v) {
  if (v.is_integer) return v.integer;
  if (std::isfinite(v.number) && std::fabs(v.number) < 1e15) {
    return static_cast<int64_t>(std::floor(v.number));
  }
  return std::nullopt;
}

// OpenSSL 3 re-fetches the implementation of a legacy EVP_sha256() on every
// EVP_DigestVerifyInit (name lookups under a lock); fetching once avoids that. The fetched
// digests live for the process (never freed: they are reachable from these statics).
const EVP_MD* DigestFor(Algorithm alg) {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static const EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  static const EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  switch (HashBytes(alg)) {
    case 32:
      return sha256 != nullptr ? sha256 : EVP_sha256();
    case 48:
      return sha384 != nullptr ? sha384 : EVP_sha384();
    default:
      return sha512 != nullptr ? sha512 : EVP_sha512();
  }
}

// Converts a JWS ECDSA signature (r || s, fixed width) into DER for OpenSSL.
std::optional<std::string> EcdsaRawToDer(absl::string_view raw, size_t coord_bytes) {
  if (raw.size() != 2 * coord_bytes) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                        static_cast<int>(coord_bytes), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + coord_bytes),
                        static_cast<int>(coord_bytes), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// Verifies an EdDSA signature, which covers the message itself (no prehash).
bool VerifyEdDsa(const IdToken& token, const Key& key, absl::string_view signature) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                       token.signing_input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

absl::StatusOr<IdToken> DecodeIdToken(absl::string_view compact) {
  IdToken token;
  if (absl::Status s = DecodeIdTokenInto(compact, &token); !s.ok()) return s;
  return token;
}

absl::Status DecodeIdTokenInto(absl::string_view compact, IdToken* out) {
  if (compact.size() > kMaxTokenBytes) return Invalid("token is too large");
  const size_t dot1 = compact.find('.');
  const size_t dot2 = dot1 == absl::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos || compact.find('.', dot2 + 1) != absl::string_view::npos) {
    return Invalid("token is not a JWS in compact serialisation");
  }
  if (dot1 > (kMaxHeaderBytes * 4 + 2) / 3) return Invalid("token header is too large");

  using internal::MemberSpec;
  using internal::MemberValue;
  using internal::Want;
  // The decoded JSON texts and the extracted members, one set per thread: their capacity is
  // kept from call to call.
  struct Scratch {
    std::string header_text;
    std::string payload_text;
    std::array<MemberValue, 4> header;
    std::array<MemberValue, 9> claims;
  };
  thread_local Scratch scratch;
  const bool header_ok = Base64UrlDecodeTo(compact.substr(0, dot1), &scratch.header_text);
  const bool payload_ok =
      Base64UrlDecodeTo(compact.substr(dot1 + 1, dot2 - dot1 - 1), &scratch.payload_text);
  const bool signature_ok = Base64UrlDecodeTo(compact.substr(dot2 + 1), &out->signature);
  if (!header_ok || !payload_ok || !signature_ok) {
    return Invalid("token segment is not strict base64url");
  }
  if (out->signature.empty()) return Invalid("token has no signature");

  static constexpr MemberSpec kHeaderSpecs[] = {{"alg", Want::kString},
                                                {"kid", Want::kString},
                                                {"typ", Want::kString},
                                                {"crit", Want::kPresence}};
  std::array<MemberValue, 4>& header = scratch.header;
  if (absl::Status s =
          internal::ExtractMembers(scratch.header_text, kHeaderSpecs, absl::MakeSpan(header));
      !s.ok()) {
    return Invalid(absl::StrCat("token header ", s.message()));
  }
  if (!header[0].present) return Invalid("token header has no \"alg\"");
  std::optional<Algorithm> parsed_alg = AlgorithmFromName(header[0].str);
  if (!parsed_alg.has_value()) return Invalid("token algorithm is not accepted");
  out->alg = *parsed_alg;
  if (header[3].present) return Invalid("token header has unsupported \"crit\" extensions");
  out->kid.assign(header[1].str);
  out->typ.assign(header[2].str);

  static constexpr MemberSpec kClaimSpecs[] = {
      {"iss", Want::kString}, {"sub", Want::kString},          {"sid", Want::kString},
      {"azp", Want::kString}, {"aud", Want::kStringOrStrings}, {"iat", Want::kNumber},
      {"nbf", Want::kNumber}, {"exp", Want::kNumber},          {"events", Want::kPresence}};
  std::array<MemberValue, 9>& claims = scratch.claims;
  if (absl::Status s =
          internal::ExtractMembers(scratch.payload_text, kClaimSpecs, absl::MakeSpan(claims));
      !s.ok()) {
    return Invalid(absl::StrCat("token payload ", s.message()));
  }
  out->iss.assign(claims[0].str);
  out->sub.assign(claims[1].str);
  out->sid.assign(claims[2].str);
  out->azp.assign(claims[3].str);
  // `aud`: an array of strings, or one non-empty string. Assigned element by element so the
  // strings of a reused token keep their capacity.
  const MemberValue& aud = claims[4];
  if (!aud.present) {
    out->aud.clear();
  } else if (!aud.strings.empty()) {
    out->aud.resize(aud.strings.size());
    for (size_t i = 0; i < aud.strings.size(); ++i) out->aud[i].assign(aud.strings[i]);
  } else {
    out->aud.resize(aud.str.empty() ? 0 : 1);
    if (!aud.str.empty()) out->aud[0].assign(aud.str);
  }
  for (const auto& [index, field] :
       {std::pair{5, &out->iat}, std::pair{6, &out->nbf}, std::pair{7, &out->exp}}) {
    field->reset();
    if (!claims[index].present) continue;
    *field = NumericDate(claims[index]);
    if (!field->has_value()) return Invalid("a NumericDate claim is out of range");
  }
  out->has_events = claims[8].present;
  out->signing_input.assign(compact.data(), dot2);
  return absl::OkStatus();
}

absl::Status VerifyWithKeys(const IdToken& token, const KeySet& keys) {
  if (IsHmac(token.alg)) return Invalid("HMAC tokens need the client's secret");
  std::string der;
  absl::string_view signature = token.signature;
  if (token.alg == Algorithm::kES256 || token.alg == Algorithm::kES384) {
    std::optional<std::string> converted =
        EcdsaRawToDer(token.signature, token.alg == Algorithm::kES256 ? 32 : 48);
    if (!converted.has_value()) return Invalid("ECDSA signature has the wrong length");
    der = *std::move(converted);
    signature = der;
  } else if (token.alg == Algorithm::kEdDSA && token.signature.size() != 64) {
    return Invalid("EdDSA signature has the wrong length");
  }
  // The signing input is hashed once for every candidate key (EdDSA signs the message itself).
  const EVP_MD* md = token.alg == Algorithm::kEdDSA ? nullptr : DigestFor(token.alg);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (md != nullptr) {
    // One hashing context per thread, re-initialised per call (OpenSSL keeps its state when the
    // digest is the same), rather than a new one per call.
    thread_local const EvpMdCtxPtr hash(EVP_MD_CTX_new());
    if (hash == nullptr || EVP_DigestInit_ex(hash.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(hash.get(), token.signing_input.data(), token.signing_input.size()) != 1 ||
        EVP_DigestFinal_ex(hash.get(), digest, &digest_len) != 1) {
      ERR_clear_error();
      return absl::InternalError("hashing the signing input failed");
    }
  }
  const absl::string_view hashed(reinterpret_cast<const char*>(digest), digest_len);
  bool any_candidate = false;
  bool verified = false;
  keys.ForEachCandidate(token.alg, token.kid, [&](const Key& key) {
    any_candidate = true;
    verified = md == nullptr ? VerifyEdDsa(token, key, signature)
                             : key.verifiers->Verify(token.alg, md, hashed, signature);
    return !verified;  // stop at the first key that verifies
  });
  if (!any_candidate) return Invalid("no tenant key matches the token's alg and kid");
  if (verified) return absl::OkStatus();
  return Invalid("token signature does not verify");
}

absl::Status VerifyWithSecret(const IdToken& token, absl::string_view secret) {
  if (!IsHmac(token.alg)) return Invalid("not an HMAC token");
  if (secret.empty()) return Invalid("the client has no secret");
  const size_t mac_len = HashBytes(token.alg);
  if (token.signature.size() != mac_len) return Invalid("token MAC has the wrong length");
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  const char* digest = mac_len == 32 ? "SHA256" : mac_len == 48 ? "SHA384" : "SHA512";
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                token.signing_input.size(), mac, sizeof(mac), &out_len) == nullptr ||
      out_len != mac_len) {
    ERR_clear_error();
    return absl::InternalError("HMAC computation failed");
  }
  if (CRYPTO_memcmp(mac, token.signature.data(), mac_len) != 0) {
    return Invalid("token MAC does not verify");
  }
  return absl::OkStatus();
}

}  // namespace logout::jwt
