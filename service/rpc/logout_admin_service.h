// The gRPC adapter for logout.v1.LogoutAdmin: every call is authorised first (bearer token),
// then answered from the current snapshot. Write RPCs arrive with the policy store.
//
//   LogoutAdminService admin(&holder, authenticator.get());
//   builder.RegisterService(&admin);
#ifndef SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
#define SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_

#include "logout/v1/admin.grpc.pb.h"
#include "service/rpc/admin_auth.h"
#include "service/store/snapshot_holder.h"

namespace logout::rpc {

// LogoutAdminService: UNAUTHENTICATED / PERMISSION_DENIED before anything else; UNAVAILABLE
// until a snapshot is installed. Thread-safe; `holder` and `auth` must outlive it.
class LogoutAdminService final : public v1::LogoutAdmin::CallbackService {
 public:
  LogoutAdminService(const store::SnapshotHolder* holder, const AdminAuthenticator* auth)
      : holder_(holder), auth_(auth) {}

  grpc::ServerUnaryReactor* ExportPolicy(grpc::CallbackServerContext* context,
                                         const v1::ExportPolicyRequest* request,
                                         v1::ExportPolicyResponse* response) override;

 private:
  const store::SnapshotHolder* holder_;
  const AdminAuthenticator* auth_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
