#include "service/slo/backchannel_dispatch.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "service/slo/logout_token.h"

namespace logout::slo {

void BackchannelDispatcher::Dispatch(const std::shared_ptr<const policy::CompiledPolicy>& snapshot,
                                     absl::string_view tenant, absl::string_view sid,
                                     absl::string_view sub, v1::LogoutNotificationPlan* plan) {
  plan->set_backchannel_delivered_by_logoutd(true);
  for (const v1::ClientNotification& entry : plan->clients()) {
    if (!entry.has_backchannel() || entry.backchannel().uri().empty()) continue;
    DeliveryJob job;
    job.tenant = std::string(tenant);
    job.client_id = entry.client_id();
    job.uri = entry.backchannel().uri();
    job.first_token = entry.backchannel().logout_token();
    LogoutTokenInput in;
    in.iss = plan->iss();
    in.aud = entry.client_id();
    in.sub = std::string(sub);
    in.sid = std::string(sid);
    job.mint_token = [snapshot, tenant = job.tenant, in]() -> absl::StatusOr<std::string> {
      const policy::CompiledTenant* t = snapshot->FindTenant(tenant);
      const policy::CompiledClient* c = t == nullptr ? nullptr : t->FindClient(in.aud);
      if (c == nullptr) return absl::NotFoundError("client no longer in the snapshot");
      absl::StatusOr<SignedLogoutToken> token = MintLogoutToken(*t, *c, in, absl::Now());
      if (!token.ok()) return token.status();
      return std::move(token->token);
    };
    deliverer_.Enqueue(std::move(job));
  }
}

}  // namespace logout::slo
