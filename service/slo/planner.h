// Single logout planning: who must hear that an OP session ended, and how (OpenID Connect
// Front-Channel Logout 1.0 iframe URLs, Back-Channel Logout 1.0 logout tokens).
//
//   v1::PlanLogoutNotificationsResponse resp;
//   absl::Status s = PlanLogout(*snapshot, request, absl::Now(), &resp);
//
// A pure function of (snapshot, request, now) apart from the random `jti` of each token.
#ifndef SERVICE_SLO_PLANNER_H_
#define SERVICE_SLO_PLANNER_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"
#include "service/slo/logout_token.h"

namespace logout::slo {

// Request limits (INVALID_ARGUMENT beyond them).
inline constexpr size_t kMaxSessionClients = 256;
inline constexpr size_t kMaxClientIdBytes = 256;
inline constexpr size_t kMaxSidBytes = 1024;
inline constexpr size_t kMaxSubBytes = 1024;

// PlanInput is what a plan is made of, filled by either RPC (PlanInputOf for
// PlanLogoutNotifications, PlanInputAfterDecision for ValidateLogout). Views into the request
// and response it was filled from: they must outlive it.
struct PlanInput {
  absl::string_view tenant;
  absl::string_view sid;
  absl::string_view sub;
  std::vector<absl::string_view> session_client_ids;
  v1::LogoutInitiator initiator = v1::LOGOUT_INITIATOR_UNSPECIFIED;
  absl::string_view initiating_client_id;
};

// PlanInputOf is the input of a PlanLogoutNotifications request, as it is.
PlanInput PlanInputOf(const v1::PlanLogoutNotificationsRequest& request);

// PlanInputAfterDecision is the input of the plan a ValidateLogout answer carries: none unless
// the request asked for it (plan_notifications), the decision is DECISION_ALLOW and the answer
// names an OP session (response.session.sid); then initiator rp-logout, sid and sub from
// response.session, the resolved client as initiating client.
std::optional<PlanInput> PlanInputAfterDecision(const v1::ValidateLogoutRequest& request,
                                                const v1::ValidateLogoutResponse& response);

// PlanLogout fills `plan` with one entry per distinct session client, in input order, the
// initiating client appended when it is not among them:
//  - unknown client: skip_reason UNKNOWN_CLIENT; neither URI registered: NOT_REGISTERED;
//  - front channel: the registered URI (its query kept, minus any `iss`/`sid`), plus `iss` and
//    `sid` when frontchannel_logout_session_required; without a sid that client's front channel
//    is skipped with SID_REQUIRED (the two parameters go together, both or neither);
//  - back channel: an initiator the client's filter excludes gives INITIATOR_EXCLUDED;
//    session_required without sid gives SID_REQUIRED; no key gives NO_SIGNING_KEY; otherwise a
//    freshly signed logout token (see MintLogoutToken).
// When both channels are skipped for different reasons, the front channel's is reported.
// Returns InvalidArgumentError (no tenant, initiator unspecified, neither sid nor sub, more
// than kMaxSessionClients ids, an empty / oversize id, control characters in sid/sub),
// NotFoundError (unknown tenant), InternalError (signing failed). Thread-safe.
absl::Status PlanLogout(const policy::CompiledPolicy& policy, const PlanInput& input,
                        absl::Time now, v1::LogoutNotificationPlan* plan,
                        const JtiSource& jti_source = nullptr);

// PlanLogout of a PlanLogoutNotifications request: the plan and the policy version in
// `response` (cleared on error).
absl::Status PlanLogout(const policy::CompiledPolicy& policy,
                        const v1::PlanLogoutNotificationsRequest& request, absl::Time now,
                        v1::PlanLogoutNotificationsResponse* response,
                        const JtiSource& jti_source = nullptr);

// AttachPlan puts the plan of PlanInputAfterDecision (when there is one) into the answer's
// `notifications`. Errors as PlanLogout (then no notifications are attached).
absl::Status AttachPlan(const policy::CompiledPolicy& policy,
                        const v1::ValidateLogoutRequest& request, absl::Time now,
                        v1::ValidateLogoutResponse* response);

// FrontChannelUrl is the iframe URL for `client` (its front-channel URI must be set): the
// registered URI in WHATWG serialisation, any `iss`/`sid` query parameters removed, the others
// kept byte for byte, then `iss` and `sid` appended (percent-encoded) when `add_session`.
std::string FrontChannelUrl(const policy::CompiledClient& client, absl::string_view iss,
                            absl::string_view sid, bool add_session);

}  // namespace logout::slo

#endif  // SERVICE_SLO_PLANNER_H_
