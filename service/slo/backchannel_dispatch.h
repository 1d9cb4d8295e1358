// Hands a single-logout plan's back-channel jobs to the durable outbox (used by the
// PlanLogoutNotifications and ValidateLogout handlers when logoutd runs with
// --deliver_backchannel), and builds each attempt's logout token from the live policy.
//
//   BackchannelDispatcher dispatcher(&deliverer, absl::Hours(24));
//   dispatcher.Dispatch({.tenant = "acme", .sid = sid, .sub = sub,
//                        .initiator = v1::LOGOUT_INITIATOR_RP_LOGOUT},
//                       absl::InfinitePast(), response.mutable_plan(),
//                       [](absl::Status committed) { ... });
#ifndef SERVICE_SLO_BACKCHANNEL_DISPATCH_H_
#define SERVICE_SLO_BACKCHANNEL_DISPATCH_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "logout/v1/logout.pb.h"
#include "service/slo/outbox_deliverer.h"
#include "service/store/snapshot_holder.h"

namespace logout::slo {

// The session a plan ended (views: must outlive Dispatch's call, not its callback).
struct EndedSession {
  absl::string_view tenant;
  absl::string_view sid;
  absl::string_view sub;
  v1::LogoutInitiator initiator = v1::LOGOUT_INITIATOR_UNSPECIFIED;
  // The tenant as planned (its Shared Signals streams get a SET each); null: none.
  const policy::CompiledTenant* compiled = nullptr;
};

// BackchannelDispatcher is thread-safe; `deliverer` must outlive it.
class BackchannelDispatcher {
 public:
  BackchannelDispatcher(OutboxDeliverer* deliverer, absl::Duration horizon)
      : deliverer_(deliverer), horizon_(horizon) {}

  using Done = std::function<void(absl::Status)>;

  // Dispatch commits every BackChannelJob of `plan`, and a session-revoked SET for each of the
  // tenant's streams that asked for it (plan->streams), to the outbox (horizon from now), sets
  // plan->backchannel_delivered_by_logoutd and each job's `delivery` (its id and state), then
  // calls `done`: on a deliverer thread, or at once when the plan has no job. With
  // `wait_until` in the future it first waits (at most until then) for the jobs to end.
  // UnavailableError when the outbox could not be written (nothing will be delivered). `plan`
  // must stay valid until `done` runs. The first attempt of each job sends the planned token
  // (held in memory only); every other attempt a fresh one (BackchannelPreparer).
  void Dispatch(const EndedSession& session, absl::Time wait_until,
                v1::LogoutNotificationPlan* plan, Done done);

 private:
  OutboxDeliverer* deliverer_;
  const absl::Duration horizon_;
};

// BackchannelPreparer mints each attempt's request from the live policy in `holder`: for a
// back-channel job a logout token (new jti, iat = now) with the job's iss, sub and sid for the
// job's client, form-encoded; for a SET job a session-revoked SET for the job's stream
// (application/secevent+jwt, with the stream's Authorization header). NotFoundError when the
// tenant, client or stream is gone (or no longer asks for it).
Preparer BackchannelPreparer(const store::SnapshotHolder* holder);

// DeliveryStateOf maps an outbox job's state to the API's.
v1::DeliveryState DeliveryStateOf(const store::OutboxJob& job);

}  // namespace logout::slo

#endif  // SERVICE_SLO_BACKCHANNEL_DISPATCH_H_
