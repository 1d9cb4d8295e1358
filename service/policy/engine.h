// The logout decision engine: DESIGN.md §2.2 as a pure function of (policy snapshot, request).
//
//   v1::ValidateLogoutResponse resp;
//   absl::Status s = Decide(*snapshot, request, absl::Now(), &resp);
//   // s.ok() && resp.decision() == v1::DECISION_DENY is a policy rejection, not an error.
//
// No I/O, no locks, no clock of its own (the caller passes `now`): everything it needs was
// compiled into the snapshot.
#ifndef SERVICE_POLICY_ENGINE_H_
#define SERVICE_POLICY_ENGINE_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"

namespace logout::policy {

// Decide fills `response` with the decision for `request` under `policy`.
//
// Returns OK for every decision, including DECISION_DENY. Returns
//  - InvalidArgumentError when the request is malformed (no tenant, no endpoint, an oversize or
//    control-character session_id), and
//  - NotFoundError when the tenant is unknown.
// `response` is cleared first and is only meaningful when OK is returned.
// Thread-safe: `policy` is immutable.
// `now` is the instant id_token_hint times are checked against.
absl::Status Decide(const CompiledPolicy& policy, const v1::ValidateLogoutRequest& request,
                    absl::Time now, v1::ValidateLogoutResponse* response);

// ClearForReuse clears `response` for the next Decide into it: every field is emptied, the
// strings keep their capacity, and the session message stays allocated (present but empty) for
// Decide to fill again, where Clear() would delete it. The server's message recycling uses it.
void ClearForReuse(v1::ValidateLogoutResponse* response);

// BuildFederatedLogout builds the upstream logout URL of `request.connection()` (DESIGN §2.3).
// `return_to` is validated exactly like ValidateLogout's target (the client's list, else the
// tenant's); a refused one, an unknown client or oversize/control-character values give an OK
// status with DECISION_DENY and no URL. Returns NotFoundError for an unknown tenant or
// connection, InvalidArgumentError for a request without them. Thread-safe.
absl::Status BuildFederatedLogout(const CompiledPolicy& policy,
                                  const v1::BuildFederatedLogoutUrlRequest& request,
                                  v1::BuildFederatedLogoutUrlResponse* response);

// WithState returns `target` with its `state` query parameter set to `state`: other query
// parameters are kept byte for byte, any existing `state` is removed, and the value is
// percent-encoded (only RFC 3986 unreserved characters stay literal). The fragment is kept.
url::Url WithState(const url::Url& target, absl::string_view state);

}  // namespace logout::policy

#endif  // SERVICE_POLICY_ENGINE_H_
