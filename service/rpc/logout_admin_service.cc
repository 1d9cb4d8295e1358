#include "service/rpc/logout_admin_service.h"

#include "service/rpc/grpc_status.h"

namespace logout::rpc {

grpc::ServerUnaryReactor* LogoutAdminService::ExportPolicy(grpc::CallbackServerContext* context,
                                                           const v1::ExportPolicyRequest* request,
                                                           v1::ExportPolicyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (const auto auth = auth_->Authorize(context->client_metadata()); !auth.ok()) {
    reactor->Finish(ToGrpcStatus(auth.status()));
    return reactor;
  }
  const std::shared_ptr<const policy::CompiledPolicy> snapshot = holder_->Get();
  if (snapshot == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"));
    return reactor;
  }
  *response->mutable_policy() = snapshot->source();
  if (!request->include_secrets()) {
    for (v1::Tenant& tenant : *response->mutable_policy()->mutable_tenants()) {
      for (v1::Client& client : *tenant.mutable_clients()) client.clear_client_secret();
    }
  }
  response->set_policy_version(snapshot->version());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace logout::rpc
