// The thin gRPC adapter for logout.v1.LogoutPolicy (callback API): takes the current snapshot
// once, calls the transport-free engine, converts the status. Never blocks in a reactor.
//
//   LogoutPolicyService service(&holder);
//   builder.RegisterService(&service);
#ifndef SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_
#define SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_

#include "logout/v1/logout.grpc.pb.h"
#include "service/store/snapshot_holder.h"

namespace logout::rpc {

// LogoutPolicyService answers decision calls. UNAVAILABLE until a snapshot is installed.
// Thread-safe; `holder` must outlive the service.
class LogoutPolicyService final : public v1::LogoutPolicy::CallbackService {
 public:
  explicit LogoutPolicyService(const store::SnapshotHolder* holder) : holder_(holder) {}

  grpc::ServerUnaryReactor* ValidateLogout(grpc::CallbackServerContext* context,
                                           const v1::ValidateLogoutRequest* request,
                                           v1::ValidateLogoutResponse* response) override;
  grpc::ServerUnaryReactor* BuildFederatedLogoutUrl(
      grpc::CallbackServerContext* context, const v1::BuildFederatedLogoutUrlRequest* request,
      v1::BuildFederatedLogoutUrlResponse* response) override;

 private:
  const store::SnapshotHolder* holder_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_LOGOUT_POLICY_SERVICE_H_
