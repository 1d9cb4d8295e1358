// The gRPC DecisionClient over real TCP: decisions from a real logoutd process come back as
// decided outcomes; an unreachable logoutd is failed closed (or open), never a DENY or ALLOW;
// the deadline holds; UNAVAILABLE is retried and nothing else is; round_robin spreads calls over
// every address of the target. Retries and balancing are observed on small in-test gRPC servers
// that count the attempts they receive.
#include "client/grpc_decision_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/logoutd_process.h"

namespace logout {
namespace {

using testing::LogoutdProcess;

// A LogoutPolicy server that answers the first `fail_first` calls with `fail_code`, waits
// `delay` before answering, and otherwise allows with a redirect naming itself.
class CountingPolicyService final : public v1::LogoutPolicy::Service {
 public:
  explicit CountingPolicyService(std::string name) : name_(std::move(name)) {}

  grpc::Status ValidateLogout(grpc::ServerContext* ctx, const v1::ValidateLogoutRequest* request,
                              v1::ValidateLogoutResponse* response) override {
    const int n = ++calls;
    if (n <= fail_first.load()) return grpc::Status(fail_code, "injected failure");
    const absl::Time until = absl::Now() + delay;
    while (absl::Now() < until && !ctx->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
    response->set_decision(v1::DECISION_ALLOW);
    response->set_reason(v1::REASON_REDIRECT_ALLOWED);
    response->set_redirect_url(absl::StrCat("https://", name_, ".example/"));
    return grpc::Status::OK;
  }

  grpc::Status PlanLogoutNotifications(grpc::ServerContext*,
                                       const v1::PlanLogoutNotificationsRequest* request,
                                       v1::PlanLogoutNotificationsResponse* response) override {
    ++calls;
    response->mutable_plan()->set_iss(absl::StrCat("https://", name_, ".example/"));
    for (const std::string& id : request->session_client_ids()) {
      response->mutable_plan()->add_clients()->set_client_id(id);
    }
    response->set_policy_version(7);
    return grpc::Status::OK;
  }

  std::atomic<int> calls{0};
  std::atomic<int> fail_first{0};
  grpc::StatusCode fail_code = grpc::StatusCode::UNAVAILABLE;  // set before calls
  absl::Duration delay = absl::ZeroDuration();                 // set before calls

 private:
  const std::string name_;
};

struct CountingServer {
  explicit CountingServer(const std::string& name) : service(name) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
  }
  ~CountingServer() {
    if (server) server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port); }

  CountingPolicyService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::unique_ptr<DecisionClient> NewClient(ClientOptions options) {
  absl::StatusOr<std::unique_ptr<DecisionClient>> client = CreateGrpcDecisionClient(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

v1::ValidateLogoutRequest V2(const std::string& tenant, const std::string& raw_query) {
  v1::ValidateLogoutRequest req;
  req.set_tenant(tenant);
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query(raw_query);
  return req;
}

std::unique_ptr<LogoutdProcess> StartLogoutd() {
  return LogoutdProcess::Start(
      LOGOUTD_BINARY,
      {"--store=file", std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json"});
}

// --- Against the real logoutd.

class RealLogoutdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { logoutd_ = StartLogoutd().release(); }
  static void TearDownTestSuite() {
    delete logoutd_;
    logoutd_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(logoutd_, nullptr); }

  std::unique_ptr<DecisionClient> Client(FailMode mode = FailMode::kClosed) {
    ClientOptions o;
    o.target = absl::StrCat("127.0.0.1:", logoutd_->port);
    o.deadline = absl::Seconds(5);
    o.fail_mode = mode;
    return NewClient(o);
  }

  static LogoutdProcess* logoutd_;
};
LogoutdProcess* RealLogoutdTest::logoutd_ = nullptr;

TEST_F(RealLogoutdTest, AllowIsDecidedWithExactReason) {
  auto client = Client();
  const auto r = client->ValidateLogout(
      V2("acme", "client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye"));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.response.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.response.reason(), v1::REASON_REDIRECT_ALLOWED);
  EXPECT_EQ(r.response.redirect_url(), "https://shop.acme.example.com/goodbye");
  EXPECT_EQ(r.response.http_status(), 302);
  EXPECT_EQ(ActionFor(r), LogoutAction::kRedirect);
}

TEST_F(RealLogoutdTest, DenyIsDecidedNotAnError) {
  auto client = Client();
  const auto r =
      client->ValidateLogout(V2("acme", "returnTo=https://acme.example.com@evil.example/"));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.response.reason(), v1::REASON_TARGET_HAS_USERINFO);
  EXPECT_EQ(r.response.http_status(), 400);
  EXPECT_EQ(r.response.redirect_url(), "");
  EXPECT_EQ(ActionFor(r), LogoutAction::kShowError);
}

TEST_F(RealLogoutdTest, ConfirmationIsDecided) {
  auto client = Client();
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
  req.mutable_params()->set_post_logout_redirect_uri("https://acme.example.com/logged-out");
  req.mutable_params()->set_state("af0ifjsldkj");
  req.set_session_id("sid-123");
  const auto r = client->ValidateLogout(req);
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_REQUIRE_CONFIRMATION);
  EXPECT_EQ(r.response.reason(), v1::REASON_CONFIRMATION_REQUIRED);
  EXPECT_EQ(r.response.redirect_url(), "https://acme.example.com/logged-out?state=af0ifjsldkj");
  EXPECT_EQ(ActionFor(r), LogoutAction::kAskConfirmation);
}

TEST_F(RealLogoutdTest, UnknownTenantAndMissingEndpointAreErrorsNotFailModes) {
  // Even in fail-open mode: a refused request is not an outage.
  auto client = Client(FailMode::kOpen);
  auto r = client->ValidateLogout(V2("no-such-tenant", "returnTo=https://x.example/"));
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kNotFound) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_UNSPECIFIED);
  EXPECT_EQ(ActionFor(r), LogoutAction::kShowError);
  v1::ValidateLogoutRequest no_endpoint = V2("acme", "");
  no_endpoint.set_endpoint(v1::ENDPOINT_UNSPECIFIED);
  r = client->ValidateLogout(no_endpoint);
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << r.status;
}

TEST_F(RealLogoutdTest, OversizedRequestIsRefusedLocally) {
  ClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", logoutd_->port);
  o.max_request_bytes = 1024;
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", "returnTo=" + std::string(2000, 'a')));
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RealLogoutdTest, FederatedLogoutUrlIsDecided) {
  auto client = Client();
  v1::BuildFederatedLogoutUrlRequest req;
  req.set_tenant("acme");
  req.set_connection("corp-oidc");
  req.set_return_to("https://shop.acme.example.com/goodbye");
  req.set_client_id("web-app");
  auto r = client->BuildFederatedLogoutUrl(req);
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_ALLOW);
  EXPECT_TRUE(r.response.supported());
  EXPECT_EQ(r.response.url().rfind("https://idp.corp.example/oidc/logout?", 0), 0u)
      << r.response.url();
  req.set_return_to("https://evil.example/");
  r = client->BuildFederatedLogoutUrl(req);
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.response.reason(), v1::REASON_TARGET_NOT_ALLOWED);
  EXPECT_EQ(r.response.url(), "");
}

TEST_F(RealLogoutdTest, DiscoveryMetadataReachesLogoutd) {
  auto client = Client();
  v1::GetDiscoveryMetadataRequest req;
  req.set_tenant("acme");
  const auto r = client->GetDiscoveryMetadata(req);
  if (r.outcome == Outcome::kError && r.status.code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << "this logoutd does not implement GetDiscoveryMetadata yet";
  }
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.issuer(), "https://acme.example.com/");
}

TEST_F(RealLogoutdTest, DnsTargetResolvesAndDecides) {
  ClientOptions o;
  o.target = absl::StrCat("dns:///localhost:", logoutd_->port);
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(
      V2("acme", "client_id=web-app&returnTo=https://shop.acme.example.com/goodbye"));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_ALLOW);
}

// --- logoutd unreachable.

TEST(FailModeTest, ClosedPortFailsClosedByDefault) {
  ClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", ClosedPort());
  o.deadline = absl::Seconds(2);
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", "returnTo=https://acme.example.com/logged-out"));
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_FALSE(r.decided());
  // Distinguishable from a logoutd DENY (and from an ALLOW): no decision, no URL.
  EXPECT_EQ(r.response.decision(), v1::DECISION_UNSPECIFIED);
  EXPECT_EQ(r.response.redirect_url(), "");
  EXPECT_EQ(ActionFor(r), LogoutAction::kShowError);

  v1::BuildFederatedLogoutUrlRequest fed;
  fed.set_tenant("acme");
  fed.set_connection("corp-oidc");
  const auto f = client->BuildFederatedLogoutUrl(fed);
  EXPECT_EQ(f.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(f.response.url(), "");
}

TEST(FailModeTest, ClosedPortFailsOpenWhenAskedWithoutAnyRedirect) {
  ClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", ClosedPort());
  o.deadline = absl::Seconds(2);
  o.fail_mode = FailMode::kOpen;
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", "returnTo=https://acme.example.com/logged-out"));
  EXPECT_EQ(r.outcome, Outcome::kFailedOpen);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_UNSPECIFIED);
  EXPECT_EQ(r.response.redirect_url(), "");
  EXPECT_EQ(ActionFor(r), LogoutAction::kShowLoggedOutPage);
}

TEST(FailModeTest, DeadlineIsHonouredAndFailsClosed) {
  CountingServer slow("slow");
  slow.service.delay = absl::Seconds(3);
  ClientOptions o;
  o.target = slow.target();
  o.deadline = absl::Milliseconds(200);
  auto client = NewClient(o);
  const absl::Time start = absl::Now();
  const auto r = client->ValidateLogout(V2("acme", ""));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDeadlineExceeded) << r.status;
  EXPECT_GE(took, absl::Milliseconds(190));
  EXPECT_LT(took, absl::Milliseconds(1000)) << took;
  EXPECT_EQ(slow.service.calls.load(), 1);  // DEADLINE_EXCEEDED is not retried
}

// --- Retries.

TEST(RetryTest, UnavailableIsRetriedUntilItSucceeds) {
  CountingServer flaky("flaky");
  flaky.service.fail_first = 2;
  ClientOptions o;
  o.target = flaky.target();
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", ""));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.redirect_url(), "https://flaky.example/");
  EXPECT_EQ(flaky.service.calls.load(), 3);
}

TEST(RetryTest, UnavailableStopsAfterMaxAttemptsAndFailsClosed) {
  CountingServer down("down");
  down.service.fail_first = 100;
  ClientOptions o;
  o.target = down.target();
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", ""));
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message(), "injected failure");
  EXPECT_EQ(down.service.calls.load(), 3);
}

TEST(RetryTest, MaxAttemptsOneMeansNoRetry) {
  CountingServer flaky("flaky");
  flaky.service.fail_first = 1;
  ClientOptions o;
  o.target = flaky.target();
  o.deadline = absl::Seconds(5);
  o.max_attempts = 1;
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", ""));
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(flaky.service.calls.load(), 1);
}

TEST(RetryTest, InvalidArgumentIsNotRetried) {
  CountingServer strict("strict");
  strict.service.fail_first = 1;
  strict.service.fail_code = grpc::StatusCode::INVALID_ARGUMENT;
  ClientOptions o;
  o.target = strict.target();
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", ""));
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(strict.service.calls.load(), 1);
}

TEST(RetryTest, ResourceExhaustedFailsOverWithoutRetry) {
  CountingServer busy("busy");
  busy.service.fail_first = 1;
  busy.service.fail_code = grpc::StatusCode::RESOURCE_EXHAUSTED;
  ClientOptions o;
  o.target = busy.target();
  o.deadline = absl::Seconds(5);
  o.fail_mode = FailMode::kOpen;
  auto client = NewClient(o);
  const auto r = client->ValidateLogout(V2("acme", ""));
  EXPECT_EQ(r.outcome, Outcome::kFailedOpen);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(busy.service.calls.load(), 1);
}

TEST(RetryTest, PlanLogoutNotificationsPassesThrough) {
  CountingServer server("plan");
  ClientOptions o;
  o.target = server.target();
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  v1::PlanLogoutNotificationsRequest req;
  req.set_tenant("acme");
  req.add_session_client_ids("web-app");
  req.add_session_client_ids("admin-console");
  const auto r = client->PlanLogoutNotifications(req);
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.plan().iss(), "https://plan.example/");
  ASSERT_EQ(r.response.plan().clients_size(), 2);
  EXPECT_EQ(r.response.plan().clients(1).client_id(), "admin-console");
  EXPECT_EQ(r.response.policy_version(), 7u);
  // GetDiscoveryMetadata is not implemented by this server: an error, not a fail mode.
  const auto d = client->GetDiscoveryMetadata(v1::GetDiscoveryMetadataRequest());
  EXPECT_EQ(d.outcome, Outcome::kError);
  EXPECT_EQ(d.status.code(), absl::StatusCode::kUnimplemented);
}

// --- Load balancing.

TEST(RoundRobinTest, TwoAddressesBothReceiveCalls) {
  CountingServer a("a");
  CountingServer b("b");
  ClientOptions o;
  o.target = absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port);
  o.deadline = absl::Seconds(5);
  auto client = NewClient(o);
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) {
    const auto r = client->ValidateLogout(V2("acme", ""));
    ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  }
  EXPECT_GT(a.service.calls.load(), 0);
  EXPECT_GT(b.service.calls.load(), 0);
  EXPECT_EQ(a.service.calls.load() + b.service.calls.load(), kCalls);

  // Control: gRPC's default (pick_first) channel on the same target sends everything to one
  // address, so the split above comes from the client's service config.
  auto plain =
      v1::LogoutPolicy::NewStub(grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials()));
  const int a_before = a.service.calls.load();
  const int b_before = b.service.calls.load();
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::ValidateLogoutResponse resp;
    ASSERT_TRUE(plain->ValidateLogout(&ctx, V2("acme", ""), &resp).ok());
  }
  const int a_got = a.service.calls.load() - a_before;
  const int b_got = b.service.calls.load() - b_before;
  EXPECT_TRUE((a_got == kCalls && b_got == 0) || (a_got == 0 && b_got == kCalls))
      << a_got << " / " << b_got;
}

// --- Construction.

TEST(CreateTest, RefusesBadOptions) {
  ClientOptions o;
  EXPECT_EQ(CreateGrpcDecisionClient(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.target = "127.0.0.1:1";
  o.deadline = absl::ZeroDuration();
  EXPECT_EQ(CreateGrpcDecisionClient(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.deadline = absl::Milliseconds(250);
  o.max_attempts = 6;
  EXPECT_EQ(CreateGrpcDecisionClient(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.max_attempts = 3;
  o.tls = TlsOptions();
  o.tls->ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CreateGrpcDecisionClient(o).status().code(), absl::StatusCode::kNotFound);
  o.tls = TlsOptions();
  o.tls->cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(CreateGrpcDecisionClient(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServiceConfigTest, RetriesOnlyUnavailableWithRoundRobin) {
  const std::string json = DecisionServiceConfigJson(3);
  EXPECT_NE(json.find(R"("round_robin")"), std::string::npos);
  EXPECT_NE(json.find(R"("service": "logout.v1.LogoutPolicy")"), std::string::npos);
  EXPECT_NE(json.find(R"("retryableStatusCodes": ["UNAVAILABLE"])"), std::string::npos);
  EXPECT_NE(json.find(R"("maxAttempts": 3)"), std::string::npos);
}

}  // namespace
}  // namespace logout
