// The metrics interceptor on a real gRPC server over TCP, scraped over HTTP.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/metrics/metrics.h"
#include "service/rpc/logout_policy_service.h"
#include "service/server/health_service.h"
#include "service/store/snapshot_holder.h"
#include "tests/testing/generic_call.h"
#include "tests/testing/http_get.h"
#include "tests/testing/policy_builder.h"
#include "tests/testing/prometheus_text.h"

namespace logout::metrics {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::logout::testing::Exposition;

constexpr char kPolicy[] = R"pb(
  tenants { name: "acme" allowed_logout_urls: "https://acme.example.com/bye" }
)pb";

class GrpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    holder_.Swap(testing::CompileOrDie(kPolicy, 3));
    health_.SetStatus("", HealthCheckResponse::SERVING);
    ASSERT_TRUE(metrics_.Serve("127.0.0.1:0").ok());

    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&policy_service_);
    builder.RegisterService(&health_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(metrics_.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_ != nullptr) {
      health_.Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
  }

  static void SetDeadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  grpc::StatusCode Validate(const std::string& tenant) {
    auto stub = v1::LogoutPolicy::NewStub(channel_);
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ValidateLogoutRequest request;
    request.set_tenant(tenant);
    request.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
    request.set_raw_query("returnTo=https%3A%2F%2Facme.example.com%2Fbye");
    v1::ValidateLogoutResponse response;
    const grpc::Status status = stub->ValidateLogout(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.decision(), v1::DECISION_ALLOW);
    }
    return status.error_code();
  }

  grpc::StatusCode HealthCheck(const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    SetDeadline(context);
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    return stub->Check(&context, request, &response).error_code();
  }

  Exposition Scrape() {
    absl::StatusOr<testing::HttpResponse> response =
        testing::HttpGet("127.0.0.1", metrics_.port(), "/metrics");
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    EXPECT_EQ(response->status, 200);
    absl::StatusOr<Exposition> parsed = testing::ParseExposition(response->body);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : Exposition{};
  }

  static std::map<std::string, std::string> Labels(const std::string& service,
                                                   const std::string& method,
                                                   const std::string& code) {
    return {{"grpc_service", service}, {"grpc_method", method}, {"grpc_code", code}};
  }

  Metrics metrics_;
  store::SnapshotHolder holder_;
  rpc::LogoutPolicyService policy_service_{&holder_};
  server::HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(GrpcMetricsTest, CountsCallsAndLatencyByMethodAndCode) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Validate("acme"), grpc::StatusCode::OK);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(Validate("no-such-tenant"), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(HealthCheck(""), grpc::StatusCode::OK);
  ASSERT_EQ(HealthCheck("no.such.Service"), grpc::StatusCode::NOT_FOUND);

  const Exposition e = Scrape();
  const auto ok = Labels("logout.v1.LogoutPolicy", "ValidateLogout", "OK");
  const auto not_found = Labels("logout.v1.LogoutPolicy", "ValidateLogout", "NOT_FOUND");
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total", ok), 3);
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total", not_found), 2);
  EXPECT_EQ(e.Value("logoutd_grpc_server_handling_seconds_count", ok), 3);
  EXPECT_EQ(e.Value("logoutd_grpc_server_handling_seconds_count", not_found), 2);
  auto ok_inf = ok;
  ok_inf["le"] = "+Inf";
  EXPECT_EQ(e.Value("logoutd_grpc_server_handling_seconds_bucket", ok_inf), 3);
  auto ok_5s = ok;
  ok_5s["le"] = "5";
  EXPECT_EQ(e.Value("logoutd_grpc_server_handling_seconds_bucket", ok_5s), 3);
  const std::optional<double> sum = e.Value("logoutd_grpc_server_handling_seconds_sum", ok);
  ASSERT_TRUE(sum.has_value());
  EXPECT_GT(*sum, 0);
  EXPECT_LT(*sum, 3 * 5.0);

  EXPECT_EQ(
      e.Value("logoutd_grpc_server_handled_total", Labels("grpc.health.v1.Health", "Check", "OK")),
      1);
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total",
                    Labels("grpc.health.v1.Health", "Check", "NOT_FOUND")),
            1);
  // Pre-created OK series for methods not called (also from services not registered here).
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total",
                    Labels("logout.v1.LogoutPolicy", "BuildFederatedLogoutUrl", "OK")),
            0);
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total",
                    Labels("logout.v1.LogoutAdmin", "GetTenant", "OK")),
            0);
  EXPECT_EQ(
      e.Value("logoutd_grpc_server_handling_seconds_count",
              Labels("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", "OK")),
      0);
  // Codes never seen have no series.
  EXPECT_EQ(e.Value("logoutd_grpc_server_handled_total",
                    Labels("logout.v1.LogoutPolicy", "ValidateLogout", "INTERNAL")),
            std::nullopt);
}

TEST_F(GrpcMetricsTest, CountsUnknownMethodsUnderOneSeries) {
  for (const std::string method : {"/evil.Service/Method1", "/evil.Service/Method2"}) {
    const grpc::Status status = testing::GenericUnaryCall(channel_, method, "\x0a\x01x");
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  const Exposition e = Scrape();
  EXPECT_EQ(
      e.Value("logoutd_grpc_server_handled_total", Labels("unknown", "unknown", "UNIMPLEMENTED")),
      2);
  for (const testing::PromSample& s : e.samples) {
    EXPECT_EQ(s.labels.count("grpc_service") ? s.labels.at("grpc_service").find("evil")
                                             : std::string::npos,
              std::string::npos)
        << "client-chosen method names must not become label values";
  }
}

TEST_F(GrpcMetricsTest, UnavailableBeforeAPolicyIsCountedWithItsCode) {
  store::SnapshotHolder empty;
  rpc::LogoutPolicyService service(&empty);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(metrics_.NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  channel_ =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  EXPECT_EQ(Validate("acme"), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Scrape().Value("logoutd_grpc_server_handled_total",
                           Labels("logout.v1.LogoutPolicy", "ValidateLogout", "UNAVAILABLE")),
            1);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace
}  // namespace logout::metrics
