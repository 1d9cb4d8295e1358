#include "service/slo/logout_token.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "service/jwt/base64url.h"
#include "service/jwt/openssl.h"

namespace logout::slo {
namespace {

using jwt::Algorithm;
using Json = nlohmann::ordered_json;

constexpr size_t kJtiBytes = 16;

const EVP_MD* DigestFor(Algorithm alg) {
  switch (jwt::HashBytes(alg)) {
    case 32:
      return EVP_sha256();
    case 48:
      return EVP_sha384();
    default:
      return EVP_sha512();
  }
}

absl::Status OpenSslFailure(absl::string_view what) {
  ERR_clear_error();
  return absl::InternalError(absl::StrCat("signing the logout token failed: ", what));
}

// Converts OpenSSL's DER ECDSA signature to the JWS form (r || s, each `coord_bytes` wide).
absl::StatusOr<std::string> EcdsaDerToRaw(const std::string& der, int coord_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  jwt::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr) return OpenSslFailure("ECDSA signature is not DER");
  std::string raw(2 * static_cast<size_t>(coord_bytes), '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, coord_bytes) != coord_bytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + coord_bytes, coord_bytes) != coord_bytes) {
    return OpenSslFailure("ECDSA signature does not fit the curve");
  }
  return raw;
}

absl::StatusOr<std::string> SignWithKey(Algorithm alg, EVP_PKEY* pkey, absl::string_view input) {
  jwt::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return OpenSslFailure("out of memory");
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == Algorithm::kEdDSA ? nullptr : DigestFor(alg);
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey) != 1) {
    return OpenSslFailure("EVP_DigestSignInit");
  }
  if (alg == Algorithm::kPS256 || alg == Algorithm::kPS384 || alg == Algorithm::kPS512) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return OpenSslFailure("RSA-PSS parameters");
    }
  } else if (jwt::FamilyOf(alg) == jwt::KeyFamily::kRsa) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
      return OpenSslFailure("RSA padding");
    }
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    return OpenSslFailure("EVP_DigestSign (size)");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     input.size()) != 1) {
    return OpenSslFailure("EVP_DigestSign");
  }
  sig.resize(len);
  if (alg == Algorithm::kES256) return EcdsaDerToRaw(sig, 32);
  if (alg == Algorithm::kES384) return EcdsaDerToRaw(sig, 48);
  return sig;
}

absl::StatusOr<std::string> SignWithSecret(Algorithm alg, absl::string_view secret,
                                           absl::string_view input) {
  const size_t mac_len = jwt::HashBytes(alg);
  const char* digest = mac_len == 32 ? "SHA256" : mac_len == 48 ? "SHA384" : "SHA512";
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                sizeof(mac), &out_len) == nullptr ||
      out_len != mac_len) {
    return OpenSslFailure("HMAC");
  }
  std::string out(reinterpret_cast<char*>(mac), out_len);
  OPENSSL_cleanse(mac, sizeof(mac));
  return out;
}

absl::StatusOr<std::string> Dump(const Json& j) {
  try {
    return j.dump();
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError("logout token claims must be valid UTF-8");
  }
}

// SignedJws serialises `header` and `claims` and signs them with `sign` (JWS compact).
template <typename Sign>
absl::StatusOr<std::string> SignedJws(const Json& header, const Json& claims, const Sign& sign) {
  absl::StatusOr<std::string> header_text = Dump(header);
  if (!header_text.ok()) return header_text.status();
  absl::StatusOr<std::string> claims_text = Dump(claims);
  if (!claims_text.ok()) return claims_text.status();
  const std::string input =
      absl::StrCat(jwt::Base64UrlEncode(*header_text), ".", jwt::Base64UrlEncode(*claims_text));
  absl::StatusOr<std::string> signature = sign(input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(input, ".", jwt::Base64UrlEncode(*signature));
}

}  // namespace

absl::StatusOr<std::string> RandomJti() {
  unsigned char bytes[kJtiBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed");
  }
  return jwt::Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<SignedLogoutToken> MintLogoutToken(const policy::CompiledTenant& tenant,
                                                  const policy::CompiledClient& client,
                                                  const LogoutTokenInput& in, absl::Time now) {
  return MintLogoutToken(tenant, client, in, now, RandomJti);
}

absl::StatusOr<SignedLogoutToken> MintLogoutToken(const policy::CompiledTenant& tenant,
                                                  const policy::CompiledClient& client,
                                                  const LogoutTokenInput& in, absl::Time now,
                                                  const JtiSource& jti_source) {
  if (in.iss.empty()) return absl::InvalidArgumentError("a logout token needs iss");
  if (in.aud.empty()) return absl::InvalidArgumentError("a logout token needs aud");
  if (in.sub.empty() && in.sid.empty()) {
    return absl::InvalidArgumentError("a logout token needs sub or sid");
  }
  if (client.backchannel_logout_session_required && in.sid.empty()) {
    return absl::InvalidArgumentError("the client requires sid in its logout tokens");
  }
  const Algorithm alg = client.id_token_alg;
  const policy::CompiledSigningKey* key = nullptr;
  if (jwt::IsHmac(alg)) {
    if (client.client_secret.empty() ||
        (client.client_secret_expires_at.has_value() && *client.client_secret_expires_at <= now)) {
      return absl::FailedPreconditionError(absl::StrCat("client has no valid secret to MAC ",
                                                        jwt::AlgorithmName(alg), " logout tokens"));
    }
  } else {
    key = tenant.FindSigningKey(alg);
    if (key == nullptr || key->pkey == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("tenant has no signing key for ", jwt::AlgorithmName(alg)));
    }
  }

  Json header = Json::object();
  header["alg"] = std::string(jwt::AlgorithmName(alg));
  header["typ"] = "logout+jwt";
  if (key != nullptr) header["kid"] = key->kid;

  absl::StatusOr<std::string> jti = jti_source ? jti_source() : RandomJti();
  if (!jti.ok()) return jti.status();
  const int64_t iat = absl::ToUnixSeconds(now);
  const int64_t exp = iat + absl::ToInt64Seconds(kLogoutTokenLifetime);
  Json claims = Json::object();
  claims["iss"] = in.iss;
  claims["aud"] = in.aud;
  claims["iat"] = iat;
  claims["exp"] = exp;
  claims["jti"] = *jti;
  claims["events"] = Json::object({{kBackchannelLogoutEvent, Json::object()}});
  if (!in.sub.empty()) claims["sub"] = in.sub;
  if (!in.sid.empty()) claims["sid"] = in.sid;

  absl::StatusOr<std::string> token = SignedJws(header, claims, [&](const std::string& input) {
    return key != nullptr ? SignWithKey(alg, key->pkey.get(), input)
                          : SignWithSecret(alg, client.client_secret, input);
  });
  if (!token.ok()) return token.status();

  SignedLogoutToken out;
  out.token = *std::move(token);
  out.jti = *std::move(jti);
  out.expires_at = absl::FromUnixSeconds(exp);
  return out;
}

std::string InitiatingEntityOf(absl::string_view initiator) {
  if (initiator == "rp-logout" || initiator == "idp-logout" || initiator == "password-changed" ||
      initiator == "email-identifier-changed" || initiator == "mfa-phone-unenrolled") {
    return "user";
  }
  if (initiator == "session-expired") return "policy";
  if (initiator == "session-revoked" || initiator == "account-deleted" ||
      initiator == "account-deactivated") {
    return "admin";
  }
  return "system";
}

absl::StatusOr<SignedSet> MintSessionRevokedSet(const policy::CompiledTenant& tenant,
                                                const policy::CompiledStream& stream,
                                                const SessionRevokedInput& in, absl::Time now) {
  if (in.iss.empty()) return absl::InvalidArgumentError("a SET needs iss");
  if (in.sid.empty() && in.sub.empty()) {
    return absl::InvalidArgumentError("a session-revoked SET needs a session or a user");
  }
  const policy::CompiledSigningKey* key = tenant.FindSigningKey(stream.alg);
  if (key == nullptr || key->pkey == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("tenant has no signing key for ", jwt::AlgorithmName(stream.alg)));
  }
  Json header = Json::object();
  header["alg"] = std::string(jwt::AlgorithmName(stream.alg));
  header["typ"] = "secevent+jwt";
  header["kid"] = key->kid;

  absl::StatusOr<std::string> jti = RandomJti();
  if (!jti.ok()) return jti.status();
  Json sub_id = Json::object();
  sub_id["format"] = "complex";
  if (!in.sid.empty()) sub_id["session"] = Json::object({{"format", "opaque"}, {"id", in.sid}});
  if (!in.sub.empty()) {
    sub_id["user"] = Json::object({{"format", "iss_sub"}, {"iss", in.iss}, {"sub", in.sub}});
  }
  Json event = Json::object();
  event["event_timestamp"] = absl::ToUnixSeconds(in.event_time);
  event["initiating_entity"] = in.initiating_entity.empty() ? "system" : in.initiating_entity;
  Json claims = Json::object();
  claims["iss"] = in.iss;
  claims["aud"] = stream.audience;
  claims["iat"] = absl::ToUnixSeconds(now);
  claims["jti"] = *jti;
  claims["sub_id"] = std::move(sub_id);
  claims["events"] = Json::object({{policy::kSessionRevokedEvent, std::move(event)}});

  absl::StatusOr<std::string> token = SignedJws(header, claims, [&](const std::string& input) {
    return SignWithKey(stream.alg, key->pkey.get(), input);
  });
  if (!token.ok()) return token.status();
  return SignedSet{*std::move(token), *std::move(jti)};
}

}  // namespace logout::slo
