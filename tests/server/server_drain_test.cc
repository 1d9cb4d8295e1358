// LogoutServer in process, over real gRPC: once draining, readiness never comes back, even
// when a policy is installed meanwhile (another replica's write, a retried reload).
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/policy/compiled_policy.h"
#include "service/server/server.h"
#include "service/store/policy_file.h"

namespace logout::server {
namespace {

using grpc::health::v1::HealthCheckResponse;

int Health(int port, const std::string& service) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&ctx, req, &resp);
  return s.ok() ? resp.status() : -static_cast<int>(s.error_code());
}

TEST(ServerDrainTest, PolicyInstalledWhileDrainingKeepsNotServing) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.store = "file";
  options.policy_path = std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json";
  auto server = LogoutServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_EQ(Health(port, "logout.v1.LogoutPolicy"), HealthCheckResponse::SERVING);

  (*server)->Drain();
  EXPECT_EQ(Health(port, "logout.v1.LogoutPolicy"), HealthCheckResponse::NOT_SERVING);
  absl::StatusOr<v1::PolicyConfig> config = store::ReadPolicyFile(options.policy_path);
  ASSERT_TRUE(config.ok()) << config.status();
  auto newer = policy::CompiledPolicy::Build(*config, /*version=*/2);
  ASSERT_TRUE(newer.ok()) << newer.status();
  (*server)->InstallPolicy(*newer);
  EXPECT_EQ(Health(port, "logout.v1.LogoutPolicy"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(port, ""), HealthCheckResponse::NOT_SERVING);
  (*server)->Shutdown(absl::Seconds(1));
  (*server)->Wait();
}

}  // namespace
}  // namespace logout::server
