#include "service/policy/id_token_hint.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "service/jwt/id_token.h"

namespace logout::policy {
namespace {

// An ID token's `typ`, when present, is JWT (RFC 7519 §5.1; compared case-insensitively,
// with or without the "application/" prefix).
bool IsIdTokenType(absl::string_view typ) {
  if (typ.empty()) return true;
  if (absl::StartsWithIgnoreCase(typ, "application/")) typ.remove_prefix(12);
  return absl::EqualsIgnoreCase(typ, "jwt");
}

const CompiledClient* ResolveClient(const CompiledTenant& tenant, const jwt::IdToken& token) {
  if (!token.azp.empty()) {
    if (const CompiledClient* c = tenant.FindClient(token.azp)) return c;
  }
  for (const std::string& aud : token.aud) {
    if (const CompiledClient* c = tenant.FindClient(aud)) return c;
  }
  return nullptr;
}

}  // namespace

HintResult ValidateIdTokenHint(const CompiledTenant& tenant, absl::string_view hint,
                               absl::Time now) {
  HintResult r;
  ValidateIdTokenHintInto(tenant, hint, now, &r);
  return r;
}

void ValidateIdTokenHintInto(const CompiledTenant& tenant, absl::string_view hint, absl::Time now,
                             HintResult* out) {
  out->deny_reason = v1::REASON_UNSPECIFIED;
  out->description.clear();
  out->client = nullptr;
  out->sub.clear();
  out->sid.clear();
  const auto deny = [out](v1::Reason reason, absl::string_view description) {
    out->deny_reason = reason;
    out->description.assign(description.data(), description.size());
  };
  constexpr absl::string_view kInvalid = "'id_token_hint' is not a valid ID token of this tenant";
  // The decoded token, one per thread: its strings keep their capacity from call to call.
  thread_local jwt::IdToken token;
  if (!jwt::DecodeIdTokenInto(hint, &token).ok()) {
    return deny(v1::REASON_ID_TOKEN_HINT_INVALID, kInvalid);
  }
  if (!IsIdTokenType(token.typ) || token.has_events) {
    return deny(v1::REASON_ID_TOKEN_HINT_NOT_ID_TOKEN, "'id_token_hint' is not an ID token");
  }
  const CompiledClient* client = ResolveClient(tenant, token);
  if (client == nullptr) {
    return deny(v1::REASON_ID_TOKEN_HINT_UNKNOWN_AUDIENCE,
                "'id_token_hint' was not issued to a client of this tenant");
  }
  if (token.alg != client->id_token_alg) return deny(v1::REASON_ID_TOKEN_HINT_INVALID, kInvalid);
  absl::Status signature;
  if (jwt::IsHmac(token.alg)) {
    if (client->client_secret_expires_at.has_value() && now >= *client->client_secret_expires_at) {
      return deny(v1::REASON_CLIENT_SECRET_EXPIRED,
                  "the client secret that signs 'id_token_hint' has expired");
    }
    signature = jwt::VerifyWithSecret(token, client->client_secret);
  } else {
    signature = jwt::VerifyWithKeys(token, *tenant.keys);
  }
  if (!signature.ok()) return deny(v1::REASON_ID_TOKEN_HINT_INVALID, kInvalid);

  // Only now are the claims trustworthy.
  if (tenant.issuer.empty() || token.iss != tenant.issuer) {
    return deny(v1::REASON_ID_TOKEN_HINT_WRONG_ISSUER, "'id_token_hint' has the wrong issuer");
  }
  if (token.sub.empty() || !token.iat.has_value()) {
    return deny(v1::REASON_ID_TOKEN_HINT_INVALID, "'id_token_hint' lacks 'sub' or 'iat'");
  }
  const absl::Time latest = now + tenant.clock_skew;
  if (absl::FromUnixSeconds(*token.iat) > latest ||
      (token.nbf.has_value() && absl::FromUnixSeconds(*token.nbf) > latest)) {
    return deny(v1::REASON_ID_TOKEN_HINT_NOT_YET_VALID, "'id_token_hint' is not valid yet");
  }
  if (tenant.max_hint_age.has_value() &&
      absl::FromUnixSeconds(*token.iat) < now - *tenant.max_hint_age) {
    return deny(v1::REASON_ID_TOKEN_HINT_TOO_OLD, "'id_token_hint' was issued too long ago");
  }
  out->client = client;
  out->sub.assign(token.sub);
  out->sid.assign(token.sid);
}

}  // namespace logout::policy
