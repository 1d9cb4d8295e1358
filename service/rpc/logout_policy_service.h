// The thin gRPC adapter for logout.v1.LogoutPolicy (callback API): takes the current snapshot
// once, calls the transport-free engine, converts the status. Never blocks in a reactor: a call
// whose plan is delivered by logoutd is answered from the outbox's thread once its jobs are
// committed (and delivered, when it asked to wait).
//
//   LogoutPolicyService service(&holder);
//   builder.RegisterService(&service);
#ifndef SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_
#define SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_

#include "logout/v1/logout.grpc.pb.h"
#include "service/policy/engine.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/call_limits.h"
#include "service/rpc/recycling_allocator.h"
#include "service/slo/backchannel_dispatch.h"
#include "service/store/snapshot_holder.h"

namespace logout::metrics {
class Metrics;
}  // namespace logout::metrics

namespace logout::rpc {

// What the decision service does around each call besides deciding.
struct PolicyServiceHooks {
  // Bounds calls in progress (while logoutd's handler works on them); null = no bound.
  ConcurrencyLimiter* limiter = nullptr;
  // Decision and federated-URL outcomes are counted here; null = not counted.
  metrics::Metrics* metrics = nullptr;
  // Who may ask for single-logout plans (their back-channel jobs carry signed logout tokens):
  // holders of a planner credential; null = every caller (--slo_allow_unauthenticated).
  const AdminAuthenticator* plan_auth = nullptr;
  // Fraction of decisions logged as one JSON line each (0 = none, 1 = all). Non-OK calls are
  // always logged.
  double decision_log_sample_rate = 0;
  // --deliver_backchannel: when set, every back-channel job of a plan (PlanLogoutNotifications,
  // ValidateLogout with plan_notifications) is committed to the outbox through it before the
  // call is answered, and the plan says backchannel_delivered_by_logoutd. Null: the caller
  // delivers.
  slo::BackchannelDispatcher* backchannel = nullptr;
  // The longest wait_for_delivery honoured (--max_delivery_wait).
  absl::Duration max_delivery_wait = absl::Seconds(10);
};

// LogoutPolicyService answers decision calls. UNAVAILABLE until a snapshot is installed.
// Thread-safe; `holder` must outlive the service.
class LogoutPolicyService final : public v1::LogoutPolicy::CallbackService {
 public:
  explicit LogoutPolicyService(const store::SnapshotHolder* holder, PolicyServiceHooks hooks = {})
      : holder_(holder), hooks_(hooks) {
    SetMessageAllocatorFor_ValidateLogout(&validate_logout_messages_);
  }

  grpc::ServerUnaryReactor* ValidateLogout(grpc::CallbackServerContext* context,
                                           const v1::ValidateLogoutRequest* request,
                                           v1::ValidateLogoutResponse* response) override;
  grpc::ServerUnaryReactor* BuildFederatedLogoutUrl(
      grpc::CallbackServerContext* context, const v1::BuildFederatedLogoutUrlRequest* request,
      v1::BuildFederatedLogoutUrlResponse* response) override;
  // Single logout (service/slo): the notification plan of an ended session, and the logout
  // members of the tenant's discovery metadata.
  grpc::ServerUnaryReactor* PlanLogoutNotifications(
      grpc::CallbackServerContext* context, const v1::PlanLogoutNotificationsRequest* request,
      v1::PlanLogoutNotificationsResponse* response) override;
  grpc::ServerUnaryReactor* GetDiscoveryMetadata(
      grpc::CallbackServerContext* context, const v1::GetDiscoveryMetadataRequest* request,
      v1::GetDiscoveryMetadataResponse* response) override;
  grpc::ServerUnaryReactor* GetSsfConfiguration(grpc::CallbackServerContext* context,
                                                const v1::GetSsfConfigurationRequest* request,
                                                v1::GetSsfConfigurationResponse* response) override;

 private:
  // Admit starts a call: returns its (default) reactor and sets `snapshot` to the live policy.
  // When the call must not run (no concurrency `slot`, deadline already passed, no policy yet)
  // the reactor has already finished with the status and `snapshot` is null.
  grpc::ServerUnaryReactor* Admit(grpc::CallbackServerContext* context, const Admission& admission,
                                  std::shared_ptr<const policy::CompiledPolicy>& snapshot) const;
  // AuthorizePlan checks the caller holds a planner credential for `tenant` (OK when planning
  // was opened with --slo_allow_unauthenticated). PERMISSION_DENIED when no planner credential
  // is configured at all, or the credential does not cover `tenant`; UNAUTHENTICATED /
  // PERMISSION_DENIED from the authenticator otherwise.
  absl::Status AuthorizePlan(grpc::CallbackServerContext* context, const std::string& tenant) const;
  // WaitUntil turns a request's wait_for_delivery into a time (InfinitePast: no wait), capped
  // by max_delivery_wait and the call's deadline. InvalidArgumentError for a negative or
  // malformed duration.
  absl::Status WaitUntil(const grpc::CallbackServerContext& context,
                         const google::protobuf::Duration& wait, absl::Time* until) const;
  // LogDecision writes the sampled decision line (never tokens nor query strings).
  void LogDecision(const v1::ValidateLogoutRequest& request,
                   const v1::ValidateLogoutResponse& response) const;

  // ValidateLogout's request and response messages are recycled from call to call: a decision
  // fills a response whose strings already have their capacity (see policy::ClearForReuse).
  RecyclingAllocator<v1::ValidateLogoutRequest, v1::ValidateLogoutResponse, &policy::ClearForReuse>
      validate_logout_messages_;
  const store::SnapshotHolder* holder_;
  const PolicyServiceHooks hooks_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_
