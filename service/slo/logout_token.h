// OpenID Connect Back-Channel Logout 1.0 logout tokens: JWS compact, `typ` logout+jwt, signed
// with a tenant signing key (or MACed with an HS* client's secret).
//
//   absl::StatusOr<SignedLogoutToken> t =
//       MintLogoutToken(*tenant, *client, {.iss = tenant->issuer, .aud = client->client_id,
//                                          .sub = "u1", .sid = "s1"}, absl::Now());
//
// Every call mints a fresh token (new `jti`, `iat` = now), so a deliverer can call it once per
// attempt. Claims: iss, aud, iat, exp (iat + kLogoutTokenLifetime), jti, events, sid (when
// given), sub (when given). Never `nonce` (Back-Channel Logout §2.4).
#ifndef SERVICE_SLO_LOGOUT_TOKEN_H_
#define SERVICE_SLO_LOGOUT_TOKEN_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/policy/compiled_policy.h"

namespace logout::slo {

// How long a logout token is valid (the spec recommends at most two minutes).
inline constexpr absl::Duration kLogoutTokenLifetime = absl::Seconds(120);
// The `events` member name of a back-channel logout token.
inline constexpr char kBackchannelLogoutEvent[] =
    "http://schemas.openid.net/event/backchannel-logout";

struct LogoutTokenInput {
  std::string iss;
  std::string aud;
  std::string sub;
  std::string sid;
};

struct SignedLogoutToken {
  // header.payload.signature
  std::string token;
  std::string jti;
  // The token's `exp`.
  absl::Time expires_at;
};

// A source of `jti` values. The default draws 16 bytes from RAND_bytes (base64url, 22 chars).
using JtiSource = std::function<absl::StatusOr<std::string>()>;
absl::StatusOr<std::string> RandomJti();

// MintLogoutToken signs a fresh logout token for `client` of `tenant`.
//
// Key choice: an HS256/384/512 client gets a token MACed with its client_secret (no `kid`);
// any other client gets a token signed by the tenant's first signing key whose alg is the
// client's id_token_signed_response_alg (RS256 when not configured), with that key's `kid`.
// Returns
//  - InvalidArgumentError when `in` has neither sub nor sid, or no iss / aud,
//  - FailedPreconditionError when no key (or secret) can sign for the client's algorithm
//    (the planner reports NOTIFICATION_SKIP_REASON_NO_SIGNING_KEY),
//  - InternalError when OpenSSL fails.
// The message never contains key material or the token. Thread-safe (the compiled keys are
// immutable).
absl::StatusOr<SignedLogoutToken> MintLogoutToken(const policy::CompiledTenant& tenant,
                                                  const policy::CompiledClient& client,
                                                  const LogoutTokenInput& in, absl::Time now);
// The same, with an injected `jti` source (tests).
absl::StatusOr<SignedLogoutToken> MintLogoutToken(const policy::CompiledTenant& tenant,
                                                  const policy::CompiledClient& client,
                                                  const LogoutTokenInput& in, absl::Time now,
                                                  const JtiSource& jti_source);

}  // namespace logout::slo

#endif  // SERVICE_SLO_LOGOUT_TOKEN_H_
