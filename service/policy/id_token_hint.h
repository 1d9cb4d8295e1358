// Validates an id_token_hint against a tenant: signature (tenant JWKS or, for HS*, the client's
// secret), the client's configured algorithm, issuer, audience and time rules of OpenID Connect
// RP-Initiated Logout. A hint that fails any check must not be used for anything.
//
//   HintResult r = ValidateIdTokenHint(tenant, hint, absl::Now());
//   if (r.denied()) { /* r.reason, r.description */ } else { /* r.client, r.sub, r.sid */ }
#ifndef SERVICE_POLICY_ID_TOKEN_HINT_H_
#define SERVICE_POLICY_ID_TOKEN_HINT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"

namespace logout::policy {

// HintResult is a verified hint's client and session, or the reason it was refused.
struct HintResult {
  v1::Reason deny_reason = v1::REASON_UNSPECIFIED;
  std::string description;                 // safe to show; never quotes the token
  const CompiledClient* client = nullptr;  // owned by the tenant
  std::string sub;
  std::string sid;
  bool denied() const { return deny_reason != v1::REASON_UNSPECIFIED; }
};

// ValidateIdTokenHint checks, in order: structure (REASON_ID_TOKEN_HINT_INVALID), token type —
// `typ` other than JWT, or an `events` claim (…_NOT_ID_TOKEN), the client from `azp` if
// registered else the first registered `aud` (…_UNKNOWN_AUDIENCE), the client's algorithm and
// the signature (…_INVALID; HS* with an expired secret: REASON_CLIENT_SECRET_EXPIRED), `iss`
// equal to the tenant issuer (…_WRONG_ISSUER), `sub` and `iat` present (…_INVALID), `iat` or
// `nbf` after now + clock_skew (…_NOT_YET_VALID), `iat` before now - max_hint_age
// (…_TOO_OLD). `exp` is deliberately not checked: expired hints are accepted.
// Thread-safe; the result's client pointer lives as long as `tenant`.
HintResult ValidateIdTokenHint(const CompiledTenant& tenant, absl::string_view hint,
                               absl::Time now);
// ValidateIdTokenHintInto is ValidateIdTokenHint writing into `out` (every field is set; its
// strings keep their capacity, so a caller that keeps one HintResult per thread allocates
// nothing for a typical hint).
void ValidateIdTokenHintInto(const CompiledTenant& tenant, absl::string_view hint, absl::Time now,
                             HintResult* out);

}  // namespace logout::policy

#endif  // SERVICE_POLICY_ID_TOKEN_HINT_H_
