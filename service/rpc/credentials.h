// Scoped credentials: who may call the admin API and plan single logout, for which tenants,
// with which role. Read from a JSON file (--admin_credentials_file), reloaded when it changes;
// a file that does not parse keeps the last good credentials.
//
//   auto file = CredentialsFile::Open("/etc/logoutd/credentials.json");   // refused whole
//   if ((*file)->Get()->credentials().empty()) { ... }
//
// The file, strict RFC 8259 JSON (no comments, trailing commas or duplicate keys):
//
//   {"credentials": [
//     {"name": "platform-admin", "token_sha256": "<64 hex>", "role": "admin", "tenants": ["*"]},
//     {"name": "acme-ci", "token_sha256": "<64 hex>", "role": "writer", "tenants": ["acme"]},
//     {"name": "support", "client_identity": "spiffe://example.org/sa/support",
//      "role": "reader", "tenants": ["acme", "globex"]},
//     {"name": "web-tier", "token_sha256": "<64 hex>", "role": "planner", "tenants": ["*"]}]}
//
// Tokens are stored only as the SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
#ifndef SERVICE_RPC_CREDENTIALS_H_
#define SERVICE_RPC_CREDENTIALS_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace logout::rpc {

// Role: what a credential may do within its tenants. Reader < writer < admin on the admin API;
// planner is separate (single-logout planning on the decision port) and implies nothing else.
enum class Role { kReader, kWriter, kAdmin, kPlanner };

// RoleName is "reader", "writer", "admin" or "planner".
absl::string_view RoleName(Role role);

using Sha256Digest = std::array<unsigned char, 32>;

// Credential is one entry of the file (or the legacy --admin_token_file / --slo_token_file and
// identity flags, as credentials for every tenant).
struct Credential {
  // What the audit trail and the logs name the caller: the file's `name`, or "token:<12 hex>" /
  // "cert:<identity>" for the legacy flags.
  std::string name;
  std::optional<Sha256Digest> token_sha256;
  // A client-certificate identity (SAN URI/DNS, else the CN when there is no SAN); empty: none.
  std::string client_identity;
  Role role = Role::kReader;
  bool all_tenants = false;
  std::vector<std::string> tenants;  // when !all_tenants
};

// Caller is the credential an authorised call was made with. Copyable; owns its data.
struct Caller {
  std::string actor;
  Role role = Role::kReader;
  bool all_tenants = false;
  std::vector<std::string> tenants;

  // InScope is true when the credential covers `tenant`.
  bool InScope(absl::string_view tenant) const;
  // MayRead: reader, writer or admin of `tenant`. MayWrite: writer or admin of `tenant`.
  // MayAdminister: admin of `tenant` (create/delete it, see its secrets). MayPlan: planner of
  // `tenant`. IsPolicyAdmin: admin of every tenant (policy-wide calls: import).
  bool MayRead(absl::string_view tenant) const;
  bool MayWrite(absl::string_view tenant) const;
  bool MayAdminister(absl::string_view tenant) const;
  bool MayPlan(absl::string_view tenant) const;
  bool IsPolicyAdmin() const { return role == Role::kAdmin && all_tenants; }
  // SeesEveryTenant: the credential is for "*" (it may see policy-wide audit events).
  bool SeesEveryTenant() const { return all_tenants; }
};

// CredentialSet is an immutable list of credentials. Thread-safe.
class CredentialSet {
 public:
  // Parse reads the file's JSON. InvalidArgumentError naming the entry and field (never a
  // digest) for: JSON that is not strict (with line and column), an unknown key, a name that is
  // not 1-64 of [A-Za-z0-9._-] or repeats, a token_sha256 that is not 64 hex digits, neither a
  // token_sha256 nor a client_identity, an unknown role, an empty tenant list or tenant name,
  // "*" mixed with names, and a token or identity given twice for the same side (reader/
  // writer/admin on one side, planner on the other). At most 10,000 credentials.
  static absl::StatusOr<std::shared_ptr<const CredentialSet>> Parse(absl::string_view json);
  // Of builds a set from credentials already checked (the legacy flags; tests).
  static std::shared_ptr<const CredentialSet> Of(std::vector<Credential> credentials);

  const std::vector<Credential>& credentials() const { return credentials_; }

 private:
  explicit CredentialSet(std::vector<Credential> c) : credentials_(std::move(c)) {}
  std::vector<Credential> credentials_;
};

// CredentialsFile is a CredentialSet read from a file and re-read by ReloadIfChanged.
// Thread-safe.
class CredentialsFile {
 public:
  // Open reads and parses `path`: NotFoundError when it cannot be read, InvalidArgumentError
  // (prefixed with the path) when it does not parse.
  static absl::StatusOr<std::unique_ptr<CredentialsFile>> Open(const std::string& path);

  // Get returns the live set (never null).
  std::shared_ptr<const CredentialSet> Get() const ABSL_LOCKS_EXCLUDED(mu_);

  // ReloadIfChanged re-reads the file; when its bytes changed, parse and pass the validator,
  // the new set goes live and true is returned. When they do not (or the file cannot be read,
  // or is gone), the last good set stays live and the error is returned, once per distinct
  // error (false afterwards, until something changes). False when nothing changed. Deleting
  // the file revokes nothing: write one without the credential instead.
  absl::StatusOr<bool> ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mu_);

  // SetValidator adds a check every new set must pass before it goes live (call before the
  // first ReloadIfChanged; the set opened by Open is the caller's to check).
  void SetValidator(std::function<absl::Status(const CredentialSet&)> validator) {
    validator_ = std::move(validator);
  }

  const std::string& path() const { return path_; }

 private:
  explicit CredentialsFile(std::string path) : path_(std::move(path)) {}
  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CredentialSet> live_ ABSL_GUARDED_BY(mu_);
  Sha256Digest live_bytes_digest_ ABSL_GUARDED_BY(mu_) = {};
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::function<absl::Status(const CredentialSet&)> validator_;
};

// Sha256 of `data`.
Sha256Digest Sha256(absl::string_view data);

}  // namespace logout::rpc

#endif  // SERVICE_RPC_CREDENTIALS_H_
