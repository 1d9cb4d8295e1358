#include "client/admin_client.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "service/common/status_macros.h"

namespace logout {
namespace {

// A header value: visible ASCII and spaces only (what gRPC accepts for metadata).
bool IsHeaderSafe(const std::string& token) {
  for (const char c : token) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Finish takes the status first: the response must only be moved once the call has returned.
template <typename Response>
absl::StatusOr<Response> Finish(const grpc::Status& s, Response response) {
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return response;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(
    const AdminClientOptions& options) {
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("deadline must be positive");
  }
  if (!IsHeaderSafe(options.bearer_token)) {
    return absl::InvalidArgumentError(
        "the admin token contains characters not allowed in a header");
  }
  // round_robin like the decision client; no retryPolicy: admin writes are never retried.
  LOGOUT_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::Channel> channel,
      CreateClientChannel(options.target, options.tls ? &*options.tls : nullptr,
                          R"json({"loadBalancingConfig": [{"round_robin": {}}]})json"));
  return std::unique_ptr<AdminClient>(new AdminClient(options, std::move(channel)));
}

AdminClient::AdminClient(AdminClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)), stub_(v1::LogoutAdmin::NewStub(std::move(channel))) {}

std::unique_ptr<grpc::ClientContext> AdminClient::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  if (!options_.bearer_token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", options_.bearer_token));
  }
  return ctx;
}

absl::StatusOr<v1::ConnectionResponse> AdminClient::GetConnection(
    const v1::GetConnectionRequest& request) {
  v1::ConnectionResponse response;
  auto ctx = NewContext();
  const grpc::Status status = stub_->GetConnection(ctx.get(), request, &response);
  return Finish(status, std::move(response));
}

absl::StatusOr<v1::ConnectionResponse> AdminClient::UpdateConnectionLogout(
    const v1::UpdateConnectionLogoutRequest& request) {
  v1::ConnectionResponse response;
  auto ctx = NewContext();
  const grpc::Status status = stub_->UpdateConnectionLogout(ctx.get(), request, &response);
  return Finish(status, std::move(response));
}

absl::StatusOr<v1::ExportPolicyResponse> AdminClient::ExportPolicy(
    const v1::ExportPolicyRequest& request) {
  if (request.page_size() != 0 || !request.page_token().empty()) {
    v1::ExportPolicyResponse response;
    auto ctx = NewContext();
    const grpc::Status status = stub_->ExportPolicy(ctx.get(), request, &response);
    return Finish(status, std::move(response));
  }
  // The whole policy, page by page (each page is bounded, so a policy of any size fits the
  // message limits); every page comes from one version, or the server says ABORTED.
  v1::ExportPolicyRequest page_request = request;
  page_request.set_page_size(kExportPageSize);
  v1::ExportPolicyResponse all;
  for (bool first = true;; first = false) {
    v1::ExportPolicyResponse page;
    auto ctx = NewContext();
    const grpc::Status status = stub_->ExportPolicy(ctx.get(), page_request, &page);
    absl::StatusOr<v1::ExportPolicyResponse> got = Finish(status, std::move(page));
    if (!got.ok()) return got.status();
    if (first) {
      all.set_policy_version(got->policy_version());
      all.set_etag(got->etag());
    }
    for (v1::Tenant& t : *got->mutable_policy()->mutable_tenants()) {
      *all.mutable_policy()->add_tenants() = std::move(t);
    }
    if (got->next_page_token().empty()) return all;
    page_request.set_page_token(got->next_page_token());
  }
}

absl::StatusOr<v1::ImportPolicyResponse> AdminClient::ImportPolicy(
    const v1::ImportPolicyRequest& request) {
  v1::ImportPolicyResponse response;
  auto ctx = NewContext();
  const grpc::Status status = stub_->ImportPolicy(ctx.get(), request, &response);
  return Finish(status, std::move(response));
}

absl::StatusOr<v1::ListAuditEventsResponse> AdminClient::ListAuditEvents(
    const v1::ListAuditEventsRequest& request) {
  v1::ListAuditEventsResponse response;
  auto ctx = NewContext();
  const grpc::Status status = stub_->ListAuditEvents(ctx.get(), request, &response);
  return Finish(status, std::move(response));
}

}  // namespace logout
