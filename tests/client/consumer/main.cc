// Built against the installed package only: asks a logoutd that is not there, and must come
// back failed closed (no redirect) within its deadline.
#include <cstdio>

#include "client/grpc_decision_client.h"

int main() {
  logout::ClientOptions options;
  options.target = "127.0.0.1:1";
  options.deadline = absl::Milliseconds(300);
  auto client = logout::CreateGrpcDecisionClient(options);
  if (!client.ok()) return 2;
  logout::v1::ValidateLogoutRequest request;
  request.set_tenant("acme");
  request.set_endpoint(logout::v1::ENDPOINT_V2_LOGOUT);
  const logout::DecisionResult r = (*client)->ValidateLogout(request);
  std::printf("consumer: outcome=%s action=%d\n",
              std::string(logout::OutcomeName(r.outcome)).c_str(),
              static_cast<int>(logout::ActionFor(r)));
  return r.outcome == logout::Outcome::kFailedClosed &&
                 logout::ActionFor(r) == logout::LogoutAction::kShowError
             ? 0
             : 1;
}
