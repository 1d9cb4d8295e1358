// Operations of the real logoutd binary: TLS, mutual TLS and admin authorisation by client
// certificate, certificate rotation without restart, separate admin and health ports, the
// concurrency bound, and what the logs may (not) contain. Certificates are made at test time.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/grpc.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/generic_call.h"
#include "tests/testing/http_get.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace logout {
namespace {

using testing::CallContext;
using ::testing::HasSubstr;
using testing::LogoutdProcess;
using ::testing::Not;
using testing::TestCa;
using testing::TestCert;
using testing::WriteTextFile;

constexpr char kToken[] = "operations-test-admin-token-0123";
constexpr char kServerName[] = "logoutd.test";
constexpr char kAdminIdentity[] = "spiffe://example.org/ns/ops/sa/policy-admin";
const std::string kPolicy = std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json";

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("operations");
    ASSERT_FALSE(dir_.empty());
    WriteTextFile(dir_ + "/token", kToken);
  }

  // Writes the server's certificate and key (issued by `ca`) and the client CA bundle.
  void WriteServerTls(const TestCa& ca, const TestCa& client_ca) {
    const TestCert server = ca.Issue("logoutd", {std::string("DNS:") + kServerName});
    // Write-then-rename, as Kubernetes swaps a Secret volume's files atomically.
    WriteTextFile(dir_ + "/tls.crt.new", server.cert_pem);
    WriteTextFile(dir_ + "/tls.key.new", server.key_pem);
    WriteTextFile(dir_ + "/ca.crt.new", client_ca.cert_pem());
    ASSERT_EQ(rename((dir_ + "/tls.key.new").c_str(), (dir_ + "/tls.key").c_str()), 0);
    ASSERT_EQ(rename((dir_ + "/tls.crt.new").c_str(), (dir_ + "/tls.crt").c_str()), 0);
    ASSERT_EQ(rename((dir_ + "/ca.crt.new").c_str(), (dir_ + "/ca.crt").c_str()), 0);
  }

  std::vector<std::string> TlsArgs(bool mutual) const {
    std::vector<std::string> args = {"--store=file", "--policy=" + kPolicy,
                                     "--tls_cert=" + dir_ + "/tls.crt",
                                     "--tls_key=" + dir_ + "/tls.key"};
    if (mutual) args.push_back("--tls_client_ca=" + dir_ + "/ca.crt");
    return args;
  }

  std::string dir_;
};

// A channel trusting `server_ca`, presenting `client` when given. Its own subchannel pool, so
// every channel makes a new connection (a new TLS handshake).
std::shared_ptr<grpc::Channel> TlsChannel(int port, const std::string& server_ca,
                                          const TestCert* client = nullptr) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = server_ca;
  if (client != nullptr) {
    ssl.pem_private_key = client->key_pem;
    ssl.pem_cert_chain = client->cert_pem;
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(kServerName);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(ssl),
                                   args);
}

std::shared_ptr<grpc::Channel> PlainChannel(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// An allowed /v2/logout of the example policy.
grpc::Status Decide(const std::shared_ptr<grpc::Channel>& channel, v1::ValidateLogoutResponse* resp,
                    absl::Duration deadline = absl::Seconds(5)) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query("client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  return v1::LogoutPolicy::NewStub(channel)->ValidateLogout(&ctx, req, resp);
}

// Sends one empty message to grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (a
// bidi stream, called the unary way): UNIMPLEMENTED when the port does not serve reflection.
grpc::StatusCode ReflectionCode(const std::shared_ptr<grpc::Channel>& channel) {
  return testing::GenericUnaryCall(
             channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "")
      .error_code();
}

// The number after "key": in logoutd's "serving" line.
int PortFromLog(const LogoutdProcess& d, const std::string& key) {
  const std::string out = d.process->output();
  const size_t at = out.find("\"" + key + "\":");
  if (at == std::string::npos) return 0;
  const size_t start = at + key.size() + 3;
  int port = 0;
  const size_t end = out.find_first_not_of("0123456789", start);
  return absl::SimpleAtoi(out.substr(start, end - start), &port) ? port : 0;
}

TEST_F(OperationsTest, TlsServesDecisionsAndRefusesPlaintextAndUntrustedServers) {
  TestCa ca("server-ca");
  TestCa other("other-ca");
  WriteServerTls(ca, ca);
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, TlsArgs(/*mutual=*/false));
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->process->output(), HasSubstr("\"tls\":\"tls\""));

  v1::ValidateLogoutResponse resp;
  grpc::Status s = Decide(TlsChannel(d->port, ca.cert_pem()), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(resp.redirect_url(), "https://shop.acme.example.com/goodbye");

  // A plaintext client never gets an answer, nor does one that does not trust the server.
  EXPECT_EQ(Decide(PlainChannel(d->port), &resp, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Decide(TlsChannel(d->port, other.cert_pem()), &resp, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // gRPC's own complaints about those handshakes are JSON lines like every other line.
  d->process->Signal(SIGTERM);
  ASSERT_TRUE(d->process->Wait(absl::Seconds(20)).has_value());
  const std::string out = d->process->output();
  EXPECT_THAT(out, HasSubstr("\"msg\":\"grpc\""));
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts\":") && absl::EndsWith(line, "}")) << line;
  }
}

TEST_F(OperationsTest, MutualTlsNeedsAClientCertificateFromTheConfiguredCa) {
  TestCa ca("server-ca");
  TestCa client_ca("client-ca");
  TestCa rogue_ca("rogue-ca");
  WriteServerTls(ca, client_ca);
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, TlsArgs(/*mutual=*/true));
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->process->output(), HasSubstr("\"tls\":\"mtls\""));

  v1::ValidateLogoutResponse resp;
  EXPECT_EQ(Decide(TlsChannel(d->port, ca.cert_pem()), &resp, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  const TestCert rogue = rogue_ca.Issue("web-tier", {"DNS:web.example"});
  EXPECT_EQ(
      Decide(TlsChannel(d->port, ca.cert_pem(), &rogue), &resp, absl::Seconds(2)).error_code(),
      grpc::StatusCode::UNAVAILABLE)
      << "a certificate from another CA";
  const TestCert web = client_ca.Issue("web-tier", {"DNS:web.example"});
  grpc::Status s = Decide(TlsChannel(d->port, ca.cert_pem(), &web), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
}

TEST_F(OperationsTest, AdminCallsAreAuthorisedByClientCertificateIdentityOrToken) {
  TestCa ca("server-ca");
  TestCa client_ca("client-ca");
  WriteServerTls(ca, client_ca);
  std::vector<std::string> args = {"--store=sqlite:" + dir_ + "/logoutd.db",
                                   "--policy=" + kPolicy,
                                   "--tls_cert=" + dir_ + "/tls.crt",
                                   "--tls_key=" + dir_ + "/tls.key",
                                   "--tls_client_ca=" + dir_ + "/ca.crt",
                                   "--admin_token_file=" + dir_ + "/token",
                                   std::string("--admin_client_identities=") + kAdminIdentity};
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, args);
  ASSERT_NE(d, nullptr);

  const TestCert admin_cert =
      client_ca.Issue("policy-admin", {std::string("URI:") + kAdminIdentity});
  const TestCert web_cert = client_ca.Issue("web-tier", {"URI:spiffe://example.org/ns/web/sa/app"});
  auto create = [&](const TestCert& cert, const std::string& token, const std::string& id) {
    v1::CreateClientRequest req;
    req.set_tenant("acme");
    req.mutable_client()->set_client_id(id);
    req.mutable_client()->add_allowed_logout_urls("https://" + id + ".example.com/bye");
    v1::ClientResponse out;
    auto ctx = CallContext(token);
    return v1::LogoutAdmin::NewStub(TlsChannel(d->port, ca.cert_pem(), &cert))
        ->CreateClient(ctx.get(), req, &out);
  };

  grpc::Status s = create(admin_cert, "", "by-cert");
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = create(web_cert, "", "by-web");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("client certificate is not authorised"));
  s = create(web_cert, "wrong-token-wrong-token-wrong", "by-web");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = create(web_cert, kToken, "by-token");
  EXPECT_TRUE(s.ok()) << s.error_message();

  // The audit trail names the certificate identity, and the token only by its digest prefix.
  v1::ListAuditEventsRequest list;
  v1::ListAuditEventsResponse events;
  auto ctx = CallContext();
  s = v1::LogoutAdmin::NewStub(TlsChannel(d->port, ca.cert_pem(), &admin_cert))
          ->ListAuditEvents(ctx.get(), list, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(events.events_size(), 2);
  EXPECT_EQ(events.events(0).actor().substr(0, 6), "token:");
  EXPECT_EQ(events.events(1).actor(), std::string("cert:") + kAdminIdentity);
  EXPECT_THAT(d->process->output(), Not(HasSubstr(kToken)));
}

TEST_F(OperationsTest, AdminClientIdentitiesNeedMutualTls) {
  TestCa ca("server-ca");
  WriteServerTls(ca, ca);
  auto p = testing::Subprocess::Start({LOGOUTD_BINARY, "--listen=127.0.0.1:0", "--store=file",
                                       "--policy=" + kPolicy, "--tls_cert=" + dir_ + "/tls.crt",
                                       "--tls_key=" + dir_ + "/tls.key",
                                       std::string("--admin_client_identities=") + kAdminIdentity});
  ASSERT_NE(p, nullptr);
  const std::optional<int> code = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(p->output(), HasSubstr("--admin_client_identities needs mutual TLS"));
}

TEST_F(OperationsTest, CertificateRotationIsPickedUpWithoutRestart) {
  TestCa old_ca("old-ca");
  TestCa new_ca("new-ca");
  WriteServerTls(old_ca, old_ca);
  std::vector<std::string> args = TlsArgs(/*mutual=*/false);
  args.push_back("--tls_refresh_interval=1s");
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, args);
  ASSERT_NE(d, nullptr);

  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(Decide(TlsChannel(d->port, old_ca.cert_pem()), &resp).ok());
  EXPECT_EQ(Decide(TlsChannel(d->port, new_ca.cert_pem()), &resp, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  // The Secret is rotated in place: a certificate from the new CA, same paths.
  WriteServerTls(new_ca, new_ca);
  const absl::Time until = absl::Now() + absl::Seconds(15);
  bool rotated = false;
  while (!rotated && absl::Now() < until) {
    rotated = Decide(TlsChannel(d->port, new_ca.cert_pem()), &resp, absl::Seconds(1)).ok();
    if (!rotated) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(rotated) << "new certificate not served within 15 s";
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  // New handshakes no longer get the old certificate; the process never restarted.
  EXPECT_EQ(Decide(TlsChannel(d->port, old_ca.cert_pem()), &resp, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(d->process->Wait(absl::ZeroDuration()).has_value()) << "logoutd exited";
}

TEST_F(OperationsTest, StartupRefusesMismatchedTlsFilesNamingTheFlag) {
  TestCa ca("server-ca");
  const TestCert a = ca.Issue("a", {"DNS:a.test"});
  const TestCert b = ca.Issue("b", {"DNS:b.test"});
  WriteTextFile(dir_ + "/a.crt", a.cert_pem);
  WriteTextFile(dir_ + "/b.key", b.key_pem);
  auto p = testing::Subprocess::Start({LOGOUTD_BINARY, "--listen=127.0.0.1:0", "--store=file",
                                       "--policy=" + kPolicy, "--tls_cert=" + dir_ + "/a.crt",
                                       "--tls_key=" + dir_ + "/b.key"});
  ASSERT_NE(p, nullptr);
  const std::optional<int> code = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(p->output(), HasSubstr("--tls_key: "));
  EXPECT_THAT(p->output(), HasSubstr("does not match the certificate"));
  EXPECT_THAT(p->output(), Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(OperationsTest, AdminAndHealthPortsServeOnlyTheirServices) {
  TestCa ca("server-ca");
  WriteServerTls(ca, ca);
  std::vector<std::string> args = TlsArgs(/*mutual=*/false);
  args.push_back("--admin_listen=127.0.0.1:0");
  args.push_back("--health_listen=127.0.0.1:0");
  args.push_back("--admin_token_file=" + dir_ + "/token");
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, args);
  ASSERT_NE(d, nullptr);
  const int admin_port = PortFromLog(*d, "admin_port");
  const int health_port = PortFromLog(*d, "health_port");
  ASSERT_GT(admin_port, 0);
  ASSERT_GT(health_port, 0);
  ASSERT_NE(admin_port, d->port);

  auto export_policy = [&](const std::shared_ptr<grpc::Channel>& channel) {
    v1::ExportPolicyResponse out;
    auto ctx = CallContext(kToken);
    return v1::LogoutAdmin::NewStub(channel)->ExportPolicy(ctx.get(), {}, &out);
  };
  v1::ValidateLogoutResponse resp;
  // Decision port: decisions yes, admin no.
  EXPECT_TRUE(Decide(TlsChannel(d->port, ca.cert_pem()), &resp).ok());
  EXPECT_EQ(export_policy(TlsChannel(d->port, ca.cert_pem())).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Admin port (TLS too): admin yes, decisions no.
  EXPECT_TRUE(export_policy(TlsChannel(admin_port, ca.cert_pem())).ok());
  EXPECT_EQ(Decide(TlsChannel(admin_port, ca.cert_pem()), &resp).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Health port: plaintext (kubelet probes), health only.
  grpc::health::v1::HealthCheckRequest hreq;
  hreq.set_service("logout.v1.LogoutPolicy");
  grpc::health::v1::HealthCheckResponse hresp;
  auto ctx = CallContext();
  grpc::Status s =
      grpc::health::v1::Health::NewStub(PlainChannel(health_port))->Check(ctx.get(), hreq, &hresp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(Decide(PlainChannel(health_port), &resp).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // Reflection (what grpcurl uses) on the decision and admin ports, not on the probe port.
  EXPECT_EQ(ReflectionCode(TlsChannel(d->port, ca.cert_pem())), grpc::StatusCode::OK);
  EXPECT_EQ(ReflectionCode(TlsChannel(admin_port, ca.cert_pem())), grpc::StatusCode::OK);
  EXPECT_EQ(ReflectionCode(PlainChannel(health_port)), grpc::StatusCode::UNIMPLEMENTED);
}

// Two admin writes stuck behind a lock another process holds on the SQLite file fill a bound
// of two: the next call, a decision, is refused with RESOURCE_EXHAUSTED until they finish.
TEST_F(OperationsTest, ConcurrencyBoundRefusesWithResourceExhausted) {
  const std::string db = dir_ + "/logoutd.db";
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=sqlite:" + db, "--policy=" + kPolicy,
                       "--admin_token_file=" + dir_ + "/token", "--max_concurrent_rpcs=2"});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(Decide(d->channel, &resp).ok());

  sqlite3* lock = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &lock), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  std::atomic<int> writes_ok{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 2; ++i) {
    writers.emplace_back([&, i] {
      v1::CreateClientRequest req;
      req.set_tenant("acme");
      req.mutable_client()->set_client_id(absl::StrCat("blocked-", i));
      req.mutable_client()->add_allowed_logout_urls("https://blocked.example.com/bye");
      v1::ClientResponse out;
      auto ctx = CallContext(kToken);
      if (v1::LogoutAdmin::NewStub(d->channel)->CreateClient(ctx.get(), req, &out).ok()) {
        ++writes_ok;
      }
    });
  }
  // Once both writes wait on the lock, the bound is reached.
  grpc::Status refused;
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    refused = Decide(d->channel, &resp);
    if (refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("limit of 2 concurrent calls"));

  ASSERT_EQ(sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(lock);
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(writes_ok.load(), 2) << "the writes that held the slots still succeed";
  grpc::Status s = Decide(d->channel, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
}

// An admin write that waits for the store past its deadline writes nothing: the caller was
// told DEADLINE_EXCEEDED, so the change must not appear later.
TEST_F(OperationsTest, AdminWritePastItsDeadlineWritesNothing) {
  const std::string db = dir_ + "/logoutd.db";
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=sqlite:" + db, "--policy=" + kPolicy,
                                                  "--admin_token_file=" + dir_ + "/token"});
  ASSERT_NE(d, nullptr);
  sqlite3* lock = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &lock), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(lock, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::CreateClientRequest req;
  req.set_tenant("acme");
  req.mutable_client()->set_client_id("too-late");
  req.mutable_client()->add_allowed_logout_urls("https://too-late.example.com/bye");
  v1::ClientResponse out;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  EXPECT_EQ(admin->CreateClient(&ctx, req, &out).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The lock goes away while logoutd's write is still waiting for it (busy timeout 5 s).
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_EQ(sqlite3_exec(lock, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(lock);
  ASSERT_TRUE(d->process
                  ->WaitForLine("\"msg\":\"admin write refused\",\"method\":\"CreateClient\"",
                                absl::Seconds(10))
                  .has_value())
      << d->process->output();
  EXPECT_THAT(d->process->output(), HasSubstr("nothing was written"));

  v1::GetClientRequest get;
  get.set_tenant("acme");
  get.set_client_id("too-late");
  v1::ClientResponse got;
  auto get_ctx = CallContext(kToken);
  EXPECT_EQ(admin->GetClient(get_ctx.get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

// --max_connection_age closes connections gracefully (GOAWAY) so clients re-resolve and spread
// over new replicas; calls keep working on a new connection. The default (5 min) does not.
TEST_F(OperationsTest, ConnectionsAreRecycledAfterMaxConnectionAge) {
  auto aged = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy, "--max_connection_age=1s",
                       "--max_connection_age_grace=1s"});
  auto steady = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy});
  ASSERT_NE(aged, nullptr);
  ASSERT_NE(steady, nullptr);
  auto aged_channel = PlainChannel(aged->port);
  auto steady_channel = PlainChannel(steady->port);
  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(Decide(aged_channel, &resp).ok());
  ASSERT_TRUE(Decide(steady_channel, &resp).ok());
  ASSERT_EQ(aged_channel->GetState(false), GRPC_CHANNEL_READY);

  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  EXPECT_TRUE(aged_channel->WaitForStateChange(GRPC_CHANNEL_READY, deadline))
      << "the aged connection was not closed within 5 s";
  EXPECT_EQ(steady_channel->GetState(false), GRPC_CHANNEL_READY);
  grpc::Status s = Decide(aged_channel, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
}

// Decisions are logged (at the sample rate) without the hint, state, query or secrets; failed
// calls and admin writes are always logged.
TEST_F(OperationsTest, LogsAreSampledAndNeverCarryTokensQueriesOrSecrets) {
  constexpr char kHint[] =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJTVUJTRUNSRVQifQ.U0lHTkFUVVJFU0VDUkVU";
  constexpr char kState[] = "STATE-SECRET-4242";
  constexpr char kQuerySecret[] = "QUERY-SECRET-9191";
  constexpr char kClientSecret[] = "CLIENT-SECRET-0123456789abcdef0123456789";
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=sqlite:" + dir_ + "/logoutd.db", "--policy=" + kPolicy,
                       "--admin_token_file=" + dir_ + "/token", "--decision_log_sample_rate=1"});
  ASSERT_NE(d, nullptr);

  auto oidc = [&](const std::string& tenant, const std::string& query) {
    v1::ValidateLogoutRequest req;
    req.set_tenant(tenant);
    req.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
    req.set_raw_query(query);
    v1::ValidateLogoutResponse resp;
    auto ctx = CallContext();
    grpc::Status s = v1::LogoutPolicy::NewStub(d->channel)->ValidateLogout(ctx.get(), req, &resp);
    return std::make_pair(s, resp);
  };
  const std::string target =
      absl::StrCat("https%3A%2F%2Fshop.acme.example.com%2Fgoodbye%3Fcode%3D", kQuerySecret);
  auto [s1, r1] = oidc("acme", absl::StrCat("client_id=web-app&post_logout_redirect_uri=", target,
                                            "&state=", kState));
  ASSERT_TRUE(s1.ok()) << s1.error_message();
  auto [s2, r2] = oidc("acme", absl::StrCat("id_token_hint=", kHint, "&state=", kState,
                                            "&post_logout_redirect_uri=", target));
  ASSERT_TRUE(s2.ok()) << s2.error_message();
  EXPECT_EQ(r2.decision(), v1::DECISION_DENY);
  auto [s3, r3] = oidc("no-such-tenant", absl::StrCat("id_token_hint=", kHint));
  EXPECT_EQ(s3.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::CreateClientRequest create;
  create.set_tenant("acme");
  create.mutable_client()->set_client_id("hs-app");
  create.mutable_client()->set_id_token_signed_response_alg("HS256");
  create.mutable_client()->set_client_secret(kClientSecret);
  create.mutable_client()->add_allowed_logout_urls("https://hs.example.com/bye");
  v1::ClientResponse created;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(v1::LogoutAdmin::NewStub(d->channel)->CreateClient(ctx.get(), create, &created).ok());

  ASSERT_TRUE(d->process->WaitForLine("\"msg\":\"admin write\"", absl::Seconds(5)).has_value());
  const std::string out = d->process->output();
  int decisions = 0;
  for (size_t at = out.find("\"msg\":\"decision\""); at != std::string::npos;
       at = out.find("\"msg\":\"decision\"", at + 1)) {
    ++decisions;
  }
  EXPECT_EQ(decisions, 2);
  EXPECT_THAT(out, HasSubstr("\"redirect_origin\":\"https://shop.acme.example.com\""));
  EXPECT_THAT(out, HasSubstr("\"reason\":\"" + r2.reason_code() + "\""));
  EXPECT_THAT(out, HasSubstr("\"msg\":\"call failed\",\"method\":\"ValidateLogout\""));
  EXPECT_THAT(out, HasSubstr("\"msg\":\"admin write\",\"method\":\"CreateClient\""));
  for (const std::string& secret :
       {std::string(kHint), std::string("eyJzdWIiOiJTVUJTRUNSRVQifQ"), std::string(kState),
        std::string(kQuerySecret), std::string(kClientSecret), std::string(kToken)}) {
    EXPECT_THAT(out, Not(HasSubstr(secret))) << "log leaked " << secret;
  }
}

TEST_F(OperationsTest, DecisionLogSampleRateZeroLogsNoDecisions) {
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy, "--decision_log_sample_rate=0"});
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutResponse resp;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Decide(d->channel, &resp).ok());
  EXPECT_THAT(d->process->output(), Not(HasSubstr("\"msg\":\"decision\"")));
}

// The plan request the planning tests send: session sid-1 of user "victim" at acme's web-app.
v1::PlanLogoutNotificationsRequest AcmePlan() {
  v1::PlanLogoutNotificationsRequest plan;
  plan.set_tenant("acme");
  plan.set_sid("sid-1");
  plan.set_sub("victim");
  plan.add_session_client_ids("web-app");
  plan.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
  return plan;
}

// Single-logout plans carry signed logout tokens for whoever the caller names: with
// --slo_token_file only its holder may ask for one; plain decisions stay open.
TEST_F(OperationsTest, SingleLogoutPlanningNeedsTheConfiguredCredential) {
  constexpr char kPlanToken[] = "operations-test-slo-token-456789";
  WriteTextFile(dir_ + "/slo-token", kPlanToken);
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy,
                                                  "--slo_token_file=" + dir_ + "/slo-token"});
  ASSERT_NE(d, nullptr);
  auto stub = v1::LogoutPolicy::NewStub(d->channel);
  const v1::PlanLogoutNotificationsRequest plan = AcmePlan();
  v1::PlanLogoutNotificationsResponse planned;
  auto ctx = CallContext();
  grpc::Status s = stub->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("single-logout planning"));
  ctx = CallContext("wrong-token-wrong-token-wrong-token");
  EXPECT_EQ(stub->PlanLogoutNotifications(ctx.get(), plan, &planned).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ctx = CallContext(kPlanToken);
  s = stub->PlanLogoutNotifications(ctx.get(), plan, &planned);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(planned.plan().clients_size(), 1);
  EXPECT_EQ(planned.plan().clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_NOT_REGISTERED);

  // A plain decision needs nothing; asking it for a plan needs the credential.
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query("client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye");
  req.set_session_id("sid-1");
  v1::ValidateLogoutResponse resp;
  ctx = CallContext();
  s = stub->ValidateLogout(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  req.set_plan_notifications(true);
  ctx = CallContext();
  EXPECT_EQ(stub->ValidateLogout(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ctx = CallContext(kPlanToken);
  s = stub->ValidateLogout(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  EXPECT_TRUE(resp.has_notifications());
  EXPECT_THAT(d->process->output(), Not(HasSubstr(kPlanToken)));
  EXPECT_THAT(d->process->output(), Not(HasSubstr("planning is open to every caller")));
}

// Secure by default: without a planner credential, planning is refused (plain decisions are
// not); --slo_allow_unauthenticated opens it, with a warning at start.
TEST_F(OperationsTest, SingleLogoutPlanningIsClosedByDefault) {
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy});
  ASSERT_NE(d, nullptr);
  auto stub = v1::LogoutPolicy::NewStub(d->channel);
  const v1::PlanLogoutNotificationsRequest plan = AcmePlan();
  v1::PlanLogoutNotificationsResponse planned;
  auto ctx = CallContext("any-token-any-token-any-token");
  grpc::Status s = stub->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("single-logout planning is closed: no planner credential is configured"));
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query("client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye");
  req.set_session_id("sid-1");
  v1::ValidateLogoutResponse resp;
  ctx = CallContext();
  ASSERT_TRUE(stub->ValidateLogout(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  req.set_plan_notifications(true);
  ctx = CallContext();
  s = stub->ValidateLogout(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("--slo_allow_unauthenticated"));
  EXPECT_THAT(d->process->output(), Not(HasSubstr("planning is open to every caller")));
}

TEST_F(OperationsTest, OpenSingleLogoutPlanningNeedsTheFlagAndIsAWarningAtStart) {
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=file", "--policy=" + kPolicy, "--slo_allow_unauthenticated"});
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->process->output(),
              HasSubstr("\"level\":\"warning\",\"msg\":\"single-logout planning is open to every "
                        "caller of the decision port"));
  const v1::PlanLogoutNotificationsRequest plan = AcmePlan();
  v1::PlanLogoutNotificationsResponse planned;
  auto ctx = CallContext();
  const grpc::Status s =
      v1::LogoutPolicy::NewStub(d->channel)->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// The Prometheus endpoint of the real binary, scraped over HTTP after real calls.
TEST_F(OperationsTest, MetricsEndpointCountsDecisionsCallsAndRefusals) {
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=sqlite:" + dir_ + "/logoutd.db", "--policy=" + kPolicy,
                       "--admin_token_file=" + dir_ + "/token", "--metrics_listen=127.0.0.1:0"});
  ASSERT_NE(d, nullptr);
  const int metrics_port = PortFromLog(*d, "metrics_port");
  ASSERT_GT(metrics_port, 0);

  v1::ValidateLogoutResponse allow;
  ASSERT_TRUE(Decide(d->channel, &allow).ok());
  ASSERT_TRUE(Decide(d->channel, &allow).ok());
  const v1::ValidateLogoutResponse deny =
      testing::DecideV2(*d, "acme", "returnTo=https%3A%2F%2Fevil.example%2F");
  ASSERT_EQ(deny.decision(), v1::DECISION_DENY);
  v1::ValidateLogoutRequest unknown;
  unknown.set_tenant("no-such-tenant");
  unknown.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  v1::ValidateLogoutResponse ignored;
  auto ctx = CallContext();
  EXPECT_EQ(v1::LogoutPolicy::NewStub(d->channel)
                ->ValidateLogout(ctx.get(), unknown, &ignored)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ExportPolicyResponse exported;
  ctx = CallContext();  // no token
  EXPECT_EQ(
      v1::LogoutAdmin::NewStub(d->channel)->ExportPolicy(ctx.get(), {}, &exported).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);

  absl::StatusOr<testing::HttpResponse> scrape =
      testing::HttpGet("127.0.0.1", metrics_port, "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  EXPECT_EQ(scrape->status, 200);
  EXPECT_THAT(scrape->Header("content-type"), HasSubstr("text/plain; version=0.0.4"));
  absl::StatusOr<testing::Exposition> e = testing::ParseExposition(scrape->body);
  ASSERT_TRUE(e.ok()) << e.status();

  EXPECT_EQ(
      e->Value("logoutd_decisions_total",
               {{"endpoint", "v2_logout"}, {"decision", "allow"}, {"reason", allow.reason_code()}}),
      2);
  EXPECT_EQ(
      e->Value("logoutd_decisions_total",
               {{"endpoint", "v2_logout"}, {"decision", "deny"}, {"reason", deny.reason_code()}}),
      1);
  EXPECT_EQ(
      e->Value("logoutd_grpc_server_handled_total", {{"grpc_service", "logout.v1.LogoutPolicy"},
                                                     {"grpc_method", "ValidateLogout"},
                                                     {"grpc_code", "OK"}}),
      3);
  EXPECT_EQ(
      e->Value("logoutd_grpc_server_handled_total", {{"grpc_service", "logout.v1.LogoutPolicy"},
                                                     {"grpc_method", "ValidateLogout"},
                                                     {"grpc_code", "NOT_FOUND"}}),
      1);
  EXPECT_EQ(e->Value("logoutd_grpc_server_handling_seconds_count",
                     {{"grpc_service", "logout.v1.LogoutPolicy"},
                      {"grpc_method", "ValidateLogout"},
                      {"grpc_code", "OK"}}),
            3);
  EXPECT_EQ(e->Value("logoutd_rejected_rpcs_total", {{"reason", "admin_unauthenticated"}}), 1);
  EXPECT_EQ(e->Value("logoutd_policy_version"), 1);
  const std::optional<double> age = e->Value("logoutd_policy_snapshot_age_seconds");
  ASSERT_TRUE(age.has_value());
  EXPECT_GE(*age, 0);
  EXPECT_LT(*age, 60);
  EXPECT_EQ(e->Value("logoutd_policy_reload_failures_total"), 0);
}

}  // namespace
}  // namespace logout
