#include "service/rpc/logout_policy_service.h"

#include "absl/time/clock.h"
#include "service/policy/engine.h"
#include "service/rpc/grpc_status.h"

namespace logout::rpc {

grpc::ServerUnaryReactor* LogoutPolicyService::ValidateLogout(
    grpc::CallbackServerContext* context, const v1::ValidateLogoutRequest* request,
    v1::ValidateLogoutResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::shared_ptr<const policy::CompiledPolicy> snapshot = holder_->Get();
  if (snapshot == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(policy::Decide(*snapshot, *request, absl::Now(), response)));
  return reactor;
}

grpc::ServerUnaryReactor* LogoutPolicyService::BuildFederatedLogoutUrl(
    grpc::CallbackServerContext* context, const v1::BuildFederatedLogoutUrlRequest* request,
    v1::BuildFederatedLogoutUrlResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::shared_ptr<const policy::CompiledPolicy> snapshot = holder_->Get();
  if (snapshot == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(policy::BuildFederatedLogout(*snapshot, *request, response)));
  return reactor;
}

}  // namespace logout::rpc
