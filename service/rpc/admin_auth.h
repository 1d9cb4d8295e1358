// Admin-call authentication: a verified client-certificate identity (mutual TLS) or a bearer
// token compared in constant time.
//
//   auto auth = AdminAuthenticator::FromTokenFile("/var/run/secrets/logoutd/admin-token");
//   (*auth)->AllowClientIdentities({"spiffe://example.org/ns/admin/sa/ops"});
//   absl::StatusOr<std::string> actor =
//       (*auth)->Authorize(context->client_metadata(), context->auth_context().get());
#ifndef SERVICE_RPC_ADMIN_AUTH_H_
#define SERVICE_RPC_ADMIN_AUTH_H_

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/string_ref.h"
#include "service/rpc/credentials.h"

namespace grpc {
class AuthContext;
}  // namespace grpc

namespace logout::rpc {

// AdminAuthenticator checks `authorization: Bearer <token>` metadata. Only the SHA-256 of the
// token is kept in memory; comparison is constant-time. Thread-safe (immutable).
class AdminAuthenticator {
 public:
  // Minimum accepted token length, in bytes.
  static constexpr size_t kMinTokenBytes = 16;

  // FromTokenFile reads the token (surrounding whitespace trimmed). Returns NotFoundError or
  // InvalidArgumentError (empty, shorter than kMinTokenBytes, or with control characters).
  // The error never contains the token.
  static absl::StatusOr<std::unique_ptr<AdminAuthenticator>> FromTokenFile(const std::string& path);
  // FromToken is FromTokenFile for a token already in memory (tests).
  static absl::StatusOr<std::unique_ptr<AdminAuthenticator>> FromToken(absl::string_view token);
  // Disabled returns an authenticator that refuses every call (no token configured).
  static std::unique_ptr<AdminAuthenticator> Disabled();

  // AllowClientIdentities authorises callers whose TLS client certificate (verified by the
  // server's --tls_client_ca) names one of `identities` exactly, in a URI or DNS subject
  // alternative name or, failing those, the subject common name. Call before serving.
  // InvalidArgumentError for an empty (or whitespace-only) or oversized identity.
  absl::Status AllowClientIdentities(std::vector<std::string> identities);

  // What the credential is for, as error messages name it (default: admin calls), and the
  // role the token file and identities are given (admin, or planner for planning; for every
  // tenant).
  struct Purpose {
    std::string what = "admin calls";
    std::string token_flag = "--admin_token_file";
    std::string identities_flag = "--admin_client_identities";
    Role legacy_role = Role::kAdmin;
  };
  void SetPurpose(Purpose purpose);

  // UseCredentialsFile also accepts the credentials of `file` whose role is one of `roles`
  // (read live on every call, so a reload takes effect at once). Call before serving; `file`
  // must outlive this.
  void UseCredentialsFile(const CredentialsFile* file, std::vector<Role> roles);

  // Authenticate returns the caller's credential (name, role, tenants). Errors as Authorize.
  absl::StatusOr<Caller> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context = nullptr) const;

  // CheckOverlap refuses a set in which a credential of this authenticator's roles has the
  // token or a client identity of the flags (those are credentials for every tenant, checked
  // first: the file's narrower scope would never apply). InvalidArgumentError naming both.
  absl::Status CheckOverlap(const CredentialSet& set) const;

  // HasAnyCredential is true when some token, identity or file credential (of this
  // authenticator's roles) could be accepted now.
  bool HasAnyCredential() const;

  // Authorize returns the caller's identity for the audit trail: "cert:<identity>" for an
  // authorised client certificate, or "token:" + the first 12 hex digits of the token's
  // SHA-256 (never the token) for a matching bearer token. A certificate is checked first;
  // without an authorised one: UnauthenticatedError when there is no `authorization` metadata
  // (PermissionDeniedError when a verified certificate was presented but is not authorised)
  // or it is not a Bearer credential; PermissionDeniedError for a wrong token or when the
  // admin API is disabled. `auth_context` may be null (insecure transport).
  // A credential from UseCredentialsFile is returned under its file name.
  absl::StatusOr<std::string> Authorize(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
      const grpc::AuthContext* auth_context = nullptr) const;

 private:
  AdminAuthenticator() = default;
  // The file's credentials this authenticator accepts (empty without a file).
  std::vector<const Credential*> FileCredentials(const CredentialSet* set) const;
  Caller LegacyCaller(std::string actor) const;

  std::optional<std::array<unsigned char, 32>> token_digest_;
  std::vector<std::string> client_identities_;
  Purpose purpose_;
  const CredentialsFile* file_ = nullptr;
  std::vector<Role> file_roles_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_ADMIN_AUTH_H_
