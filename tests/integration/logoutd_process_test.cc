// Starts the real logoutd binary on a real TCP port and calls it with a real gRPC client.
#include "tests/testing/logoutd_process.h"

#include <signal.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/generic_call.h"
#include "tests/testing/subprocess.h"

namespace logout {
namespace {

using testing::Subprocess;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);

using Logoutd = testing::LogoutdProcess;

std::unique_ptr<Logoutd> StartLogoutd(std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"--shutdown_grace=5s", "--store=file"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return Logoutd::Start(LOGOUTD_BINARY, args);
}

// Calls grpc.health.v1.Health/Check through the generic stub (HealthCheckRequest{service} is
// field 1; HealthCheckResponse{status} is varint field 1: 1 = SERVING, 2 = NOT_SERVING).
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  std::string req;
  if (!service.empty()) {
    req.push_back(0x0a);
    req.push_back(static_cast<char>(service.size()));
    req += service;
  }
  std::string bytes;
  const grpc::Status status =
      testing::GenericUnaryCall(channel, "/grpc.health.v1.Health/Check", req, &bytes);
  if (!status.ok()) return -static_cast<int>(status.error_code());
  if (bytes.empty()) return 0;  // UNKNOWN (default value)
  return bytes.size() >= 2 && bytes[0] == 0x08 ? bytes[1] : -100;
}

grpc::Status Validate(const std::shared_ptr<grpc::Channel>& channel,
                      const v1::ValidateLogoutRequest& req, v1::ValidateLogoutResponse* resp) {
  auto stub = v1::LogoutPolicy::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub->ValidateLogout(&ctx, req, resp);
}

v1::ValidateLogoutRequest V2Request(const std::string& tenant, const std::string& query) {
  v1::ValidateLogoutRequest req;
  req.set_tenant(tenant);
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query(query);
  return req;
}

const std::string kPolicy = std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json";

TEST(LogoutdProcessTest, ServesDecisionsOverTcp) {
  auto d = StartLogoutd({"--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(HealthStatus(d->channel, ""), 1);
  EXPECT_EQ(HealthStatus(d->channel, "logout.v1.LogoutPolicy"), 1);

  v1::ValidateLogoutResponse resp;
  grpc::Status s = Validate(
      d->channel,
      V2Request("acme", "client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye"),
      &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(resp.reason(), v1::REASON_REDIRECT_ALLOWED);
  EXPECT_EQ(resp.redirect_url(), "https://shop.acme.example.com/goodbye");
  EXPECT_EQ(resp.http_status(), 302);
  EXPECT_EQ(resp.policy_version(), 1u);
}

TEST(LogoutdProcessTest, DenyIsAnOkRpc) {
  auto d = StartLogoutd({"--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutResponse resp;
  grpc::Status s =
      Validate(d->channel, V2Request("acme", "returnTo=https://evil.example.net/"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_DENY);
  EXPECT_EQ(resp.reason(), v1::REASON_TARGET_NOT_ALLOWED);
  EXPECT_EQ(resp.http_status(), 400);
  EXPECT_EQ(resp.error(), "invalid_request");
  EXPECT_TRUE(resp.redirect_url().empty());
}

TEST(LogoutdProcessTest, UnknownTenantIsNotFound) {
  auto d = StartLogoutd({"--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutResponse resp;
  EXPECT_EQ(Validate(d->channel, V2Request("nope", ""), &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(LogoutdProcessTest, MalformedRequestIsInvalidArgument) {
  auto d = StartLogoutd({"--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");  // no endpoint
  v1::ValidateLogoutResponse resp;
  EXPECT_EQ(Validate(d->channel, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(LogoutdProcessTest, OversizeMessageIsRefused) {
  auto d = StartLogoutd({"--policy=" + kPolicy, "--max_receive_message_bytes=65536"});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutResponse resp;
  EXPECT_EQ(Validate(d->channel, V2Request("acme", std::string(70000, 'a')), &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(LogoutdProcessTest, WithoutPolicyNotServingAndUnavailable) {
  auto d = StartLogoutd({});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(HealthStatus(d->channel, ""), 2);
  EXPECT_EQ(HealthStatus(d->channel, "logout.v1.LogoutPolicy"), 2);
  v1::ValidateLogoutResponse resp;
  EXPECT_EQ(Validate(d->channel, V2Request("acme", ""), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(LogoutdProcessTest, InvalidPolicyRefusedAtStartNamingTheEntry) {
  const std::string path = ::testing::TempDir() + "/bad_policy.json";
  {
    std::ofstream out(path);
    out << R"({"tenants": [{"name": "acme", "clients": [{"clientId": "web",
             "allowedLogoutUrls": ["https://ok.example.com/", "https://*.com"]}]}]})";
  }
  auto p = Subprocess::Start(
      {LOGOUTD_BINARY, "--listen=127.0.0.1:0", "--store=file", "--policy=" + path});
  ASSERT_NE(p, nullptr);
  const std::optional<int> code = p->Wait(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(p->output().find(
                R"(tenant \"acme\" client \"web\": allowed_logout_urls[1] \"https://*.com\")"),
            std::string::npos)
      << p->output();
  EXPECT_EQ(p->output().find("\"serving\""), std::string::npos);
}

TEST(LogoutdProcessTest, MissingPolicyFileRefusedAtStart) {
  auto p =
      Subprocess::Start({LOGOUTD_BINARY, "--listen=127.0.0.1:0", "--policy=/nonexistent.json"});
  ASSERT_NE(p, nullptr);
  const std::optional<int> code = p->Wait(kStartTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(p->output().find("cannot open policy file"), std::string::npos) << p->output();
}

TEST(LogoutdProcessTest, SigtermDrainsAndExitsCleanly) {
  auto d = StartLogoutd({"--policy=" + kPolicy, "--drain_delay=1s"});
  ASSERT_NE(d, nullptr);
  // Calls in flight when SIGTERM arrives complete normally during the drain delay (health
  // already NOT_SERVING); none is cancelled or hangs, and the process exits 0.
  auto stub = v1::LogoutPolicy::NewStub(d->channel);
  {
    v1::ValidateLogoutResponse warm;
    ASSERT_TRUE(Validate(d->channel, V2Request("acme", ""), &warm).ok());  // connected
  }
  constexpr int kCalls = 200;
  std::atomic<int> ok{0}, unavailable{0}, other{0}, finished{0};
  std::mutex codes_mu;
  std::string other_codes;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<v1::ValidateLogoutResponse>> responses;
  const v1::ValidateLogoutRequest req =
      V2Request("acme", "returnTo=https://acme.example.com/logged-out");
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    responses.push_back(std::make_unique<v1::ValidateLogoutResponse>());
    stub->async()->ValidateLogout(
        contexts.back().get(), &req, responses.back().get(), [&](grpc::Status s) {
          if (s.ok()) {
            ++ok;
          } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
            ++unavailable;
          } else {
            ++other;
            std::lock_guard<std::mutex> lock(codes_mu);
            other_codes += absl::StrCat(s.error_code(), ":", s.error_message(), "; ");
          }
          ++finished;
        });
    if (i == kCalls / 2) d->process->Signal(SIGTERM);
  }
  const std::optional<int> code = d->process->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.has_value()) << "logoutd did not exit after SIGTERM";
  EXPECT_EQ(*code, 0) << d->process->output();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (finished.load() < kCalls && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(finished.load(), kCalls);
  EXPECT_EQ(other.load(), 0) << other_codes.substr(0, 300);
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_NE(d->process->output().find("\"msg\":\"shutting down\",\"signal\":\"SIGTERM\""),
            std::string::npos);
  EXPECT_NE(d->process->output().find("\"msg\":\"stopped\""), std::string::npos);
}

grpc::Status Export(const std::shared_ptr<grpc::Channel>& channel, const std::string& authorization,
                    v1::ExportPolicyResponse* resp) {
  auto stub = v1::LogoutAdmin::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
  return stub->ExportPolicy(&ctx, v1::ExportPolicyRequest(), resp);
}

TEST(LogoutdProcessTest, AdminCallsNeedTheBearerToken) {
  const std::string token_path = ::testing::TempDir() + "/admin_token";
  {
    std::ofstream out(token_path);
    out << "integration-admin-token-42\n";
  }
  auto d = StartLogoutd({"--policy=" + kPolicy, "--admin_token_file=" + token_path});
  ASSERT_NE(d, nullptr);
  v1::ExportPolicyResponse resp;
  EXPECT_EQ(Export(d->channel, "", &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Export(d->channel, "Bearer wrong-token-wrong-token", &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status s = Export(d->channel, "Bearer integration-admin-token-42", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.policy_version(), 1u);
  ASSERT_EQ(resp.policy().tenants_size(), 2);
  EXPECT_EQ(resp.policy().tenants(0).name(), "acme");
  EXPECT_EQ(d->process->output().find("integration-admin-token-42"), std::string::npos);
}

TEST(LogoutdProcessTest, AdminApiDisabledWithoutTokenFile) {
  auto d = StartLogoutd({"--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  v1::ExportPolicyResponse resp;
  EXPECT_EQ(Export(d->channel, "Bearer anything-anything-anything", &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(LogoutdProcessTest, SigtermFlipsHealthBeforeStopping) {
  auto d = StartLogoutd({"--policy=" + kPolicy, "--drain_delay=3s"});
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(HealthStatus(d->channel, ""), 1);
  d->process->Signal(SIGTERM);
  ASSERT_TRUE(d->process->WaitForLine("\"msg\":\"shutting down\"", absl::Seconds(5)).has_value());
  int status = 1;
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while ((status = HealthStatus(d->channel, "logout.v1.LogoutPolicy")) == 1 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(status, 2);
  // Still answering decisions while draining.
  v1::ValidateLogoutResponse resp;
  grpc::Status s = Validate(
      d->channel, V2Request("acme", "returnTo=https://acme.example.com/logged-out"), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  const std::optional<int> code = d->process->Wait(absl::Seconds(15));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace logout
