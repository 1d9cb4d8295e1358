// Admin-call authentication: a bearer token compared in constant time.
//
//   auto auth = AdminAuthenticator::FromTokenFile("/var/run/secrets/logoutd/admin-token");
//   absl::Status s = (*auth)->Authorize(context->client_metadata());
#ifndef SERVICE_RPC_ADMIN_AUTH_H_
#define SERVICE_RPC_ADMIN_AUTH_H_

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/string_ref.h"

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

  // Authorize returns the caller's identity for the audit trail ("token:" + the first 12 hex
  // digits of the token's SHA-256 — never the token) for a matching bearer token;
  // UnauthenticatedError when there is no `authorization` metadata or it is not a Bearer
  // credential; PermissionDeniedError for a wrong token or when the admin API is disabled.
  absl::StatusOr<std::string> Authorize(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;

 private:
  AdminAuthenticator() = default;
  std::optional<std::array<unsigned char, 32>> token_digest_;
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_ADMIN_AUTH_H_
