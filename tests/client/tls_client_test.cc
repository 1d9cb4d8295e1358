// The clients over TLS and mutual TLS against a real logoutd serving --tls_cert/--tls_key
// (and --tls_client_ca), with certificates made at test time: decisions come back decided; an
// untrusted server, a plaintext client or a missing client certificate fail closed, never as a
// decision; logoutctl's --tls_* flags reach the same server.
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/admin_client.h"
#include "client/grpc_decision_client.h"
#include "gtest/gtest.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_pki.h"

namespace logout {
namespace {

using testing::LogoutdProcess;
using testing::TestCa;
using testing::TestCert;
using testing::WriteTextFile;

constexpr char kServerName[] = "logoutd.test";
constexpr char kToken[] = "tls-client-test-token-5b7e01";

class TlsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("tls_client");
    ASSERT_FALSE(dir_.empty());
    const TestCert server = ca_.Issue("logoutd", {std::string("DNS:") + kServerName});
    WriteTextFile(dir_ + "/server.crt", server.cert_pem);
    WriteTextFile(dir_ + "/server.key", server.key_pem);
    WriteTextFile(dir_ + "/ca.crt", ca_.cert_pem());
    WriteTextFile(dir_ + "/other-ca.crt", other_ca_.cert_pem());
    const TestCert web = ca_.Issue("web-tier", {"DNS:web.example"});
    WriteTextFile(dir_ + "/web.crt", web.cert_pem);
    WriteTextFile(dir_ + "/web.key", web.key_pem);
    WriteTextFile(dir_ + "/token", std::string(kToken) + "\n");
  }

  std::unique_ptr<LogoutdProcess> Start(bool mutual) {
    std::vector<std::string> args = {
        "--store=sqlite:" + dir_ + "/logoutd.db", "--admin_token_file=" + dir_ + "/token",
        std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json",
        "--tls_cert=" + dir_ + "/server.crt", "--tls_key=" + dir_ + "/server.key"};
    if (mutual) args.push_back("--tls_client_ca=" + dir_ + "/ca.crt");
    return LogoutdProcess::Start(LOGOUTD_BINARY, args);
  }

  TlsOptions Tls(bool with_client_cert, const std::string& ca = "ca.crt") const {
    TlsOptions tls;
    tls.ca_file = dir_ + "/" + ca;
    tls.server_name = kServerName;
    if (with_client_cert) {
      tls.cert_file = dir_ + "/web.crt";
      tls.key_file = dir_ + "/web.key";
    }
    return tls;
  }

  static DecisionResult<v1::ValidateLogoutResponse> Decide(int port,
                                                           std::optional<TlsOptions> tls) {
    ClientOptions o;
    o.target = absl::StrCat("127.0.0.1:", port);
    o.deadline = absl::Seconds(5);
    o.tls = std::move(tls);
    absl::StatusOr<std::unique_ptr<DecisionClient>> client = CreateGrpcDecisionClient(o);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return {};
    v1::ValidateLogoutRequest req;
    req.set_tenant("acme");
    req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
    req.set_raw_query("client_id=web-app&returnTo=https://shop.acme.example.com/goodbye");
    return (*client)->ValidateLogout(req);
  }

  TestCa ca_{"client-test-ca"};
  TestCa other_ca_{"other-ca"};
  std::string dir_;
};

TEST_F(TlsClientTest, TlsDecidesAndUntrustedOrPlaintextFailsClosed) {
  auto d = Start(/*mutual=*/false);
  ASSERT_NE(d, nullptr);
  auto r = Decide(d->port, Tls(/*with_client_cert=*/false));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.response.redirect_url(), "https://shop.acme.example.com/goodbye");

  r = Decide(d->port, Tls(/*with_client_cert=*/false, "other-ca.crt"));
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_UNSPECIFIED);

  r = Decide(d->port, std::nullopt);
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.response.decision(), v1::DECISION_UNSPECIFIED);
}

TEST_F(TlsClientTest, MutualTlsNeedsTheClientCertificate) {
  auto d = Start(/*mutual=*/true);
  ASSERT_NE(d, nullptr);
  auto r = Decide(d->port, Tls(/*with_client_cert=*/true));
  ASSERT_EQ(r.outcome, Outcome::kDecided) << r.status;
  EXPECT_EQ(r.response.decision(), v1::DECISION_ALLOW);

  r = Decide(d->port, Tls(/*with_client_cert=*/false));
  EXPECT_EQ(r.outcome, Outcome::kFailedClosed);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable) << r.status;

  // The admin client over the same mTLS port, with the bearer token.
  AdminClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", d->port);
  o.tls = Tls(/*with_client_cert=*/true);
  o.bearer_token = kToken;
  auto admin = AdminClient::Create(o);
  ASSERT_TRUE(admin.ok()) << admin.status();
  v1::GetConnectionRequest get;
  get.set_tenant("acme");
  get.set_connection("corp-oidc");
  absl::StatusOr<v1::ConnectionResponse> conn = (*admin)->GetConnection(get);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_FALSE(conn->etag().empty());
}

TEST_F(TlsClientTest, LogoutctlTlsFlags) {
  auto d = Start(/*mutual=*/true);
  ASSERT_NE(d, nullptr);
  const std::vector<std::string> tls_flags = {LOGOUTCTL_BINARY,
                                              absl::StrCat("--target=127.0.0.1:", d->port),
                                              "--tls_ca=" + dir_ + "/ca.crt",
                                              std::string("--tls_server_name=") + kServerName,
                                              "--tls_cert=" + dir_ + "/web.crt",
                                              "--tls_key=" + dir_ + "/web.key",
                                              "--admin_token_file=" + dir_ + "/token"};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = tls_flags;
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = testing::Subprocess::Start(argv);
    const std::optional<int> code = p->Wait(absl::Seconds(30));
    return std::make_pair(code.value_or(-1), p->output());
  };
  auto [code, out] =
      run({"validate", "--tenant=acme", "--query=returnTo=https://acme.example.com/logged-out"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"decision\":\"DECISION_ALLOW\""), std::string::npos) << out;
  std::tie(code, out) = run({"connection", "get", "acme", "corp-oidc"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"etag\":"), std::string::npos) << out;
  // Without the client certificate the handshake fails: unavailable, failed closed.
  auto p = testing::Subprocess::Start(
      {LOGOUTCTL_BINARY, absl::StrCat("--target=127.0.0.1:", d->port),
       "--tls_ca=" + dir_ + "/ca.crt", std::string("--tls_server_name=") + kServerName, "validate",
       "--tenant=acme"});
  EXPECT_EQ(p->Wait(absl::Seconds(30)), 3) << p->output();
  EXPECT_NE(p->output().find("\"outcome\":\"failed_closed\""), std::string::npos) << p->output();
}

}  // namespace
}  // namespace logout
