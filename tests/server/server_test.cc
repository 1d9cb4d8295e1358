// LogoutServer::Create's wiring, in process over real gRPC on loopback: which port serves which
// service, and the options it refuses before anything listens (naming the flag).
#include "service/server/server.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/status_matchers.h"

namespace logout::server {
namespace {

using ::logout::testing::GrpcStatusIs;
using ::logout::testing::StatusIs;

ServerOptions FileOptions() {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.store = "file";
  options.policy_path = std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json";
  return options;
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return ctx;
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

TEST(ServerTest, RefusesOptionsOutOfRangeNamingTheFlag) {
  ServerOptions options = FileOptions();
  options.decision_log_sample_rate = 1.5;
  EXPECT_THAT(LogoutServer::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, "--decision_log_sample_rate"));
  options = FileOptions();
  options.admin_credentials_file = "/nonexistent/credentials.json";
  EXPECT_THAT(LogoutServer::Create(options),
              StatusIs(absl::StatusCode::kNotFound, "--admin_credentials_file"));
  options = FileOptions();
  options.admin_auth.client_identities = {"spiffe://example.org/admin"};
  EXPECT_THAT(
      LogoutServer::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, "--admin_client_identities needs mutual TLS"));
}

TEST(ServerTest, OnePortServesDecisionsAndAdminUnlessAdminHasItsOwn) {
  auto one = LogoutServer::Create(FileOptions());
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)->admin_port(), (*one)->port());
  v1::ListTenantsResponse tenants;
  // Served (and refused for want of a credential) on the decision port.
  EXPECT_THAT(v1::LogoutAdmin::NewStub(ChannelTo((*one)->port()))
                  ->ListTenants(Ctx().get(), v1::ListTenantsRequest(), &tenants),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  (*one)->Shutdown(absl::ZeroDuration());

  ServerOptions options = FileOptions();
  options.admin_listen = "127.0.0.1:0";
  auto two = LogoutServer::Create(options);
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_NE((*two)->admin_port(), (*two)->port());
  EXPECT_THAT(v1::LogoutAdmin::NewStub(ChannelTo((*two)->port()))
                  ->ListTenants(Ctx().get(), v1::ListTenantsRequest(), &tenants),
              GrpcStatusIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  EXPECT_THAT(v1::LogoutAdmin::NewStub(ChannelTo((*two)->admin_port()))
                  ->ListTenants(Ctx().get(), v1::ListTenantsRequest(), &tenants),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ""));
  v1::ValidateLogoutRequest decide;
  decide.set_tenant("acme");
  decide.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  v1::ValidateLogoutResponse decided;
  EXPECT_TRUE(v1::LogoutPolicy::NewStub(ChannelTo((*two)->port()))
                  ->ValidateLogout(Ctx().get(), decide, &decided)
                  .ok());
  EXPECT_THAT(v1::LogoutPolicy::NewStub(ChannelTo((*two)->admin_port()))
                  ->ValidateLogout(Ctx().get(), decide, &decided),
              GrpcStatusIs(grpc::StatusCode::UNIMPLEMENTED, ""));
  (*two)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace logout::server
