// Hands a single-logout plan's back-channel jobs to the delivery worker pool (used by the
// PlanLogoutNotifications and ValidateLogout handlers when logoutd runs with
// --deliver_backchannel).
//
//   BackchannelDispatcher dispatcher(BackchannelDeliveryOptions{}, observer);
//   dispatcher.Dispatch(snapshot, "acme", sid, sub, response.mutable_plan());
#ifndef SERVICE_SLO_BACKCHANNEL_DISPATCH_H_
#define SERVICE_SLO_BACKCHANNEL_DISPATCH_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"
#include "service/slo/backchannel_delivery.h"

namespace logout::slo {

// BackchannelDispatcher owns a BackchannelDeliverer. Thread-safe.
class BackchannelDispatcher {
 public:
  BackchannelDispatcher(const BackchannelDeliveryOptions& options,
                        BackchannelDeliverer::Observer observer)
      : deliverer_(options, std::move(observer)) {}

  // Dispatch enqueues every BackChannelJob of `plan` and sets
  // plan->backchannel_delivered_by_logoutd. The first attempt of each job sends the planned
  // token (so the plan's `jti` is the one the RP sees first); each retry mints a fresh token
  // with the same claims (iss = plan.iss, aud = the client, `sub`, `sid`) from `snapshot`,
  // which the jobs keep alive. Never blocks: a full queue drops jobs (reported as kDropped).
  void Dispatch(const std::shared_ptr<const policy::CompiledPolicy>& snapshot,
                absl::string_view tenant, absl::string_view sid, absl::string_view sub,
                v1::LogoutNotificationPlan* plan);

  // Shutdown: see BackchannelDeliverer::Shutdown.
  void Shutdown(absl::Duration grace) { deliverer_.Shutdown(grace); }

 private:
  BackchannelDeliverer deliverer_;
};

}  // namespace logout::slo

#endif  // SERVICE_SLO_BACKCHANNEL_DISPATCH_H_
