// AdminClient: a thin, thread-safe wrapper over logoutd's logout.v1.LogoutAdmin that attaches the
// bearer token and a deadline to every call. Writes are never retried (a retried write could
// apply twice or fail on its own etag); the caller decides, e.g. on ABORTED re-read and retry.
//
//   AdminClientOptions o{.target = "logoutd:50052", .bearer_token = token};
//   absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Create(o);
#ifndef CLIENT_ADMIN_CLIENT_H_
#define CLIENT_ADMIN_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "logout/v1/admin.grpc.pb.h"

namespace logout {

// AdminClientOptions configures AdminClient::Create.
struct AdminClientOptions {
  std::string target;
  absl::Duration deadline = absl::Seconds(10);
  // nullopt = plaintext.
  std::optional<TlsOptions> tls;
  // Sent as `authorization: Bearer <token>`; empty = none (mTLS identities only). Never logged
  // and never part of an error message.
  std::string bearer_token;
};

// AdminClient: every method returns logoutd's response or its gRPC status unchanged (codes as
// documented in admin.proto: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, ABORTED for a stale
// etag, FAILED_PRECONDITION, UNAVAILABLE, UNAUTHENTICATED, PERMISSION_DENIED, DEADLINE_EXCEEDED).
class AdminClient {
 public:
  // Create: INVALID_ARGUMENT for an empty target, a non-positive deadline, or a token with
  // characters not allowed in a header value; TLS file errors as CreateClientChannel.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(const AdminClientOptions& options);

  absl::StatusOr<v1::ConnectionResponse> GetConnection(const v1::GetConnectionRequest& request);
  absl::StatusOr<v1::ConnectionResponse> UpdateConnectionLogout(
      const v1::UpdateConnectionLogoutRequest& request);
  // ExportPolicy without page_size / page_token fetches every page and returns them as one.
  absl::StatusOr<v1::ExportPolicyResponse> ExportPolicy(const v1::ExportPolicyRequest& request);
  absl::StatusOr<v1::ImportPolicyResponse> ImportPolicy(const v1::ImportPolicyRequest& request);
  absl::StatusOr<v1::ListAuditEventsResponse> ListAuditEvents(
      const v1::ListAuditEventsRequest& request);

  // stub gives the remaining LogoutAdmin RPCs; use NewContext() for their context.
  v1::LogoutAdmin::Stub& stub() { return *stub_; }
  // NewContext returns a context carrying the deadline and the bearer token.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

 private:
  static constexpr int kExportPageSize = 1000;
  AdminClient(AdminClientOptions options, std::shared_ptr<grpc::Channel> channel);

  const AdminClientOptions options_;
  const std::unique_ptr<v1::LogoutAdmin::Stub> stub_;
};

}  // namespace logout

#endif  // CLIENT_ADMIN_CLIENT_H_
