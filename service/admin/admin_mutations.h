// The admin API's writes as pure functions over the policy document: each checks its
// preconditions (existence, etag), applies a create / partial update / delete to `config`, and
// returns the audit event. The caller (PolicyWriter) runs them inside a store transaction and
// then validates the whole result with the policy compiler, so a write that would make the
// policy invalid is refused whole.
//
//   absl::StatusOr<v1::AuditEvent> e = ApplyUpdateConnectionLogout(request, config);
#ifndef SERVICE_ADMIN_ADMIN_MUTATIONS_H_
#define SERVICE_ADMIN_ADMIN_MUTATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "logout/v1/admin.pb.h"
#include "logout/v1/policy.pb.h"

namespace logout::admin {

// Etags: the first 16 bytes of SHA-256 over the object's deterministic serialisation, hex.
// A tenant's etag covers its own fields, not its clients or connections.
std::string TenantEtag(const v1::Tenant& tenant);
std::string ClientEtag(const v1::Client& client);
std::string ConnectionEtag(const v1::Connection& connection);

// Views returned to admin callers: a tenant without clients/connections and with its signing
// keys' private_key_pem and its Shared Signals streams' authorization_header cleared; a client
// with its secret cleared.
v1::Tenant TenantView(const v1::Tenant& tenant);
v1::Client ClientView(const v1::Client& client);
// RedactSecrets clears every secret of `tenant`: client secrets, signing keys' PEM and stream
// authorization headers (what ExportPolicy without include_secrets and the audit trail show).
void RedactSecrets(v1::Tenant& tenant);
// KeepStoredSigningKeys gives each signing key of `incoming` without a private_key_pem the PEM
// of the stored key with the same kid and alg, so that writing back a redacted read (GetTenant,
// ExportPolicy) does not wipe keys. A key whose kid is new still needs its PEM.
void KeepStoredSigningKeys(const v1::Tenant& stored, v1::Tenant& incoming);
// KeepStoredClientSecrets gives each client of `incoming` with an empty client_secret the
// secret of the stored client with the same client_id, and the stored client_secret_expires_at
// when `incoming` has none (a kept secret never silently loses its expiry), so that importing
// a redacted export does not wipe secrets. A client whose client_id is new keeps what it has.
void KeepStoredClientSecrets(const v1::Tenant& stored, v1::Tenant& incoming);
// KeepStoredStreamSecrets gives each Shared Signals stream of `incoming` with an empty
// authorization_header the header of the stored stream with the same stream_id and the same
// endpoint_url (a redacted read written back keeps it; a stream pointed at another endpoint
// does not take the secret along).
void KeepStoredStreamSecrets(const v1::Tenant& stored, v1::Tenant& incoming);

// Each Apply* returns the audit event (actor left empty for the caller to fill) or:
// NotFoundError (unknown tenant/client/connection), AlreadyExistsError (create of an existing
// name), AbortedError (etag given and stale), InvalidArgumentError (missing name, unknown or
// forbidden update_mask path, naming it). An empty etag on update/delete means unconditional.
absl::StatusOr<v1::AuditEvent> ApplyCreateTenant(const v1::CreateTenantRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyUpdateTenant(const v1::UpdateTenantRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyDeleteTenant(const v1::DeleteTenantRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyCreateClient(const v1::CreateClientRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyUpdateClient(const v1::UpdateClientRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyDeleteClient(const v1::DeleteClientRequest& r,
                                                 v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyCreateConnection(const v1::CreateConnectionRequest& r,
                                                     v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyUpdateConnection(const v1::UpdateConnectionRequest& r,
                                                     v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyUpdateConnectionLogout(
    const v1::UpdateConnectionLogoutRequest& r, v1::PolicyConfig& config);
absl::StatusOr<v1::AuditEvent> ApplyDeleteConnection(const v1::DeleteConnectionRequest& r,
                                                     v1::PolicyConfig& config);
// PolicyEtag is the etag of a whole policy (secrets included), as ExportPolicy returns it and
// ImportPolicyRequest.expected_etag checks it.
std::string PolicyEtag(const v1::PolicyConfig& config);
// PolicyEtagOfTenants is PolicyEtag of the policy whose tenants, in name order, serialise
// (deterministically) to `tenant_bytes`: what a snapshot keeps, without parsing it.
std::string PolicyEtagOfTenants(const std::vector<const std::string*>& tenant_bytes);
// ImportPolicy replaces everything, except that stored connection logout/options, signing key
// PEMs and client secrets the import leaves empty are kept (see ImportPolicyRequest). Guarded:
// InvalidArgumentError without expected_etag or force (a dry run may omit both); AbortedError
// when expected_etag is not the etag of `config`; FailedPreconditionError naming what would go
// when the import (not a dry run) removes a tenant, client or connection without
// allow_deletions. A dry run changes `config` too: the caller discards it. `result` (optional)
// receives the difference and the etag (of `config` for a dry run, of the imported policy
// otherwise). The audit event's after_json holds the imported tenants' names and the difference.
absl::StatusOr<v1::AuditEvent> ApplyImportPolicy(const v1::ImportPolicyRequest& r,
                                                 v1::PolicyConfig& config,
                                                 v1::ImportPolicyResponse* result = nullptr);

// Lookups for the read RPCs (nullptr when absent).
const v1::Tenant* FindTenant(const v1::PolicyConfig& config, const std::string& name);
const v1::Client* FindClient(const v1::Tenant& tenant, const std::string& client_id);
const v1::Connection* FindConnection(const v1::Tenant& tenant, const std::string& name);

}  // namespace logout::admin

#endif  // SERVICE_ADMIN_ADMIN_MUTATIONS_H_
