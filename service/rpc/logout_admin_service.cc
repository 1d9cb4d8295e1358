#include "service/rpc/logout_admin_service.h"

#include "absl/strings/str_cat.h"
#include "service/metrics/metrics.h"
#include "service/rpc/admin_mutations.h"
#include "service/rpc/grpc_status.h"
#include "service/server/log.h"

namespace logout::rpc {
namespace {

using Snapshot = std::shared_ptr<const policy::CompiledPolicy>;

grpc::Status NoPolicy() { return {grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"}; }

grpc::Status NotFound(absl::string_view what, const std::string& name) {
  return {grpc::StatusCode::NOT_FOUND,
          std::string(what) + " \"" + name.substr(0, 128) + "\" not found"};
}

void FillTenant(const v1::Tenant& t, uint64_t version, v1::TenantResponse* out) {
  *out->mutable_tenant() = TenantView(t);
  out->set_etag(TenantEtag(t));
  out->set_policy_version(version);
}

void FillClient(const v1::Client& c, uint64_t version, v1::ClientResponse* out) {
  *out->mutable_client() = ClientView(c);
  out->set_etag(ClientEtag(c));
  out->set_policy_version(version);
}

void FillConnection(const v1::Connection& c, uint64_t version, v1::ConnectionResponse* out) {
  *out->mutable_connection() = c;
  out->set_etag(ConnectionEtag(c));
  out->set_policy_version(version);
}

// WhileWanted runs `apply` inside the store transaction only if the caller still wants the
// answer: a write that waited for the store's lock past its deadline (or was cancelled)
// writes nothing, instead of committing a change its caller was told failed.
store::Mutation WhileWanted(grpc::ServerContext* ctx, store::Mutation apply) {
  return [ctx, apply = std::move(apply)](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
    if (ctx->IsCancelled()) {
      return absl::CancelledError("the call was cancelled; nothing was written");
    }
    if (DeadlineExpired(*ctx)) {
      return absl::DeadlineExceededError(
          "the call's deadline passed while the write waited for the store; nothing was written");
    }
    return apply(c);
  };
}

// One line per admin write: who, which RPC, and the new version or why it was refused.
void LogWrite(const char* method, const std::string& actor, const absl::StatusOr<uint64_t>& v) {
  if (v.ok()) {
    server::LogEvent(server::LogLevel::kInfo, "admin write",
                     {{"method", method}, {"actor", actor}, {"version", absl::StrCat(*v), true}});
  } else {
    server::LogEvent(server::LogLevel::kWarning, "admin write refused",
                     {{"method", method},
                      {"actor", actor},
                      {"code", absl::StrCat(v.status().raw_code()), true},
                      {"error", std::string(v.status().message())}});
  }
}

}  // namespace

void LogoutAdminService::CountRefusal(const absl::Status& status) const {
  if (metrics_ == nullptr) return;
  metrics_->RecordRejected(status.code() == absl::StatusCode::kUnauthenticated
                               ? "admin_unauthenticated"
                               : "admin_unauthorized");
}

void LogoutAdminService::CountStoreError(const absl::Status& status) const {
  // UNAVAILABLE / INTERNAL / DATA_LOSS from a write come from the store, not the request.
  if (metrics_ != nullptr && (status.code() == absl::StatusCode::kUnavailable ||
                              status.code() == absl::StatusCode::kInternal ||
                              status.code() == absl::StatusCode::kDataLoss)) {
    metrics_->RecordStoreError("write");
  }
}

// NOLINTBEGIN(bugprone-macro-parentheses): arguments are names and lambdas.
// Admits the call (concurrency bound, deadline) and authorises it; returns from the RPC with
// the status when either fails.
#define LOGOUT_ADMIN_AUTHORIZE(ctx, actor_var)                                     \
  const ConcurrencySlot call_slot(limiter_);                                       \
  if (!call_slot.held()) return limiter_->ExhaustedStatus();                       \
  if (DeadlineExpired(*(ctx))) {                                                   \
    return {grpc::StatusCode::DEADLINE_EXCEEDED,                                   \
            "the call's deadline passed before logoutd started it"};               \
  }                                                                                \
  const absl::StatusOr<std::string> actor_var =                                    \
      auth_->Authorize((ctx)->client_metadata(), (ctx)->auth_context().get());     \
  if (!actor_var.ok()) {                                                           \
    CountRefusal(actor_var.status());                                              \
    server::LogEvent(server::LogLevel::kWarning, "admin call refused",             \
                     {{"method", __func__},                                        \
                      {"code", absl::StrCat(actor_var.status().raw_code()), true}, \
                      {"error", std::string(actor_var.status().message())}});      \
    return ToGrpcStatus(actor_var.status());                                       \
  }

// Runs a write; returns from the RPC when it fails, else leaves the snapshot in `snap`.
#define LOGOUT_ADMIN_WRITE(actor, apply, snap)                          \
  const absl::StatusOr<uint64_t> write_version =                        \
      writer_->Write(*(actor), WhileWanted(ctx, apply));                \
  LogWrite(__func__, *(actor), write_version);                          \
  CountStoreError(write_version.status());                              \
  if (!write_version.ok()) return ToGrpcStatus(write_version.status()); \
  const Snapshot snap = holder_->Get();                                 \
  if (snap == nullptr) return NoPolicy()
// NOLINTEND(bugprone-macro-parentheses)

grpc::Status LogoutAdminService::GetTenant(grpc::ServerContext* ctx, const v1::GetTenantRequest* r,
                                           v1::TenantResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  FillTenant(*t, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ListTenants(grpc::ServerContext* ctx,
                                             const v1::ListTenantsRequest* /*r*/,
                                             v1::ListTenantsResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return grpc::Status::OK;  // nothing written yet: an empty list
  for (const v1::Tenant& t : snap->source().tenants())
    FillTenant(t, snap->version(), out->add_tenants());
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::CreateTenant(grpc::ServerContext* ctx,
                                              const v1::CreateTenantRequest* r,
                                              v1::TenantResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyCreateTenant(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant().name());
  if (t == nullptr) return NotFound("tenant", r->tenant().name());
  FillTenant(*t, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::UpdateTenant(grpc::ServerContext* ctx,
                                              const v1::UpdateTenantRequest* r,
                                              v1::TenantResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyUpdateTenant(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  FillTenant(*t, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::DeleteTenant(grpc::ServerContext* ctx,
                                              const v1::DeleteTenantRequest* r,
                                              v1::DeleteResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyDeleteTenant(*r, c); }, snap);
  out->set_policy_version(*write_version);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::GetClient(grpc::ServerContext* ctx, const v1::GetClientRequest* r,
                                           v1::ClientResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  const v1::Client* c = FindClient(*t, r->client_id());
  if (c == nullptr) return NotFound("client", r->client_id());
  FillClient(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ListClients(grpc::ServerContext* ctx,
                                             const v1::ListClientsRequest* r,
                                             v1::ListClientsResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  for (const v1::Client& c : t->clients()) FillClient(c, snap->version(), out->add_clients());
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::CreateClient(grpc::ServerContext* ctx,
                                              const v1::CreateClientRequest* r,
                                              v1::ClientResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyCreateClient(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  const v1::Client* c = t == nullptr ? nullptr : FindClient(*t, r->client().client_id());
  if (c == nullptr) return NotFound("client", r->client().client_id());
  FillClient(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::UpdateClient(grpc::ServerContext* ctx,
                                              const v1::UpdateClientRequest* r,
                                              v1::ClientResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyUpdateClient(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  const v1::Client* c = t == nullptr ? nullptr : FindClient(*t, r->client_id());
  if (c == nullptr) return NotFound("client", r->client_id());
  FillClient(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::DeleteClient(grpc::ServerContext* ctx,
                                              const v1::DeleteClientRequest* r,
                                              v1::DeleteResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyDeleteClient(*r, c); }, snap);
  out->set_policy_version(*write_version);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::GetConnection(grpc::ServerContext* ctx,
                                               const v1::GetConnectionRequest* r,
                                               v1::ConnectionResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  const v1::Connection* c = FindConnection(*t, r->connection());
  if (c == nullptr) return NotFound("connection", r->connection());
  FillConnection(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ListConnections(grpc::ServerContext* ctx,
                                                 const v1::ListConnectionsRequest* r,
                                                 v1::ListConnectionsResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  if (t == nullptr) return NotFound("tenant", r->tenant());
  for (const v1::Connection& c : t->connections()) {
    FillConnection(c, snap->version(), out->add_connections());
  }
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::CreateConnection(grpc::ServerContext* ctx,
                                                  const v1::CreateConnectionRequest* r,
                                                  v1::ConnectionResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyCreateConnection(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  const v1::Connection* c = t == nullptr ? nullptr : FindConnection(*t, r->connection().name());
  if (c == nullptr) return NotFound("connection", r->connection().name());
  FillConnection(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::UpdateConnection(grpc::ServerContext* ctx,
                                                  const v1::UpdateConnectionRequest* r,
                                                  v1::ConnectionResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyUpdateConnection(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  const v1::Connection* c = t == nullptr ? nullptr : FindConnection(*t, r->connection_name());
  if (c == nullptr) return NotFound("connection", r->connection_name());
  FillConnection(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::UpdateConnectionLogout(grpc::ServerContext* ctx,
                                                        const v1::UpdateConnectionLogoutRequest* r,
                                                        v1::ConnectionResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyUpdateConnectionLogout(*r, c); }, snap);
  const v1::Tenant* t = FindTenant(snap->source(), r->tenant());
  const v1::Connection* c = t == nullptr ? nullptr : FindConnection(*t, r->connection());
  if (c == nullptr) return NotFound("connection", r->connection());
  FillConnection(*c, snap->version(), out);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::DeleteConnection(grpc::ServerContext* ctx,
                                                  const v1::DeleteConnectionRequest* r,
                                                  v1::DeleteResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyDeleteConnection(*r, c); }, snap);
  out->set_policy_version(*write_version);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ExportPolicy(grpc::ServerContext* ctx,
                                              const v1::ExportPolicyRequest* r,
                                              v1::ExportPolicyResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicy();
  *out->mutable_policy() = snap->source();
  if (!r->include_secrets()) {
    for (v1::Tenant& tenant : *out->mutable_policy()->mutable_tenants()) {
      RedactSecrets(tenant);  // client secrets and signing keys' private_key_pem
    }
  }
  out->set_policy_version(snap->version());
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ImportPolicy(grpc::ServerContext* ctx,
                                              const v1::ImportPolicyRequest* r,
                                              v1::ImportPolicyResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  LOGOUT_ADMIN_WRITE(
      actor, [r](v1::PolicyConfig& c) { return ApplyImportPolicy(*r, c); }, snap);
  out->set_policy_version(*write_version);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ListAuditEvents(grpc::ServerContext* ctx,
                                                 const v1::ListAuditEventsRequest* r,
                                                 v1::ListAuditEventsResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  const uint32_t limit = r->page_size() == 0 ? 100 : std::min<uint32_t>(r->page_size(), 1000);
  absl::StatusOr<std::vector<v1::AuditEvent>> events =
      writer_->ListAudit(r->before_version(), limit);
  if (!events.ok()) return ToGrpcStatus(events.status());
  for (v1::AuditEvent& e : *events) *out->add_events() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status LogoutAdminService::ListBackchannelDeliveries(
    grpc::ServerContext* ctx, const v1::ListBackchannelDeliveriesRequest* r,
    v1::ListBackchannelDeliveriesResponse* out) {
  LOGOUT_ADMIN_AUTHORIZE(ctx, actor);
  if (r->tenant().size() > 256) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "tenant is longer than 256 bytes"};
  }
  const int limit =
      r->page_size() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(r->page_size(), 1000));
  absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> events =
      writer_->ListDeliveryEvents(r->tenant(), r->before_id(), limit);
  if (!events.ok()) return ToGrpcStatus(events.status());
  // A full page may have more behind it; a short one is the last.
  if (static_cast<int>(events->size()) == limit) out->set_next_before_id(events->back().id());
  for (v1::BackchannelDeliveryEvent& e : *events) *out->add_events() = std::move(e);
  return grpc::Status::OK;
}

}  // namespace logout::rpc
