#include "service/rpc/logout_policy_service.h"

#include <algorithm>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/metrics/metrics.h"
#include "service/policy/engine.h"
#include "service/policy/reason.h"
#include "service/rpc/grpc_status.h"
#include "service/slo/discovery.h"
#include "service/slo/planner.h"

namespace logout::rpc {
namespace {

// The scheme, host and port of a serialised URL: what the decision log shows of a redirect
// (paths and queries may carry state or tokens).
absl::string_view OriginOf(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return url.substr(0, url.find_first_of("?#"));
  const size_t end = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, end);
}

const char* EndpointName(v1::Endpoint endpoint) {
  switch (endpoint) {
    case v1::ENDPOINT_V2_LOGOUT:
      return "v2_logout";
    case v1::ENDPOINT_OIDC_LOGOUT:
      return "oidc_logout";
    default:
      return "unspecified";
  }
}

bool Sampled(double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  thread_local absl::InsecureBitGen gen;
  return absl::Bernoulli(gen, rate);
}

void LogFailedCall(absl::string_view method, absl::string_view tenant, const grpc::Status& status) {
  common::LogEvent(
      common::LogLevel::kWarning, "call failed",
      {{"method", std::string(method)},
       {"tenant", std::string(tenant.substr(0, 128))},
       {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))},
       {"error", status.error_message()}});
}

}  // namespace

grpc::ServerUnaryReactor* LogoutPolicyService::Admit(
    grpc::CallbackServerContext* context, const Admission& admission,
    std::shared_ptr<const policy::CompiledPolicy>& snapshot) const {
  snapshot = nullptr;
  // The default reactor lets gRPC finish the call inline on the thread that ran the handler
  // (a reactor of our own costs a context switch per call).
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!admission.status().ok()) {
    reactor->Finish(admission.status());
  } else if (snapshot = holder_->Get(); snapshot == nullptr) {
    reactor->Finish(NoPolicyStatus());
  }
  return reactor;
}

absl::Status LogoutPolicyService::AuthorizePlan(grpc::CallbackServerContext* context,
                                                const std::string& tenant) const {
  if (hooks_.plan_auth == nullptr) return absl::OkStatus();  // --slo_allow_unauthenticated
  absl::Status refused;
  if (!hooks_.plan_auth->HasAnyCredential()) {
    refused = absl::PermissionDeniedError(
        "single-logout planning is closed: no planner credential is configured "
        "(--slo_token_file, --slo_client_identities or a \"planner\" in "
        "--admin_credentials_file); --slo_allow_unauthenticated opens it to every caller");
  } else if (absl::StatusOr<Caller> caller = hooks_.plan_auth->Authenticate(
                 context->client_metadata(), context->auth_context().get());
             !caller.ok()) {
    refused = caller.status();
  } else if (!caller->MayPlan(tenant)) {
    refused = absl::PermissionDeniedError(
        absl::StrCat("credential \"", caller->actor, "\" may not plan single logout for tenant \"",
                     absl::CEscape(absl::string_view(tenant).substr(0, 128)), "\""));
  }
  if (!refused.ok() && hooks_.metrics != nullptr) {
    hooks_.metrics->RecordRejected("plan_unauthorized");
  }
  return refused;
}

void LogoutPolicyService::LogDecision(const v1::ValidateLogoutRequest& request,
                                      const v1::ValidateLogoutResponse& response) const {
  if (!Sampled(hooks_.decision_log_sample_rate)) return;
  common::LogEvent(common::LogLevel::kInfo, "decision",
                   {{"tenant", request.tenant().substr(0, 128)},
                    {"endpoint", EndpointName(request.endpoint())},
                    {"decision", std::string(policy::DecisionCode(response.decision()))},
                    {"reason", std::string(policy::ReasonCode(response.reason()))},
                    {"client_id", response.client_id().substr(0, 128)},
                    {"redirect_origin", std::string(OriginOf(response.redirect_url()))},
                    {"policy_version", absl::StrCat(response.policy_version()), true}});
}

absl::Status LogoutPolicyService::WaitUntil(const grpc::CallbackServerContext& context,
                                            const google::protobuf::Duration& wait,
                                            absl::Time* until) const {
  *until = absl::InfinitePast();
  if (wait.seconds() < 0 || wait.nanos() < 0 || wait.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        "wait_for_delivery must be a non-negative duration (seconds >= 0, 0 <= nanos < 1e9)");
  }
  if (wait.seconds() == 0 && wait.nanos() == 0) return absl::OkStatus();
  const absl::Time now = absl::Now();
  const absl::Duration asked = std::min(
      absl::Seconds(std::min<int64_t>(wait.seconds(), 86400)) + absl::Nanoseconds(wait.nanos()),
      hooks_.max_delivery_wait);
  *until = now + asked;
  // Answer before the caller's deadline, with a little room for the answer to travel.
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (deadline != absl::InfiniteFuture()) {
    *until = std::min(*until, deadline - absl::Milliseconds(200));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* LogoutPolicyService::ValidateLogout(
    grpc::CallbackServerContext* context, const v1::ValidateLogoutRequest* request,
    v1::ValidateLogoutResponse* response) {
  const Admission admission(hooks_.limiter, *context);
  std::shared_ptr<const policy::CompiledPolicy> snapshot;
  grpc::ServerUnaryReactor* reactor = Admit(context, admission, snapshot);
  if (snapshot == nullptr) return reactor;
  if (request->plan_notifications()) {
    if (absl::Status s = AuthorizePlan(context, request->tenant()); !s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return reactor;
    }
  }
  const absl::Time now = absl::Now();
  absl::Status decided = policy::Decide(*snapshot, *request, now, response);
  // Single logout: the plan of the ended session when asked for and allowed.
  if (decided.ok()) decided = slo::AttachPlan(*snapshot, *request, now, response);
  absl::Time wait_until = absl::InfinitePast();
  if (decided.ok() && hooks_.backchannel != nullptr && response->has_notifications()) {
    decided = WaitUntil(*context, request->wait_for_delivery(), &wait_until);
  }
  grpc::Status status = ToGrpcStatus(decided);
  if (status.ok()) {
    if (hooks_.metrics != nullptr) {
      hooks_.metrics->RecordDecision(request->endpoint(), response->decision(), response->reason());
    }
    LogDecision(*request, *response);
  } else {
    LogFailedCall("ValidateLogout", request->tenant(), status);
  }
  if (status.ok() && hooks_.backchannel != nullptr && response->has_notifications()) {
    // Answered once the jobs are durable (and, when asked, delivered or the wait is over).
    hooks_.backchannel->Dispatch(
        {request->tenant(), response->session().sid(), response->session().sub(),
         v1::LOGOUT_INITIATOR_RP_LOGOUT, snapshot->FindTenant(request->tenant())},
        wait_until, response->mutable_notifications(), [reactor, request](absl::Status s) {
          if (!s.ok()) LogFailedCall("ValidateLogout", request->tenant(), ToGrpcStatus(s));
          reactor->Finish(ToGrpcStatus(s));
        });
    return reactor;
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LogoutPolicyService::BuildFederatedLogoutUrl(
    grpc::CallbackServerContext* context, const v1::BuildFederatedLogoutUrlRequest* request,
    v1::BuildFederatedLogoutUrlResponse* response) {
  const Admission admission(hooks_.limiter, *context);
  std::shared_ptr<const policy::CompiledPolicy> snapshot;
  grpc::ServerUnaryReactor* reactor = Admit(context, admission, snapshot);
  if (snapshot == nullptr) return reactor;
  grpc::Status status = ToGrpcStatus(policy::BuildFederatedLogout(*snapshot, *request, response));
  if (!status.ok()) {
    LogFailedCall("BuildFederatedLogoutUrl", request->tenant(), status);
  } else if (hooks_.metrics != nullptr) {
    hooks_.metrics->RecordFederatedUrl(response->decision(), response->reason());
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LogoutPolicyService::PlanLogoutNotifications(
    grpc::CallbackServerContext* context, const v1::PlanLogoutNotificationsRequest* request,
    v1::PlanLogoutNotificationsResponse* response) {
  const Admission admission(hooks_.limiter, *context);
  std::shared_ptr<const policy::CompiledPolicy> snapshot;
  grpc::ServerUnaryReactor* reactor = Admit(context, admission, snapshot);
  if (snapshot == nullptr) return reactor;
  if (absl::Status s = AuthorizePlan(context, request->tenant()); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  absl::Status planned = slo::PlanLogout(*snapshot, *request, absl::Now(), response);
  absl::Time wait_until = absl::InfinitePast();
  if (planned.ok() && hooks_.backchannel != nullptr) {
    planned = WaitUntil(*context, request->wait_for_delivery(), &wait_until);
    if (!planned.ok()) response->Clear();
  }
  grpc::Status status = ToGrpcStatus(planned);
  if (!status.ok()) {
    LogFailedCall("PlanLogoutNotifications", request->tenant(), status);
  } else if (hooks_.backchannel != nullptr) {
    hooks_.backchannel->Dispatch(
        {request->tenant(), request->sid(), request->sub(), request->initiator(),
         snapshot->FindTenant(request->tenant())},
        wait_until, response->mutable_plan(), [reactor, request, response](absl::Status s) {
          if (!s.ok()) {
            response->Clear();
            LogFailedCall("PlanLogoutNotifications", request->tenant(), ToGrpcStatus(s));
          }
          reactor->Finish(ToGrpcStatus(s));
        });
    return reactor;
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LogoutPolicyService::GetDiscoveryMetadata(
    grpc::CallbackServerContext* context, const v1::GetDiscoveryMetadataRequest* request,
    v1::GetDiscoveryMetadataResponse* response) {
  const Admission admission(hooks_.limiter, *context);
  std::shared_ptr<const policy::CompiledPolicy> snapshot;
  grpc::ServerUnaryReactor* reactor = Admit(context, admission, snapshot);
  if (snapshot == nullptr) return reactor;
  grpc::Status status = ToGrpcStatus(slo::DiscoveryMetadata(*snapshot, *request, response));
  if (!status.ok()) LogFailedCall("GetDiscoveryMetadata", request->tenant(), status);
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LogoutPolicyService::GetSsfConfiguration(
    grpc::CallbackServerContext* context, const v1::GetSsfConfigurationRequest* request,
    v1::GetSsfConfigurationResponse* response) {
  const Admission admission(hooks_.limiter, *context);
  std::shared_ptr<const policy::CompiledPolicy> snapshot;
  grpc::ServerUnaryReactor* reactor = Admit(context, admission, snapshot);
  if (snapshot == nullptr) return reactor;
  grpc::Status status = ToGrpcStatus(slo::SsfConfiguration(*snapshot, *request, response));
  if (!status.ok()) LogFailedCall("GetSsfConfiguration", request->tenant(), status);
  reactor->Finish(status);
  return reactor;
}

}  // namespace logout::rpc
