#include "service/rpc/logout_admin_service.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/admin/admin_mutations.h"
#include "service/admin/audit_object.h"
#include "service/common/log.h"
#include "service/metrics/metrics.h"
#include "service/rpc/grpc_status.h"

namespace logout::rpc {
namespace {

using admin::ApplyCreateClient;
using admin::ApplyCreateConnection;
using admin::ApplyCreateTenant;
using admin::ApplyDeleteClient;
using admin::ApplyDeleteConnection;
using admin::ApplyDeleteTenant;
using admin::ApplyImportPolicy;
using admin::ApplyUpdateClient;
using admin::ApplyUpdateConnection;
using admin::ApplyUpdateConnectionLogout;
using admin::ApplyUpdateTenant;
using admin::ClientEtag;
using admin::ClientView;
using admin::ConnectionEtag;
using admin::FindClient;
using admin::FindConnection;
using admin::FindTenant;
using admin::PolicyEtag;
using admin::RedactSecrets;
using admin::TenantEtag;
using admin::TenantView;

using Snapshot = std::shared_ptr<const policy::CompiledPolicy>;

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

// A paged export's position: the version it reads and the last tenant it returned.
// A paging position: what the first page was taken from (`guard`: for exports, the etag of
// the tenants the caller may read, so a later page from any replica holding the same content
// continues and any change in between is noticed; empty for listings) and the last tenant
// returned.
struct PageCursor {
  std::string guard;
  std::string after;
};
// The bytes of tenants an export page holds before it stops (at least one tenant per page).
constexpr size_t kExportPageBytes = size_t{2} << 20;
// The largest ListTenants page.
constexpr size_t kMaxTenantPage = 1000;

std::string PageToken(const PageCursor& c) {
  return absl::StrCat(c.guard, ":", absl::BytesToHexString(c.after));
}

bool IsHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return absl::ascii_isxdigit(ch); });
}

std::optional<PageCursor> ParsePageToken(absl::string_view token) {
  const size_t colon = token.find(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  const absl::string_view guard = token.substr(0, colon);
  const absl::string_view hex = token.substr(colon + 1);
  if (guard.size() > 64 || !IsHex(guard) || hex.size() % 2 != 0 || hex.size() > 1024 ||
      !IsHex(hex)) {
    return std::nullopt;
  }
  return PageCursor{std::string(guard), absl::HexStringToBytes(hex)};
}

// NextReadable returns the first tenant from `it` on that `caller` may read, or `end`.
std::vector<std::string>::const_iterator NextReadable(std::vector<std::string>::const_iterator it,
                                                      std::vector<std::string>::const_iterator end,
                                                      const Caller& caller) {
  while (it != end && !caller.MayRead(*it)) ++it;
  return it;
}

// One line per admin write: who, which RPC, and the new version or why it was refused.
void LogWrite(const char* method, const std::string& actor, const absl::StatusOr<uint64_t>& v) {
  if (v.ok()) {
    common::LogEvent(common::LogLevel::kInfo, "admin write",
                     {{"method", method}, {"actor", actor}, {"version", absl::StrCat(*v), true}});
  } else {
    common::LogEvent(common::LogLevel::kWarning, "admin write refused",
                     {{"method", method},
                      {"actor", actor},
                      {"code", absl::StatusCodeToString(v.status().code())},
                      {"error", std::string(v.status().message())}});
  }
}

std::string Q(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 128)), "\"");
}

// The refusal of a call outside the caller's scope or role. It says what the credential may
// not do, never whether the tenant exists.
absl::Status Denied(const Caller& caller, absl::string_view what, absl::string_view tenant) {
  return absl::PermissionDeniedError(absl::StrCat("credential ", Q(caller.actor), " (",
                                                  RoleName(caller.role), ") may not ", what,
                                                  " tenant ", Q(tenant)));
}

// True when an audit event belongs to a tenant the caller may read. Policy-wide events
// ("policy") and objects that do not name one tenant unambiguously only for credentials of "*".
// An event written before names were encoded, about a tenant whose name has a '/'
// ("tenant/acme/client/x" for the tenant "acme/client/x"), reads like one of another tenant's
// objects: when `policy` has a tenant of that whole name, the event is treated as ambiguous.
bool AuditEventVisible(const Caller& caller, const std::string& object,
                       const policy::CompiledPolicy* policy) {
  if (caller.SeesEveryTenant()) return true;
  const std::optional<std::string> tenant = admin::AuditObjectTenant(object);
  if (!tenant.has_value() || !caller.MayRead(*tenant)) return false;
  const absl::string_view rest = absl::string_view(object).substr(7);  // after "tenant/"
  return policy == nullptr || !absl::StrContains(rest, '/') || policy->FindTenant(rest) == nullptr;
}

// Pages of a trail scanned for one filtered page, at most (then the caller continues from the
// returned cursor).
constexpr int kMaxScannedPages = 20;

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

grpc::Status LogoutAdminService::Refuse(const char* method, const absl::Status& status) const {
  CountRefusal(status);
  common::LogEvent(common::LogLevel::kWarning, "admin call refused",
                   {{"method", method},
                    {"code", absl::StatusCodeToString(status.code())},
                    {"error", std::string(status.message())}});
  return ToGrpcStatus(status);
}

grpc::Status LogoutAdminService::Serve(grpc::ServerContext* ctx, const char* method,
                                       const std::function<grpc::Status(const Caller&)>& body) {
  const Admission admission(limiter_, *ctx);
  if (!admission.status().ok()) return admission.status();
  absl::StatusOr<Caller> caller =
      auth_->Authenticate(ctx->client_metadata(), ctx->auth_context().get());
  if (!caller.ok()) return Refuse(method, caller.status());
  return body(*caller);
}

grpc::Status LogoutAdminService::Write(grpc::ServerContext* ctx, const char* method,
                                       const Caller& caller, const std::string* tenant,
                                       const store::Mutation& apply, const FillFn& fill) {
  const absl::StatusOr<uint64_t> version =
      tenant == nullptr ? writer_->Write(caller.actor, WhileWanted(ctx, apply))
                        : writer_->WriteTenant(caller.actor, *tenant, WhileWanted(ctx, apply));
  LogWrite(method, caller.actor, version);
  CountStoreError(version.status());
  if (!version.ok()) return ToGrpcStatus(version.status());
  const Snapshot snap = holder_->Get();
  if (snap == nullptr) return NoPolicyStatus();
  return fill(snap, *version);
}

grpc::Status LogoutAdminService::GetTenant(grpc::ServerContext* ctx, const v1::GetTenantRequest* r,
                                           v1::TenantResponse* out) {
  return Serve(ctx, "GetTenant", [&](const Caller& caller) -> grpc::Status {
    if (!caller.MayRead(r->tenant()))
      return Refuse("GetTenant", Denied(caller, "read", r->tenant()));
    const Snapshot snap = holder_->Get();
    if (snap == nullptr) return NoPolicyStatus();
    const std::optional<v1::Tenant> t = snap->TenantSource(r->tenant());
    if (!t.has_value()) return NotFound("tenant", r->tenant());
    FillTenant(*t, snap->version(), out);
    return grpc::Status::OK;
  });
}

grpc::Status LogoutAdminService::ListTenants(grpc::ServerContext* ctx,
                                             const v1::ListTenantsRequest* r,
                                             v1::ListTenantsResponse* out) {
  return Serve(ctx, "ListTenants", [&](const Caller& caller) -> grpc::Status {
    if (r->page_size() < 0) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "page_size must not be negative"};
    }
    const bool paged = r->page_size() > 0 || !r->page_token().empty();
    const size_t limit =
        !paged ? SIZE_MAX
        : r->page_size() == 0
            ? kMaxTenantPage
            : std::min<size_t>(static_cast<size_t>(r->page_size()), kMaxTenantPage);
    std::string after;
    if (!r->page_token().empty()) {
      const std::optional<PageCursor> cursor = ParsePageToken(r->page_token());
      if (!cursor.has_value()) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "page_token is not one ListTenants returned"};
      }
      after = cursor->after;
    }
    const Snapshot snap = holder_->Get();
    if (snap == nullptr) return grpc::Status::OK;  // nothing written yet: an empty list
    const std::vector<std::string> names = snap->TenantNames();
    auto it = r->page_token().empty() ? names.cbegin()
                                      : std::upper_bound(names.cbegin(), names.cend(), after);
    std::string last;
    for (it = NextReadable(it, names.cend(), caller); it != names.cend();
         it = NextReadable(std::next(it), names.cend(), caller)) {
      if (static_cast<size_t>(out->tenants_size()) >= limit) {
        // More readable tenants follow. Listing is not tied to one version: the token is only
        // the position (the last tenant returned, which the caller may read).
        out->set_next_page_token(PageToken({"", last}));
        break;
      }
      if (std::optional<v1::Tenant> t = snap->TenantSource(*it)) {
        FillTenant(*t, snap->version(), out->add_tenants());
        last = *it;
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status LogoutAdminService::CreateTenant(grpc::ServerContext* ctx,
                                              const v1::CreateTenantRequest* r,
                                              v1::TenantResponse* out) {
  return Serve(ctx, "CreateTenant", [&](const Caller& caller) -> grpc::Status {
    const std::string& name = r->tenant().name();
    if (!caller.MayAdminister(name)) return Refuse("CreateTenant", Denied(caller, "create", name));
    return Write(
        ctx, "CreateTenant", caller, &name,
        [r](v1::PolicyConfig& c) { return ApplyCreateTenant(*r, c); },
        [&](const Snapshot& snap, uint64_t) -> grpc::Status {
          const std::optional<v1::Tenant> t = snap->TenantSource(name);
          if (!t.has_value()) return NotFound("tenant", name);
          FillTenant(*t, snap->version(), out);
          return grpc::Status::OK;
        });
  });
}

grpc::Status LogoutAdminService::UpdateTenant(grpc::ServerContext* ctx,
                                              const v1::UpdateTenantRequest* r,
                                              v1::TenantResponse* out) {
  return Serve(ctx, "UpdateTenant", [&](const Caller& caller) -> grpc::Status {
    if (!caller.MayWrite(r->tenant())) {
      return Refuse("UpdateTenant", Denied(caller, "write", r->tenant()));
    }
    return Write(
        ctx, "UpdateTenant", caller, &r->tenant(),
        [r](v1::PolicyConfig& c) { return ApplyUpdateTenant(*r, c); },
        [&](const Snapshot& snap, uint64_t) -> grpc::Status {
          const std::optional<v1::Tenant> t = snap->TenantSource(r->tenant());
          if (!t.has_value()) return NotFound("tenant", r->tenant());
          FillTenant(*t, snap->version(), out);
          return grpc::Status::OK;
        });
  });
}

grpc::Status LogoutAdminService::DeleteTenant(grpc::ServerContext* ctx,
                                              const v1::DeleteTenantRequest* r,
                                              v1::DeleteResponse* out) {
  return Serve(ctx, "DeleteTenant", [&](const Caller& caller) -> grpc::Status {
    if (!caller.MayAdminister(r->tenant())) {
      return Refuse("DeleteTenant", Denied(caller, "delete", r->tenant()));
    }
    return Write(
        ctx, "DeleteTenant", caller, &r->tenant(),
        [r](v1::PolicyConfig& c) { return ApplyDeleteTenant(*r, c); },
        [out](const Snapshot&, uint64_t version) {
          out->set_policy_version(version);
          return grpc::Status::OK;
        });
  });
}

// ReadInTenant is the shared read in one tenant: scope, snapshot, tenant, then `find`.
grpc::Status LogoutAdminService::ReadInTenant(grpc::ServerContext* ctx, const char* method,
                                              const std::string& tenant, const ReadFn& find) {
  return Serve(ctx, method, [&](const Caller& caller) -> grpc::Status {
    if (!caller.MayRead(tenant)) return Refuse(method, Denied(caller, "read", tenant));
    const Snapshot snap = holder_->Get();
    if (snap == nullptr) return NoPolicyStatus();
    const std::optional<v1::Tenant> t = snap->TenantSource(tenant);
    if (!t.has_value()) return NotFound("tenant", tenant);
    return find(*t, snap->version());
  });
}

// WriteInTenant is the shared write of a client or connection: writer scope, then Write.
grpc::Status LogoutAdminService::WriteInTenant(grpc::ServerContext* ctx, const char* method,
                                               const std::string& tenant,
                                               const store::Mutation& apply, const FillFn& fill) {
  return Serve(ctx, method, [&](const Caller& caller) -> grpc::Status {
    if (!caller.MayWrite(tenant)) return Refuse(method, Denied(caller, "write", tenant));
    return Write(ctx, method, caller, &tenant, apply, fill);
  });
}

grpc::Status LogoutAdminService::GetClient(grpc::ServerContext* ctx, const v1::GetClientRequest* r,
                                           v1::ClientResponse* out) {
  return ReadInTenant(ctx, "GetClient", r->tenant(),
                      [&](const v1::Tenant& t, uint64_t version) -> grpc::Status {
                        const v1::Client* c = FindClient(t, r->client_id());
                        if (c == nullptr) return NotFound("client", r->client_id());
                        FillClient(*c, version, out);
                        return grpc::Status::OK;
                      });
}

grpc::Status LogoutAdminService::ListClients(grpc::ServerContext* ctx,
                                             const v1::ListClientsRequest* r,
                                             v1::ListClientsResponse* out) {
  return ReadInTenant(ctx, "ListClients", r->tenant(),
                      [&](const v1::Tenant& t, uint64_t version) -> grpc::Status {
                        for (const v1::Client& c : t.clients())
                          FillClient(c, version, out->add_clients());
                        return grpc::Status::OK;
                      });
}

namespace {

// The answer of a client write: the client as committed.
LogoutAdminService::FillFn FillCommittedClient(const std::string& tenant,
                                               const std::string& client_id,
                                               v1::ClientResponse* out) {
  return [&tenant, &client_id, out](const std::shared_ptr<const policy::CompiledPolicy>& snap,
                                    uint64_t) -> grpc::Status {
    const std::optional<v1::Tenant> t = snap->TenantSource(tenant);
    const v1::Client* c = t.has_value() ? FindClient(*t, client_id) : nullptr;
    if (c == nullptr) return NotFound("client", client_id);
    FillClient(*c, snap->version(), out);
    return grpc::Status::OK;
  };
}

// The answer of a connection write: the connection as committed.
LogoutAdminService::FillFn FillCommittedConnection(const std::string& tenant,
                                                   const std::string& name,
                                                   v1::ConnectionResponse* out) {
  return [&tenant, &name, out](const std::shared_ptr<const policy::CompiledPolicy>& snap,
                               uint64_t) -> grpc::Status {
    const std::optional<v1::Tenant> t = snap->TenantSource(tenant);
    const v1::Connection* c = t.has_value() ? FindConnection(*t, name) : nullptr;
    if (c == nullptr) return NotFound("connection", name);
    FillConnection(*c, snap->version(), out);
    return grpc::Status::OK;
  };
}

// The answer of a delete: the committed version.
LogoutAdminService::FillFn FillDeleted(v1::DeleteResponse* out) {
  return [out](const std::shared_ptr<const policy::CompiledPolicy>&, uint64_t version) {
    out->set_policy_version(version);
    return grpc::Status::OK;
  };
}

}  // namespace

grpc::Status LogoutAdminService::CreateClient(grpc::ServerContext* ctx,
                                              const v1::CreateClientRequest* r,
                                              v1::ClientResponse* out) {
  return WriteInTenant(
      ctx, "CreateClient", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyCreateClient(*r, c); },
      FillCommittedClient(r->tenant(), r->client().client_id(), out));
}

grpc::Status LogoutAdminService::UpdateClient(grpc::ServerContext* ctx,
                                              const v1::UpdateClientRequest* r,
                                              v1::ClientResponse* out) {
  return WriteInTenant(
      ctx, "UpdateClient", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyUpdateClient(*r, c); },
      FillCommittedClient(r->tenant(), r->client_id(), out));
}

grpc::Status LogoutAdminService::DeleteClient(grpc::ServerContext* ctx,
                                              const v1::DeleteClientRequest* r,
                                              v1::DeleteResponse* out) {
  return WriteInTenant(
      ctx, "DeleteClient", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyDeleteClient(*r, c); }, FillDeleted(out));
}

grpc::Status LogoutAdminService::GetConnection(grpc::ServerContext* ctx,
                                               const v1::GetConnectionRequest* r,
                                               v1::ConnectionResponse* out) {
  return ReadInTenant(ctx, "GetConnection", r->tenant(),
                      [&](const v1::Tenant& t, uint64_t version) -> grpc::Status {
                        const v1::Connection* c = FindConnection(t, r->connection());
                        if (c == nullptr) return NotFound("connection", r->connection());
                        FillConnection(*c, version, out);
                        return grpc::Status::OK;
                      });
}

grpc::Status LogoutAdminService::ListConnections(grpc::ServerContext* ctx,
                                                 const v1::ListConnectionsRequest* r,
                                                 v1::ListConnectionsResponse* out) {
  return ReadInTenant(ctx, "ListConnections", r->tenant(),
                      [&](const v1::Tenant& t, uint64_t version) -> grpc::Status {
                        for (const v1::Connection& c : t.connections()) {
                          FillConnection(c, version, out->add_connections());
                        }
                        return grpc::Status::OK;
                      });
}

grpc::Status LogoutAdminService::CreateConnection(grpc::ServerContext* ctx,
                                                  const v1::CreateConnectionRequest* r,
                                                  v1::ConnectionResponse* out) {
  return WriteInTenant(
      ctx, "CreateConnection", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyCreateConnection(*r, c); },
      FillCommittedConnection(r->tenant(), r->connection().name(), out));
}

grpc::Status LogoutAdminService::UpdateConnection(grpc::ServerContext* ctx,
                                                  const v1::UpdateConnectionRequest* r,
                                                  v1::ConnectionResponse* out) {
  return WriteInTenant(
      ctx, "UpdateConnection", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyUpdateConnection(*r, c); },
      FillCommittedConnection(r->tenant(), r->connection_name(), out));
}

grpc::Status LogoutAdminService::UpdateConnectionLogout(grpc::ServerContext* ctx,
                                                        const v1::UpdateConnectionLogoutRequest* r,
                                                        v1::ConnectionResponse* out) {
  return WriteInTenant(
      ctx, "UpdateConnectionLogout", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyUpdateConnectionLogout(*r, c); },
      FillCommittedConnection(r->tenant(), r->connection(), out));
}

grpc::Status LogoutAdminService::DeleteConnection(grpc::ServerContext* ctx,
                                                  const v1::DeleteConnectionRequest* r,
                                                  v1::DeleteResponse* out) {
  return WriteInTenant(
      ctx, "DeleteConnection", r->tenant(),
      [r](v1::PolicyConfig& c) { return ApplyDeleteConnection(*r, c); }, FillDeleted(out));
}

grpc::Status LogoutAdminService::ExportPolicy(grpc::ServerContext* ctx,
                                              const v1::ExportPolicyRequest* r,
                                              v1::ExportPolicyResponse* out) {
  return Serve(ctx, "ExportPolicy", [&](const Caller& caller) -> grpc::Status {
    if (r->include_secrets() && caller.role != Role::kAdmin) {
      return Refuse("ExportPolicy",
                    absl::PermissionDeniedError(absl::StrCat(
                        "credential ", Q(caller.actor), " (", RoleName(caller.role),
                        ") may not export secrets (include_secrets needs the admin role)")));
    }
    const Snapshot snap = holder_->Get();
    if (snap == nullptr) {
      // Nothing loaded yet: the export is the empty policy (version 0), and its etag is the
      // precondition of the first import (checked against the store inside its transaction,
      // so a store that does hold a policy refuses it as stale).
      if (caller.SeesEveryTenant()) out->set_etag(PolicyEtag(v1::PolicyConfig()));
      return grpc::Status::OK;
    }
    if (r->page_size() < 0) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "page_size must not be negative"};
    }
    const bool paged = r->page_size() > 0 || !r->page_token().empty();
    std::optional<PageCursor> cursor;
    if (!r->page_token().empty()) {
      cursor = ParsePageToken(r->page_token());
      if (!cursor.has_value()) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "page_token is not one ExportPolicy returned"};
      }
    }
    // The tenants this caller may read, and the etag of exactly those: the whole policy's etag
    // for a caller that sees every tenant (returned), a guard for the pages otherwise (not).
    std::vector<std::string> names = snap->TenantNames();
    names.erase(std::remove_if(names.begin(), names.end(),
                               [&](const std::string& n) { return !caller.MayRead(n); }),
                names.end());
    std::vector<const std::string*> bytes;
    bytes.reserve(names.size());
    for (const std::string& name : names) bytes.push_back(&snap->FindTenant(name)->source_bytes);
    const std::string etag = admin::PolicyEtagOfTenants(bytes);
    if (caller.SeesEveryTenant()) out->set_etag(etag);
    auto first = names.cbegin();
    if (cursor.has_value()) {
      if (cursor->guard != etag) {
        return {grpc::StatusCode::ABORTED,
                "the policy changed during the export; export again from the first page"};
      }
      first = std::upper_bound(names.cbegin(), names.cend(), cursor->after);
    }
    const size_t max_tenants = r->page_size() > 0 ? static_cast<size_t>(r->page_size()) : SIZE_MAX;
    size_t page_bytes = 0;
    auto it = first;
    for (; it != names.cend(); ++it) {
      if (paged && it != first &&
          (static_cast<size_t>(out->policy().tenants_size()) >= max_tenants ||
           page_bytes >= kExportPageBytes)) {
        break;
      }
      std::optional<v1::Tenant> t = snap->TenantSource(*it);
      if (!t.has_value()) continue;
      page_bytes += snap->FindTenant(*it)->source_bytes.size();
      if (!r->include_secrets()) RedactSecrets(*t);  // client secrets, private_key_pem
      *out->mutable_policy()->add_tenants() = *std::move(t);
    }
    if (paged && it != names.cend()) {
      out->set_next_page_token(PageToken({etag, *std::prev(it)}));
    }
    out->set_policy_version(snap->version());
    return grpc::Status::OK;
  });
}

grpc::Status LogoutAdminService::ImportPolicy(grpc::ServerContext* ctx,
                                              const v1::ImportPolicyRequest* r,
                                              v1::ImportPolicyResponse* out) {
  return Serve(ctx, "ImportPolicy", [&](const Caller& caller) -> grpc::Status {
    if (!caller.IsPolicyAdmin()) {
      return Refuse("ImportPolicy",
                    absl::PermissionDeniedError(absl::StrCat(
                        "credential ", Q(caller.actor), " (", RoleName(caller.role),
                        ") may not import a policy (it replaces every tenant: it needs the admin "
                        "role for \"*\")")));
    }
    const store::Mutation apply = [r, out](v1::PolicyConfig& c) {
      return ApplyImportPolicy(*r, c, out);
    };
    if (r->dry_run()) {
      absl::StatusOr<uint64_t> version = writer_->Preview(WhileWanted(ctx, apply));
      CountStoreError(version.status());
      if (!version.ok()) return ToGrpcStatus(version.status());
      out->set_policy_version(*version);
      return grpc::Status::OK;
    }
    return Write(ctx, "ImportPolicy", caller, nullptr, apply,
                 [out](const Snapshot&, uint64_t version) {
                   out->set_policy_version(version);
                   return grpc::Status::OK;
                 });
  });
}

grpc::Status LogoutAdminService::ListAuditEvents(grpc::ServerContext* ctx,
                                                 const v1::ListAuditEventsRequest* r,
                                                 v1::ListAuditEventsResponse* out) {
  return Serve(ctx, "ListAuditEvents", [&](const Caller& caller) -> grpc::Status {
    const uint32_t limit = r->page_size() == 0 ? 100 : std::min<uint32_t>(r->page_size(), 1000);
    uint64_t before = r->before_version();
    const Snapshot snap = holder_->Get();
    const policy::CompiledPolicy* policy = snap.get();
    // A scoped credential reads pages until it has `limit` of its own events (or the bound).
    for (int page = 0; page < kMaxScannedPages; ++page) {
      absl::StatusOr<std::vector<v1::AuditEvent>> events = writer_->ListAudit(before, limit);
      if (!events.ok()) return ToGrpcStatus(events.status());
      const bool last = events->size() < limit;
      for (v1::AuditEvent& e : *events) {
        before = e.policy_version();
        if (!AuditEventVisible(caller, e.object(), policy)) continue;
        *out->add_events() = std::move(e);
        if (static_cast<uint32_t>(out->events_size()) == limit) break;
      }
      if (last && static_cast<uint32_t>(out->events_size()) < limit) {
        before = 0;  // the end of the trail was read
        break;
      }
      if (static_cast<uint32_t>(out->events_size()) == limit) break;
    }
    out->set_next_before_version(before);
    return grpc::Status::OK;
  });
}

grpc::Status LogoutAdminService::ListBackchannelDeliveries(
    grpc::ServerContext* ctx, const v1::ListBackchannelDeliveriesRequest* r,
    v1::ListBackchannelDeliveriesResponse* out) {
  return Serve(ctx, "ListBackchannelDeliveries", [&](const Caller& caller) -> grpc::Status {
    if (r->tenant().size() > 256) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "tenant is longer than 256 bytes"};
    }
    if (!r->tenant().empty() && !caller.MayRead(r->tenant())) {
      return Refuse("ListBackchannelDeliveries", Denied(caller, "read", r->tenant()));
    }
    const int limit =
        r->page_size() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(r->page_size(), 1000));
    // Filtered by the store when one tenant is asked for (or the credential sees every tenant);
    // else pages are read until `limit` of the credential's tenants' events are found.
    const bool filtered = r->tenant().empty() && !caller.SeesEveryTenant();
    uint64_t before = r->before_id();
    for (int page = 0; page < (filtered ? kMaxScannedPages : 1); ++page) {
      absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> events =
          writer_->ListDeliveryEvents(r->tenant(), before, limit);
      if (!events.ok()) return ToGrpcStatus(events.status());
      // A full page may have more behind it; a short one is the last.
      const bool last = static_cast<int>(events->size()) < limit;
      for (v1::BackchannelDeliveryEvent& e : *events) {
        before = e.id();
        if (filtered && !caller.InScope(e.tenant())) continue;
        *out->add_events() = std::move(e);
        if (out->events_size() == limit) break;
      }
      if (last && out->events_size() < limit) {
        before = 0;
        break;
      }
      if (out->events_size() == limit) break;
    }
    out->set_next_before_id(before);
    return grpc::Status::OK;
  });
}

namespace {

google::protobuf::Timestamp TimestampOfMicros(int64_t micros) {
  google::protobuf::Timestamp t;
  t.set_seconds(micros / 1000000);
  t.set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
  return t;
}

void FillJob(const store::OutboxJob& j, v1::NotificationJob* out) {
  out->set_id(j.id);
  out->set_kind(j.kind);
  out->set_tenant(j.tenant);
  out->set_target(j.target);
  out->set_uri_origin(j.origin);
  out->set_state(std::string(store::JobStateName(j.state)));
  out->set_attempts(static_cast<uint32_t>(std::max(j.attempts, 0)));
  out->set_http_status(static_cast<uint32_t>(std::max(j.http_status, 0)));
  out->set_detail(j.detail);
  *out->mutable_create_time() = TimestampOfMicros(j.created_micros);
  if (j.state == store::JobState::kPending) {
    *out->mutable_next_attempt_time() = TimestampOfMicros(j.due_micros);
  } else {
    *out->mutable_finish_time() = TimestampOfMicros(j.finished_micros);
  }
  *out->mutable_expire_time() = TimestampOfMicros(j.expires_micros);
  out->set_lease_owner(j.lease_owner);
}

constexpr char kNoOutbox[] =
    "no notification outbox: logoutd delivers (and keeps jobs) only with --deliver_backchannel "
    "and a database store";

}  // namespace

grpc::Status LogoutAdminService::ListNotificationJobs(grpc::ServerContext* ctx,
                                                      const v1::ListNotificationJobsRequest* r,
                                                      v1::ListNotificationJobsResponse* out) {
  return Serve(ctx, "ListNotificationJobs", [&](const Caller& caller) -> grpc::Status {
    if (r->tenant().size() > 256) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "tenant is longer than 256 bytes"};
    }
    if (!r->tenant().empty() && !caller.MayRead(r->tenant())) {
      return Refuse("ListNotificationJobs", Denied(caller, "read", r->tenant()));
    }
    store::ListFilter filter;
    filter.tenant = r->tenant();
    if (!r->kind().empty() && r->kind() != store::kJobKindBackchannel &&
        r->kind() != store::kJobKindSet) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "kind must be \"backchannel\" or \"set\""};
    }
    filter.kind = r->kind();
    if (r->states_size() > 4) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "states: at most 4 values"};
    }
    for (const std::string& name : r->states()) {
      store::JobState state;
      if (!store::ParseJobState(name, &state)) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("states: \"", name.substr(0, 32),
                             "\" is not one of pending, delivered, rejected, dead")};
      }
      filter.states.push_back(state);
    }
    if (outbox_ == nullptr) return {grpc::StatusCode::FAILED_PRECONDITION, kNoOutbox};
    const int limit =
        r->page_size() == 0 ? 100 : static_cast<int>(std::min<uint32_t>(r->page_size(), 1000));
    // As ListBackchannelDeliveries: a credential scoped to some tenants pages through the
    // table until it has `limit` of its own jobs (or gives a next_before_id to go on).
    const bool scoped = r->tenant().empty() && !caller.SeesEveryTenant();
    uint64_t before = r->before_id();
    for (int page = 0; page < (scoped ? kMaxScannedPages : 1); ++page) {
      filter.before_id = before;
      filter.limit = limit;
      absl::StatusOr<std::vector<store::OutboxJob>> jobs = outbox_->List(filter);
      if (!jobs.ok()) return ToGrpcStatus(jobs.status());
      const bool last = static_cast<int>(jobs->size()) < limit;
      for (const store::OutboxJob& j : *jobs) {
        before = j.id;
        if (scoped && !caller.InScope(j.tenant)) continue;
        FillJob(j, out->add_jobs());
        if (out->jobs_size() == limit) break;
      }
      if (last && out->jobs_size() < limit) {
        before = 0;
        break;
      }
      if (out->jobs_size() == limit) break;
    }
    out->set_next_before_id(before);
    return grpc::Status::OK;
  });
}

grpc::Status LogoutAdminService::RequeueDeadLetters(grpc::ServerContext* ctx,
                                                    const v1::RequeueDeadLettersRequest* r,
                                                    v1::RequeueDeadLettersResponse* out) {
  return Serve(ctx, "RequeueDeadLetters", [&](const Caller& caller) -> grpc::Status {
    if (r->tenant().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "tenant is required"};
    if (r->tenant().size() > 256) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "tenant is longer than 256 bytes"};
    }
    if (!caller.MayWrite(r->tenant())) {
      return Refuse("RequeueDeadLetters", Denied(caller, "write", r->tenant()));
    }
    if (r->ids_size() > store::kMaxOutboxPage) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "ids: at most 1000 per call"};
    }
    if (outbox_ == nullptr) return {grpc::StatusCode::FAILED_PRECONDITION, kNoOutbox};
    const std::vector<uint64_t> ids(r->ids().begin(), r->ids().end());
    const absl::Time now = absl::Now();
    absl::StatusOr<int64_t> n = outbox_->Requeue(r->tenant(), ids, absl::ToUnixMicros(now),
                                                 absl::ToUnixMicros(now + horizon_));
    if (!n.ok()) {
      CountStoreError(n.status());
      return ToGrpcStatus(n.status());
    }
    out->set_requeued(static_cast<uint64_t>(*n));
    common::LogEvent(
        common::LogLevel::kInfo, "dead letters requeued",
        {{"actor", caller.actor}, {"tenant", r->tenant()}, {"requeued", absl::StrCat(*n), true}});
    return grpc::Status::OK;
  });
}

}  // namespace logout::rpc
