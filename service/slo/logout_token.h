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
#include "absl/strings/string_view.h"
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

// --- Shared Signals (OpenID SSF 1.0, CAEP 1.0): the session-revoked Security Event Token
// (RFC 8417) pushed to a tenant's streams (RFC 8935).

struct SessionRevokedInput {
  // The SET's `iss` (the tenant's issuer).
  std::string iss;
  // The ended session and its user; at least one. `sub_id` (RFC 9493, format "complex") has a
  // `session` member (format "opaque") when `sid` is known and a `user` member (format
  // "iss_sub") when `sub` is known.
  std::string sid;
  std::string sub;
  // When the session ended (the event's `event_timestamp`).
  absl::Time event_time;
  // CAEP initiating_entity: "admin", "user", "policy" or "system" (see InitiatingEntityOf).
  std::string initiating_entity;
};

struct SignedSet {
  std::string token;
  std::string jti;
};

// InitiatingEntityOf maps a logout initiator's name ("rp-logout", ...) to CAEP's
// initiating_entity: a user's own logout or account action is "user", a session that expired
// is "policy", an operator's revocation or account change is "admin", anything else "system".
std::string InitiatingEntityOf(absl::string_view initiator);

// MintSessionRevokedSet signs a fresh SET for `stream`: header {alg, typ "secevent+jwt", kid};
// claims iss, aud (the stream's audience), iat, jti, sub_id, and events with the one
// session-revoked member {event_timestamp, initiating_entity}. Signed with the tenant's first
// signing key of the stream's alg. Errors as MintLogoutToken (FailedPrecondition: no key).
absl::StatusOr<SignedSet> MintSessionRevokedSet(const policy::CompiledTenant& tenant,
                                                const policy::CompiledStream& stream,
                                                const SessionRevokedInput& in, absl::Time now);

}  // namespace logout::slo

#endif  // SERVICE_SLO_LOGOUT_TOKEN_H_
