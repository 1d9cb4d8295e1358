// The gRPC adapter for logout.v1.LogoutAdmin. Every call is authorised first (bearer token);
// reads answer from the live snapshot (no store I/O); writes go through the PolicyWriter (one
// store transaction each). Uses gRPC's synchronous API on purpose: writes block on the store,
// and blocking belongs on the sync thread pool, never in a callback reactor.
//
//   LogoutAdminService admin(&holder, &writer, authenticator.get());
//   builder.RegisterService(&admin);
#ifndef SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
#define SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_

#include "logout/v1/admin.grpc.pb.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/call_limits.h"
#include "service/store/policy_writer.h"
#include "service/store/snapshot_holder.h"

namespace logout::metrics {
class Metrics;
}  // namespace logout::metrics

namespace logout::rpc {

// LogoutAdminService: UNAUTHENTICATED / PERMISSION_DENIED before anything else; UNAVAILABLE for
// reads until a snapshot is installed; FAILED_PRECONDITION for writes in read-only mode.
// Thread-safe; `holder`, `writer` and `auth` must outlive it.
class LogoutAdminService final : public v1::LogoutAdmin::Service {
 public:
  // `limiter` (optional) bounds calls in progress, shared with the decision service;
  // `metrics` (optional) counts refused calls and store errors.
  LogoutAdminService(const store::SnapshotHolder* holder, store::PolicyWriter* writer,
                     const AdminAuthenticator* auth, ConcurrencyLimiter* limiter = nullptr,
                     metrics::Metrics* metrics = nullptr)
      : holder_(holder), writer_(writer), auth_(auth), limiter_(limiter), metrics_(metrics) {}

  grpc::Status GetTenant(grpc::ServerContext* ctx, const v1::GetTenantRequest* r,
                         v1::TenantResponse* out) override;
  grpc::Status ListTenants(grpc::ServerContext* ctx, const v1::ListTenantsRequest* r,
                           v1::ListTenantsResponse* out) override;
  grpc::Status CreateTenant(grpc::ServerContext* ctx, const v1::CreateTenantRequest* r,
                            v1::TenantResponse* out) override;
  grpc::Status UpdateTenant(grpc::ServerContext* ctx, const v1::UpdateTenantRequest* r,
                            v1::TenantResponse* out) override;
  grpc::Status DeleteTenant(grpc::ServerContext* ctx, const v1::DeleteTenantRequest* r,
                            v1::DeleteResponse* out) override;
  grpc::Status GetClient(grpc::ServerContext* ctx, const v1::GetClientRequest* r,
                         v1::ClientResponse* out) override;
  grpc::Status ListClients(grpc::ServerContext* ctx, const v1::ListClientsRequest* r,
                           v1::ListClientsResponse* out) override;
  grpc::Status CreateClient(grpc::ServerContext* ctx, const v1::CreateClientRequest* r,
                            v1::ClientResponse* out) override;
  grpc::Status UpdateClient(grpc::ServerContext* ctx, const v1::UpdateClientRequest* r,
                            v1::ClientResponse* out) override;
  grpc::Status DeleteClient(grpc::ServerContext* ctx, const v1::DeleteClientRequest* r,
                            v1::DeleteResponse* out) override;
  grpc::Status GetConnection(grpc::ServerContext* ctx, const v1::GetConnectionRequest* r,
                             v1::ConnectionResponse* out) override;
  grpc::Status ListConnections(grpc::ServerContext* ctx, const v1::ListConnectionsRequest* r,
                               v1::ListConnectionsResponse* out) override;
  grpc::Status CreateConnection(grpc::ServerContext* ctx, const v1::CreateConnectionRequest* r,
                                v1::ConnectionResponse* out) override;
  grpc::Status UpdateConnection(grpc::ServerContext* ctx, const v1::UpdateConnectionRequest* r,
                                v1::ConnectionResponse* out) override;
  grpc::Status UpdateConnectionLogout(grpc::ServerContext* ctx,
                                      const v1::UpdateConnectionLogoutRequest* r,
                                      v1::ConnectionResponse* out) override;
  grpc::Status DeleteConnection(grpc::ServerContext* ctx, const v1::DeleteConnectionRequest* r,
                                v1::DeleteResponse* out) override;
  grpc::Status ExportPolicy(grpc::ServerContext* ctx, const v1::ExportPolicyRequest* r,
                            v1::ExportPolicyResponse* out) override;
  grpc::Status ImportPolicy(grpc::ServerContext* ctx, const v1::ImportPolicyRequest* r,
                            v1::ImportPolicyResponse* out) override;
  grpc::Status ListAuditEvents(grpc::ServerContext* ctx, const v1::ListAuditEventsRequest* r,
                               v1::ListAuditEventsResponse* out) override;
  grpc::Status ListBackchannelDeliveries(grpc::ServerContext* ctx,
                                         const v1::ListBackchannelDeliveriesRequest* r,
                                         v1::ListBackchannelDeliveriesResponse* out) override;

 private:
  void CountRefusal(const absl::Status& status) const;
  void CountStoreError(const absl::Status& status) const;

  const store::SnapshotHolder* holder_;
  store::PolicyWriter* writer_;
  const AdminAuthenticator* auth_;
  ConcurrencyLimiter* const limiter_;
  metrics::Metrics* const metrics_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
