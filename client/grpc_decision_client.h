// CreateGrpcDecisionClient: the DecisionClient that calls logoutd's logout.v1.LogoutPolicy over
// gRPC, with a per-call deadline, retries of UNAVAILABLE only, round_robin over every address the
// target resolves to (a headless Kubernetes Service gives one per pod), and an explicit fail mode.
//
//   ClientOptions o{.target = "dns:///logoutd-headless.logoutd.svc.cluster.local:50051"};
//   absl::StatusOr<std::unique_ptr<DecisionClient>> client = CreateGrpcDecisionClient(o);
#ifndef CLIENT_GRPC_DECISION_CLIENT_H_
#define CLIENT_GRPC_DECISION_CLIENT_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/decision_client.h"

namespace logout {

// ClientOptions configures CreateGrpcDecisionClient.
struct ClientOptions {
  // A gRPC target. For Kubernetes use the headless Service with the dns scheme
  // ("dns:///logoutd-headless.logoutd.svc.cluster.local:50051") so every pod is balanced over.
  std::string target;
  // The whole budget of one call, retries included.
  absl::Duration deadline = absl::Milliseconds(250);
  // nullopt = plaintext.
  std::optional<TlsOptions> tls;
  FailMode fail_mode = FailMode::kClosed;
  // Attempts per call, first one included, for UNAVAILABLE only (1 = no retry; gRPC caps at 5).
  int max_attempts = 3;
  // Requests larger than this (serialized) are refused locally with INVALID_ARGUMENT (kError).
  size_t max_request_bytes = size_t{64} * 1024;
};

// DecisionServiceConfigJson is the service config the client's channel uses: round_robin, and a
// retryPolicy for logout.v1.LogoutPolicy retrying UNAVAILABLE up to `max_attempts` times with
// jittered exponential backoff (20 ms, x2, at most 200 ms) under retry throttling.
std::string DecisionServiceConfigJson(int max_attempts);

// CreateGrpcDecisionClient returns a thread-safe client. INVALID_ARGUMENT for an empty target, a
// non-positive deadline or max_attempts outside 1..5; NOT_FOUND / INVALID_ARGUMENT for TLS files
// (see CreateClientChannel). It does not connect: an unreachable logoutd shows up per call as
// the fail mode's outcome.
absl::StatusOr<std::unique_ptr<DecisionClient>> CreateGrpcDecisionClient(
    const ClientOptions& options);

}  // namespace logout

#endif  // CLIENT_GRPC_DECISION_CLIENT_H_
