// The gRPC adapter for logout.v1.LogoutAdmin. Every call is authenticated first (a scoped
// credential: bearer token or client certificate) and checked against the credential's role
// and tenants;
// reads answer from the live snapshot (no store I/O); writes go through the PolicyWriter (one
// store transaction each). Uses gRPC's synchronous API on purpose: writes block on the store,
// and blocking belongs on the sync thread pool, never in a callback reactor.
//
//   LogoutAdminService admin(&holder, &writer, authenticator.get());
//   builder.RegisterService(&admin);
#ifndef SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
#define SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "logout/v1/admin.grpc.pb.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/call_limits.h"
#include "service/store/outbox.h"
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
  // What a write answers once it committed: the snapshot it installed and its version.
  using FillFn = std::function<grpc::Status(
      const std::shared_ptr<const policy::CompiledPolicy>& snapshot, uint64_t version)>;

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
  grpc::Status ListNotificationJobs(grpc::ServerContext* ctx,
                                    const v1::ListNotificationJobsRequest* r,
                                    v1::ListNotificationJobsResponse* out) override;
  grpc::Status RequeueDeadLetters(grpc::ServerContext* ctx, const v1::RequeueDeadLettersRequest* r,
                                  v1::RequeueDeadLettersResponse* out) override;

  // SetOutbox enables the outbox RPCs (--deliver_backchannel): jobs are read from `outbox`, and
  // a requeued dead letter gets `horizon` again. Call before serving; `outbox` must outlive
  // the service.
  void SetOutbox(store::Outbox* outbox, absl::Duration horizon) {
    outbox_ = outbox;
    horizon_ = horizon;
  }

 private:
  using ReadFn = std::function<grpc::Status(const v1::Tenant& tenant, uint64_t version)>;

  // Serve admits the call (concurrency bound, deadline), authenticates it and runs `body` with
  // the caller; a refused call is counted and logged.
  grpc::Status Serve(grpc::ServerContext* ctx, const char* method,
                     const std::function<grpc::Status(const Caller&)>& body);
  // Write runs `apply` in one store transaction on `tenant` (nullptr: the whole policy; nothing
  // is written when the caller stopped waiting), logs it, and answers with `fill` from the
  // committed snapshot.
  grpc::Status Write(grpc::ServerContext* ctx, const char* method, const Caller& caller,
                     const std::string* tenant, const store::Mutation& apply, const FillFn& fill);
  // ReadInTenant / WriteInTenant check the caller's scope for `tenant` (reader / writer) first.
  grpc::Status ReadInTenant(grpc::ServerContext* ctx, const char* method, const std::string& tenant,
                            const ReadFn& find);
  grpc::Status WriteInTenant(grpc::ServerContext* ctx, const char* method,
                             const std::string& tenant, const store::Mutation& apply,
                             const FillFn& fill);
  // Refuse counts, logs and converts a refusal.
  grpc::Status Refuse(const char* method, const absl::Status& status) const;
  void CountRefusal(const absl::Status& status) const;
  void CountStoreError(const absl::Status& status) const;

  const store::SnapshotHolder* holder_;
  store::PolicyWriter* writer_;
  const AdminAuthenticator* auth_;
  ConcurrencyLimiter* const limiter_;
  metrics::Metrics* const metrics_;
  store::Outbox* outbox_ = nullptr;
  absl::Duration horizon_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_LOGOUT_ADMIN_SERVICE_H_
