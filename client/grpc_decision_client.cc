#include "client/grpc_decision_client.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/common/status_macros.h"

namespace logout {
namespace {

constexpr int kMaxGrpcAttempts = 5;

absl::Status ToAbsl(const grpc::Status& s) {
  return {static_cast<absl::StatusCode>(s.error_code()), s.error_message()};
}

class GrpcDecisionClient final : public DecisionClient {
 public:
  GrpcDecisionClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), stub_(v1::LogoutPolicy::NewStub(std::move(channel))) {}

  DecisionResult<v1::ValidateLogoutResponse> ValidateLogout(
      const v1::ValidateLogoutRequest& request) override {
    return Call(&v1::LogoutPolicy::Stub::ValidateLogout, request);
  }
  DecisionResult<v1::BuildFederatedLogoutUrlResponse> BuildFederatedLogoutUrl(
      const v1::BuildFederatedLogoutUrlRequest& request) override {
    return Call(&v1::LogoutPolicy::Stub::BuildFederatedLogoutUrl, request);
  }
  DecisionResult<v1::PlanLogoutNotificationsResponse> PlanLogoutNotifications(
      const v1::PlanLogoutNotificationsRequest& request) override {
    return Call(&v1::LogoutPolicy::Stub::PlanLogoutNotifications, request);
  }
  DecisionResult<v1::GetDiscoveryMetadataResponse> GetDiscoveryMetadata(
      const v1::GetDiscoveryMetadataRequest& request) override {
    return Call(&v1::LogoutPolicy::Stub::GetDiscoveryMetadata, request);
  }

 private:
  template <typename Request, typename Response>
  using Method = grpc::Status (v1::LogoutPolicy::Stub::*)(grpc::ClientContext*, const Request&,
                                                          Response*);

  template <typename Request, typename Response>
  DecisionResult<Response> Call(Method<Request, Response> method, const Request& request) {
    DecisionResult<Response> result;
    if (request.ByteSizeLong() > options_.max_request_bytes) {
      result.outcome = Outcome::kError;
      result.status = absl::InvalidArgumentError(
          absl::StrCat("request of ", request.ByteSizeLong(),
                       " bytes exceeds the client's limit of ", options_.max_request_bytes));
      return result;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    const grpc::Status s = ((*stub_).*method)(&ctx, request, &result.response);
    if (s.ok()) {
      result.outcome = Outcome::kDecided;
      return result;
    }
    result.response.Clear();  // Nothing of a failed call may look like a decision.
    result.status = ToAbsl(s);
    if (IsAvailabilityFailure(result.status.code())) {
      result.outcome =
          options_.fail_mode == FailMode::kOpen ? Outcome::kFailedOpen : Outcome::kFailedClosed;
    } else {
      result.outcome = Outcome::kError;
    }
    return result;
  }

  const ClientOptions options_;
  const std::unique_ptr<v1::LogoutPolicy::Stub> stub_;
};

}  // namespace

std::string DecisionServiceConfigJson(int max_attempts) {
  return absl::StrFormat(R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "logout.v1.LogoutPolicy"}],
    "retryPolicy": {
      "maxAttempts": %d,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }],
  "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
})json",
                         max_attempts);
}

absl::StatusOr<std::unique_ptr<DecisionClient>> CreateGrpcDecisionClient(
    const ClientOptions& options) {
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("deadline must be positive");
  }
  if (options.max_attempts < 1 || options.max_attempts > kMaxGrpcAttempts) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_attempts must be 1..", kMaxGrpcAttempts, ", got ", options.max_attempts));
  }
  std::string config;
  if (options.max_attempts > 1) {
    config = DecisionServiceConfigJson(options.max_attempts);
  } else {
    config = R"json({"loadBalancingConfig": [{"round_robin": {}}]})json";
  }
  LOGOUT_ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::Channel> channel,
      CreateClientChannel(options.target, options.tls ? &*options.tls : nullptr, config));
  return std::unique_ptr<DecisionClient>(new GrpcDecisionClient(options, std::move(channel)));
}

}  // namespace logout
