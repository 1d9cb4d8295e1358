#include "service/admin/admin_mutations.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/json_util.h"
#include "service/admin/audit_object.h"
#include "service/admin/policy_difference.h"
#include "service/common/deterministic_bytes.h"

namespace logout::admin {
namespace {

using common::DeterministicBytes;

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;

std::string Etag(absl::string_view kind, const google::protobuf::Message& m) {
  const std::string bytes = absl::StrCat(kind, ":", DeterministicBytes(m));
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 16));
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

// A connection as written to the audit trail: opaque options whose key names a secret
// (client_secret, password, private_key, ...) are replaced by "<redacted>".
std::string AuditJson(const v1::Connection& c) {
  v1::Connection masked = c;
  for (auto& [key, value] : *masked.mutable_options()->mutable_fields()) {
    const std::string lower = absl::AsciiStrToLower(key);
    for (absl::string_view word : {"secret", "password", "private", "token", "key"}) {
      if (absl::StrContains(lower, word)) {
        value.set_string_value("<redacted>");
        break;
      }
    }
  }
  return Json(masked);
}

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 128)), "\"");
}

v1::AuditEvent Event(absl::string_view action, std::string object, std::string before,
                     std::string after) {
  v1::AuditEvent e;
  e.set_action(std::string(action));
  e.set_object(std::move(object));
  e.set_before_json(std::move(before));
  e.set_after_json(std::move(after));
  return e;
}

v1::Tenant* MutableTenant(v1::PolicyConfig& config, const std::string& name) {
  for (v1::Tenant& t : *config.mutable_tenants()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

absl::StatusOr<v1::Tenant*> RequireTenant(v1::PolicyConfig& config, const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("tenant is required");
  v1::Tenant* t = MutableTenant(config, name);
  if (t == nullptr) return absl::NotFoundError(absl::StrCat("tenant ", Quote(name), " not found"));
  return t;
}

absl::Status CheckEtag(const std::string& given, const std::string& current,
                       absl::string_view what) {
  if (!given.empty() && given != current) {
    return absl::AbortedError(absl::StrCat("etag of ", what, " is stale: read it again"));
  }
  return absl::OkStatus();
}

// Validates mask paths against `descriptor`, refusing `forbidden` ones (and their sub-paths).
template <typename T>
absl::Status CheckMask(const FieldMask& mask, std::initializer_list<absl::string_view> forbidden,
                       absl::string_view struct_prefix = "") {
  if (mask.paths_size() == 0) {
    return absl::InvalidArgumentError("update_mask must name the fields to change");
  }
  for (const std::string& path : mask.paths()) {
    for (absl::string_view f : forbidden) {
      if (path == f || absl::StartsWith(path, absl::StrCat(f, "."))) {
        return absl::InvalidArgumentError(
            absl::StrCat("update_mask path ", Quote(path), " cannot be changed here"));
      }
    }
    if (!struct_prefix.empty() && absl::StartsWith(path, struct_prefix) &&
        path.size() > struct_prefix.size()) {
      continue;  // a key inside the opaque options Struct
    }
    FieldMask one;
    one.add_paths(path);
    if (!FieldMaskUtil::IsValidFieldMask<T>(one)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask path ", Quote(path), " is not a field of ", T::descriptor()->name()));
    }
  }
  return absl::OkStatus();
}

// Copies the masked fields of `source` into `dest`; repeated and message fields are replaced.
void MergeMasked(const google::protobuf::Message& source, const FieldMask& mask,
                 google::protobuf::Message* dest) {
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(source, mask, options, dest);
}

}  // namespace

std::string TenantEtag(const v1::Tenant& tenant) {
  // Over the unredacted tenant fields, so that replacing a signing key's PEM changes the etag.
  v1::Tenant fields = tenant;
  fields.clear_clients();
  fields.clear_connections();
  return Etag("tenant", fields);
}
std::string ClientEtag(const v1::Client& client) { return Etag("client", client); }
std::string ConnectionEtag(const v1::Connection& connection) {
  return Etag("connection", connection);
}

v1::Tenant TenantView(const v1::Tenant& tenant) {
  v1::Tenant view = tenant;
  view.clear_clients();
  view.clear_connections();
  for (v1::SigningKey& k : *view.mutable_signing_keys()) k.clear_private_key_pem();
  for (v1::SsfStream& s : *view.mutable_shared_signals()->mutable_streams()) {
    s.clear_authorization_header();
  }
  if (!tenant.has_shared_signals()) view.clear_shared_signals();
  return view;
}

void RedactSecrets(v1::Tenant& tenant) {
  for (v1::Client& c : *tenant.mutable_clients()) c.clear_client_secret();
  for (v1::SigningKey& k : *tenant.mutable_signing_keys()) k.clear_private_key_pem();
  if (tenant.has_shared_signals()) {
    for (v1::SsfStream& s : *tenant.mutable_shared_signals()->mutable_streams()) {
      s.clear_authorization_header();
    }
  }
}

void KeepStoredStreamSecrets(const v1::Tenant& stored, v1::Tenant& incoming) {
  if (!incoming.has_shared_signals()) return;
  for (v1::SsfStream& s : *incoming.mutable_shared_signals()->mutable_streams()) {
    if (!s.authorization_header().empty()) continue;
    for (const v1::SsfStream& old : stored.shared_signals().streams()) {
      // Only to the same receiver: a stream moved to another endpoint needs its header
      // again, so a writer cannot redirect the stored secret to a host of their choosing.
      if (old.stream_id() == s.stream_id() && old.endpoint_url() == s.endpoint_url()) {
        s.set_authorization_header(old.authorization_header());
        break;
      }
    }
  }
}

void KeepStoredSigningKeys(const v1::Tenant& stored, v1::Tenant& incoming) {
  for (v1::SigningKey& k : *incoming.mutable_signing_keys()) {
    if (!k.private_key_pem().empty()) continue;
    for (const v1::SigningKey& old : stored.signing_keys()) {
      if (old.kid() == k.kid() && old.alg() == k.alg()) {
        k.set_private_key_pem(old.private_key_pem());
        break;
      }
    }
  }
}

void KeepStoredClientSecrets(const v1::Tenant& stored, v1::Tenant& incoming) {
  for (v1::Client& c : *incoming.mutable_clients()) {
    if (!c.client_secret().empty()) continue;
    const v1::Client* old = FindClient(stored, c.client_id());
    if (old == nullptr || old->client_secret().empty()) continue;
    c.set_client_secret(old->client_secret());
    if (!c.has_client_secret_expires_at() && old->has_client_secret_expires_at()) {
      *c.mutable_client_secret_expires_at() = old->client_secret_expires_at();
    }
  }
}

v1::Client ClientView(const v1::Client& client) {
  v1::Client view = client;
  view.clear_client_secret();
  return view;
}

const v1::Tenant* FindTenant(const v1::PolicyConfig& config, const std::string& name) {
  for (const v1::Tenant& t : config.tenants()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

const v1::Client* FindClient(const v1::Tenant& tenant, const std::string& client_id) {
  for (const v1::Client& c : tenant.clients()) {
    if (c.client_id() == client_id) return &c;
  }
  return nullptr;
}

const v1::Connection* FindConnection(const v1::Tenant& tenant, const std::string& name) {
  for (const v1::Connection& c : tenant.connections()) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

// --- Tenants.

absl::StatusOr<v1::AuditEvent> ApplyCreateTenant(const v1::CreateTenantRequest& r,
                                                 v1::PolicyConfig& config) {
  if (r.tenant().name().empty()) return absl::InvalidArgumentError("tenant.name is required");
  if (MutableTenant(config, r.tenant().name()) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("tenant ", Quote(r.tenant().name()), " exists"));
  }
  *config.add_tenants() = r.tenant();
  v1::Tenant masked = r.tenant();
  RedactSecrets(masked);
  return Event("CreateTenant", AuditObject(r.tenant().name()), "", Json(masked));
}

absl::StatusOr<v1::AuditEvent> ApplyUpdateTenant(const v1::UpdateTenantRequest& r,
                                                 v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  if (absl::Status s = CheckMask<v1::Tenant>(r.update_mask(), {"name", "clients", "connections"});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckEtag(r.etag(), TenantEtag(**t), "tenant"); !s.ok()) return s;
  const std::string before = Json(TenantView(**t));
  // A signing key sent back without its PEM (as GetTenant shows it) keeps the stored one.
  v1::Tenant update = r.tenant_update();
  KeepStoredSigningKeys(**t, update);
  KeepStoredStreamSecrets(**t, update);
  MergeMasked(update, r.update_mask(), *t);
  return Event("UpdateTenant", AuditObject(r.tenant()), before, Json(TenantView(**t)));
}

absl::StatusOr<v1::AuditEvent> ApplyDeleteTenant(const v1::DeleteTenantRequest& r,
                                                 v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  if (absl::Status s = CheckEtag(r.etag(), TenantEtag(**t), "tenant"); !s.ok()) return s;
  const std::string before = Json(TenantView(**t));
  auto* tenants = config.mutable_tenants();
  tenants->erase(std::find_if(tenants->begin(), tenants->end(),
                              [&](const v1::Tenant& x) { return x.name() == r.tenant(); }));
  return Event("DeleteTenant", AuditObject(r.tenant()), before, "");
}

// --- Clients.

absl::StatusOr<v1::AuditEvent> ApplyCreateClient(const v1::CreateClientRequest& r,
                                                 v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  if (r.client().client_id().empty())
    return absl::InvalidArgumentError("client.client_id is required");
  if (FindClient(**t, r.client().client_id()) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("client ", Quote(r.client().client_id()), " exists"));
  }
  *(*t)->add_clients() = r.client();
  return Event("CreateClient", AuditObject(r.tenant(), "client", r.client().client_id()), "",
               Json(ClientView(r.client())));
}

absl::StatusOr<v1::AuditEvent> ApplyUpdateClient(const v1::UpdateClientRequest& r,
                                                 v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  auto* c = const_cast<v1::Client*>(FindClient(**t, r.client_id()));
  if (c == nullptr)
    return absl::NotFoundError(absl::StrCat("client ", Quote(r.client_id()), " not found"));
  if (absl::Status s = CheckMask<v1::Client>(r.update_mask(), {"client_id"}); !s.ok()) return s;
  if (absl::Status s = CheckEtag(r.etag(), ClientEtag(*c), "client"); !s.ok()) return s;
  const std::string before = Json(ClientView(*c));
  MergeMasked(r.client(), r.update_mask(), c);
  return Event("UpdateClient", AuditObject(r.tenant(), "client", r.client_id()), before,
               Json(ClientView(*c)));
}

absl::StatusOr<v1::AuditEvent> ApplyDeleteClient(const v1::DeleteClientRequest& r,
                                                 v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  auto* clients = (*t)->mutable_clients();
  auto it = std::find_if(clients->begin(), clients->end(),
                         [&](const v1::Client& c) { return c.client_id() == r.client_id(); });
  if (it == clients->end())
    return absl::NotFoundError(absl::StrCat("client ", Quote(r.client_id()), " not found"));
  if (absl::Status s = CheckEtag(r.etag(), ClientEtag(*it), "client"); !s.ok()) return s;
  const std::string before = Json(ClientView(*it));
  clients->erase(it);
  return Event("DeleteClient", AuditObject(r.tenant(), "client", r.client_id()), before, "");
}

// --- Connections.

absl::StatusOr<v1::AuditEvent> ApplyCreateConnection(const v1::CreateConnectionRequest& r,
                                                     v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  if (r.connection().name().empty())
    return absl::InvalidArgumentError("connection.name is required");
  if (FindConnection(**t, r.connection().name()) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("connection ", Quote(r.connection().name()), " exists"));
  }
  *(*t)->add_connections() = r.connection();
  return Event("CreateConnection", AuditObject(r.tenant(), "connection", r.connection().name()), "",
               AuditJson(r.connection()));
}

absl::StatusOr<v1::AuditEvent> ApplyUpdateConnection(const v1::UpdateConnectionRequest& r,
                                                     v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  auto* c = const_cast<v1::Connection*>(FindConnection(**t, r.connection_name()));
  if (c == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("connection ", Quote(r.connection_name()), " not found"));
  }
  if (absl::Status s = CheckMask<v1::Connection>(r.update_mask(), {"name"}, "options."); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckEtag(r.etag(), ConnectionEtag(*c), "connection"); !s.ok()) return s;
  const std::string before = AuditJson(*c);
  // "options.<key>" paths change one key of the opaque options and keep every other.
  FieldMask regular;
  for (const std::string& path : r.update_mask().paths()) {
    if (absl::StartsWith(path, "options.")) {
      const std::string key = path.substr(8);
      const auto& src = r.connection().options().fields();
      auto* dst = c->mutable_options()->mutable_fields();
      if (const auto it = src.find(key); it != src.end()) {
        (*dst)[key] = it->second;
      } else {
        dst->erase(key);
      }
    } else {
      regular.add_paths(path);
    }
  }
  if (regular.paths_size() > 0) MergeMasked(r.connection(), regular, c);
  return Event("UpdateConnection", AuditObject(r.tenant(), "connection", r.connection_name()),
               before, AuditJson(*c));
}

absl::StatusOr<v1::AuditEvent> ApplyUpdateConnectionLogout(
    const v1::UpdateConnectionLogoutRequest& r, v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  auto* c = const_cast<v1::Connection*>(FindConnection(**t, r.connection()));
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("connection ", Quote(r.connection()), " not found"));
  }
  if (absl::Status s = CheckMask<v1::ConnectionLogout>(r.update_mask(), {}); !s.ok()) return s;
  if (absl::Status s = CheckEtag(r.etag(), ConnectionEtag(*c), "connection"); !s.ok()) return s;
  const std::string before = AuditJson(*c);
  MergeMasked(r.logout(), r.update_mask(), c->mutable_logout());
  return Event("UpdateConnectionLogout", AuditObject(r.tenant(), "connection", r.connection()),
               before, AuditJson(*c));
}

absl::StatusOr<v1::AuditEvent> ApplyDeleteConnection(const v1::DeleteConnectionRequest& r,
                                                     v1::PolicyConfig& config) {
  absl::StatusOr<v1::Tenant*> t = RequireTenant(config, r.tenant());
  if (!t.ok()) return t.status();
  auto* conns = (*t)->mutable_connections();
  auto it = std::find_if(conns->begin(), conns->end(),
                         [&](const v1::Connection& c) { return c.name() == r.connection(); });
  if (it == conns->end()) {
    return absl::NotFoundError(absl::StrCat("connection ", Quote(r.connection()), " not found"));
  }
  if (absl::Status s = CheckEtag(r.etag(), ConnectionEtag(*it), "connection"); !s.ok()) return s;
  const std::string before = AuditJson(*it);
  conns->erase(it);
  return Event("DeleteConnection", AuditObject(r.tenant(), "connection", r.connection()), before,
               "");
}

std::string PolicyEtagOfTenants(const std::vector<const std::string*>& tenant_bytes) {
  // The digest of Etag("policy", config) without building `config`: a PolicyConfig is its
  // tenants, each as field 1 (tag 0x0a), its length as a varint, then its bytes.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, "policy:", 7);
  for (const std::string* bytes : tenant_bytes) {
    unsigned char head[11];
    size_t n = 0;
    head[n++] = 0x0a;
    for (uint64_t len = bytes->size();; len >>= 7) {
      head[n++] = static_cast<unsigned char>((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
      if (len <= 0x7f) break;
    }
    EVP_DigestUpdate(ctx, head, n);
    EVP_DigestUpdate(ctx, bytes->data(), bytes->size());
  }
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 16));
}

std::string PolicyEtag(const v1::PolicyConfig& config) {
  // Tenants in name order: the store keeps them by name, and an import's order is not content.
  std::vector<const v1::Tenant*> tenants;
  tenants.reserve(static_cast<size_t>(config.tenants_size()));
  for (const v1::Tenant& t : config.tenants()) tenants.push_back(&t);
  std::sort(tenants.begin(), tenants.end(),
            [](const v1::Tenant* a, const v1::Tenant* b) { return a->name() < b->name(); });
  std::vector<std::string> bytes;
  bytes.reserve(tenants.size());
  for (const v1::Tenant* t : tenants) bytes.push_back(DeterministicBytes(*t));
  std::vector<const std::string*> views;
  views.reserve(bytes.size());
  for (const std::string& b : bytes) views.push_back(&b);
  return PolicyEtagOfTenants(views);
}

absl::StatusOr<v1::AuditEvent> ApplyImportPolicy(const v1::ImportPolicyRequest& r,
                                                 v1::PolicyConfig& config,
                                                 v1::ImportPolicyResponse* result) {
  if (r.force() && !r.expected_etag().empty()) {
    return absl::InvalidArgumentError(
        "force and expected_etag exclude each other: force imports without the etag check");
  }
  // A dry run may go without a precondition (it changes nothing); a stale one still fails.
  if (!r.force() && !(r.dry_run() && r.expected_etag().empty())) {
    if (r.expected_etag().empty()) {
      return absl::InvalidArgumentError(
          "expected_etag is required: an import replaces the whole policy, so pass the etag of "
          "the policy it was made from (ExportPolicy, or a dry run) or set force");
    }
    if (const std::string current = PolicyEtag(config); r.expected_etag() != current) {
      return absl::AbortedError(
          absl::StrCat("expected_etag ", Quote(r.expected_etag()),
                       " is stale: the stored policy has changed since (its etag is now \"",
                       current, "\"); export or preview again, or set force"));
    }
  }
  google::protobuf::Struct summary;
  auto* names = (*summary.mutable_fields())["tenants"].mutable_list_value();
  for (const v1::Tenant& t : r.policy().tenants()) names->add_values()->set_string_value(t.name());
  for (const std::string& path : r.clear_connection_fields().paths()) {
    if (path != "logout" && path != "options") {
      return absl::InvalidArgumentError(absl::StrCat("clear_connection_fields path ", Quote(path),
                                                     R"( must be "logout" or "options")"));
    }
  }
  for (const std::string& path : r.clear_client_fields().paths()) {
    if (path != "client_secret") {
      return absl::InvalidArgumentError(
          absl::StrCat("clear_client_fields path ", Quote(path), " must be \"client_secret\""));
    }
  }
  const bool clear_client_secrets = r.clear_client_fields().paths_size() > 0;
  const auto clears = [&r](absl::string_view f) {
    return std::find(r.clear_connection_fields().paths().begin(),
                     r.clear_connection_fields().paths().end(),
                     f) != r.clear_connection_fields().paths().end();
  };
  v1::PolicyConfig next = r.policy();
  for (v1::Tenant& t : *next.mutable_tenants()) {
    const v1::Tenant* old_tenant = FindTenant(config, t.name());
    if (old_tenant == nullptr) continue;
    // A redacted export (signing keys without PEM) re-imported keeps the stored keys.
    KeepStoredSigningKeys(*old_tenant, t);
    KeepStoredStreamSecrets(*old_tenant, t);
    // Likewise client secrets, unless the import says to take them as they are.
    if (!clear_client_secrets) KeepStoredClientSecrets(*old_tenant, t);
    for (v1::Connection& c : *t.mutable_connections()) {
      const v1::Connection* old = FindConnection(*old_tenant, c.name());
      if (old == nullptr) continue;
      if (!c.has_logout() && old->has_logout() && !clears("logout"))
        *c.mutable_logout() = old->logout();
      if (!c.has_options() && old->has_options() && !clears("options"))
        *c.mutable_options() = old->options();
    }
  }
  v1::PolicyDifference difference = DiffPolicies(config, next);
  if (HasRemovals(difference) && !r.allow_deletions() && !r.dry_run()) {
    return absl::FailedPreconditionError(absl::StrCat("the import would remove ",
                                                      DescribeRemovals(difference),
                                                      "; set allow_deletions to import it"));
  }
  // The audit event: which tenants the import holds and what it changed.
  std::string after = Json(summary);
  after.pop_back();  // the closing '}' of the summary object
  absl::StrAppend(&after, ",\"difference\":", Json(difference), "}");
  if (result != nullptr) {
    result->set_requires_allow_deletions(r.dry_run() && HasRemovals(difference) &&
                                         !r.allow_deletions());
    result->set_etag(r.dry_run() ? PolicyEtag(config) : PolicyEtag(next));
    *result->mutable_difference() = std::move(difference);
  }
  config = std::move(next);
  return Event("ImportPolicy", "policy", "", std::move(after));
}

}  // namespace logout::admin
