#include "service/jwt/id_token.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "service/jwt/base64url.h"
#include "service/jwt/internal/openssl.h"

namespace logout::jwt {
namespace {

using internal::EcdsaSigPtr;
using internal::EvpMdCtxPtr;
using Json = nlohmann::json;

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(why); }

// Parses a JSON object, refusing duplicate member names at any depth and deep nesting.
absl::StatusOr<Json> ParseObject(absl::string_view text, absl::string_view what) {
  std::vector<std::set<std::string>> seen;
  bool duplicate = false;
  bool too_deep = false;
  Json::parser_callback_t cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) too_deep = true;
    switch (event) {
      case Json::parse_event_t::object_start:
        seen.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!seen.empty() && !seen.back().insert(parsed.get<std::string>()).second)
          duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  Json json = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Invalid(std::string(what) + " is not valid JSON");
  if (too_deep) return Invalid(std::string(what) + " is nested too deeply");
  if (duplicate) return Invalid(std::string(what) + " has a duplicate member name");
  if (!json.is_object()) return Invalid(std::string(what) + " is not a JSON object");
  return json;
}

absl::Status OptionalString(const Json& obj, const char* name, std::string& out) {
  const auto it = obj.find(name);
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_string()) return Invalid(std::string("\"") + name + "\" must be a string");
  out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status OptionalNumericDate(const Json& obj, const char* name, std::optional<int64_t>& out) {
  const auto it = obj.find(name);
  if (it == obj.end()) return absl::OkStatus();
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return absl::OkStatus();
  }
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (std::isfinite(v) && std::fabs(v) < 1e15) {
      out = static_cast<int64_t>(std::floor(v));
      return absl::OkStatus();
    }
  }
  return Invalid(std::string("\"") + name + "\" must be a NumericDate");
}

const EVP_MD* DigestFor(Algorithm alg) {
  switch (HashBytes(alg)) {
    case 32:
      return EVP_sha256();
    case 48:
      return EVP_sha384();
    default:
      return EVP_sha512();
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

bool VerifyOne(const IdToken& token, const Key& key, absl::string_view signature) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = token.alg == Algorithm::kEdDSA ? nullptr : DigestFor(token.alg);
  bool ok = EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) == 1;
  if (ok && (token.alg == Algorithm::kPS256 || token.alg == Algorithm::kPS384 ||
             token.alg == Algorithm::kPS512)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  } else if (ok && FamilyOf(token.alg) == KeyFamily::kRsa) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(),
                              reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                              token.signing_input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

absl::StatusOr<IdToken> DecodeIdToken(absl::string_view compact) {
  if (compact.size() > kMaxTokenBytes) return Invalid("token is too large");
  const std::vector<absl::string_view> parts = absl::StrSplit(compact, '.');
  if (parts.size() != 3) return Invalid("token is not a JWS in compact serialisation");
  if (parts[0].size() > (kMaxHeaderBytes * 4 + 2) / 3) return Invalid("token header is too large");
  std::optional<std::string> header_text = Base64UrlDecode(parts[0]);
  std::optional<std::string> payload_text = Base64UrlDecode(parts[1]);
  std::optional<std::string> signature = Base64UrlDecode(parts[2]);
  if (!header_text.has_value() || !payload_text.has_value() || !signature.has_value()) {
    return Invalid("token segment is not strict base64url");
  }
  if (signature->empty()) return Invalid("token has no signature");

  absl::StatusOr<Json> header = ParseObject(*header_text, "token header");
  if (!header.ok()) return header.status();
  IdToken token;
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Invalid("token header has no \"alg\"");
  std::optional<Algorithm> parsed_alg = AlgorithmFromName(alg->get<std::string>());
  if (!parsed_alg.has_value()) return Invalid("token algorithm is not accepted");
  token.alg = *parsed_alg;
  if (header->contains("crit")) return Invalid("token header has unsupported \"crit\" extensions");
  if (absl::Status s = OptionalString(*header, "kid", token.kid); !s.ok()) return s;
  if (absl::Status s = OptionalString(*header, "typ", token.typ); !s.ok()) return s;

  absl::StatusOr<Json> claims = ParseObject(*payload_text, "token payload");
  if (!claims.ok()) return claims.status();
  for (const auto& [name, field] : {std::pair{"iss", &token.iss}, std::pair{"sub", &token.sub},
                                    std::pair{"sid", &token.sid}, std::pair{"azp", &token.azp}}) {
    if (absl::Status s = OptionalString(*claims, name, *field); !s.ok()) return s;
  }
  if (const auto aud = claims->find("aud"); aud != claims->end()) {
    if (aud->is_string()) {
      token.aud.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const Json& a : *aud) {
        if (!a.is_string()) return Invalid("\"aud\" must be a string or an array of strings");
        token.aud.push_back(a.get<std::string>());
      }
    } else {
      return Invalid("\"aud\" must be a string or an array of strings");
    }
  }
  for (const auto& [name, field] :
       {std::pair{"iat", &token.iat}, std::pair{"nbf", &token.nbf}, std::pair{"exp", &token.exp}}) {
    if (absl::Status s = OptionalNumericDate(*claims, name, *field); !s.ok()) return s;
  }
  token.has_events = claims->contains("events");
  token.signing_input = std::string(compact.substr(0, parts[0].size() + 1 + parts[1].size()));
  token.signature = *std::move(signature);
  return token;
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
  const std::vector<const Key*> candidates = keys.Candidates(token.alg, token.kid);
  if (candidates.empty()) return Invalid("no tenant key matches the token's alg and kid");
  for (const Key* key : candidates) {
    if (VerifyOne(token, *key, signature)) return absl::OkStatus();
  }
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
