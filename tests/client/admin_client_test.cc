// AdminClient against a real logoutd (SQLite store, bearer token): responses come back whole,
// the token is sent (and checked by logoutd), a stale etag is ABORTED, and nothing is retried —
// the last is observed on an in-test LogoutAdmin server that counts attempts.
#include "client/admin_client.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/logoutd_process.h"

namespace logout {
namespace {

using testing::LogoutdProcess;

constexpr char kToken[] = "admin-client-test-token-8c2d";

class AdminClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/admin_client_" + std::to_string(getpid()));
    ASSERT_EQ(system(("rm -rf " + *dir_ + " && mkdir -p " + *dir_).c_str()), 0);
    std::ofstream(*dir_ + "/token") << kToken << "\n";
    logoutd_ = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=sqlite:" + *dir_ + "/logoutd.db",
                                                      "--admin_token_file=" + *dir_ + "/token",
                                                      std::string("--policy=") +
                                                          LOGOUT_EXAMPLES_DIR + "/policy.json"})
                   .release();
  }
  static void TearDownTestSuite() {
    delete logoutd_;
    logoutd_ = nullptr;
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(logoutd_, nullptr); }

  static std::unique_ptr<AdminClient> Client(const std::string& token = kToken) {
    AdminClientOptions o;
    o.target = absl::StrCat("127.0.0.1:", logoutd_->port);
    o.bearer_token = token;
    absl::StatusOr<std::unique_ptr<AdminClient>> c = AdminClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  static std::string* dir_;
  static LogoutdProcess* logoutd_;
};
std::string* AdminClientTest::dir_ = nullptr;
LogoutdProcess* AdminClientTest::logoutd_ = nullptr;

TEST_F(AdminClientTest, GetAndUpdateConnectionLogoutWithEtags) {
  auto admin = Client();
  v1::GetConnectionRequest get;
  get.set_tenant("acme");
  get.set_connection("partner-saml");
  absl::StatusOr<v1::ConnectionResponse> before = admin->GetConnection(get);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->connection().strategy(), "samlp");
  EXPECT_EQ(before->connection().logout().sign_out_endpoint(),
            "https://sso.partner.example/saml2/slo");
  ASSERT_FALSE(before->etag().empty());

  v1::UpdateConnectionLogoutRequest update;
  update.set_tenant("acme");
  update.set_connection("partner-saml");
  update.set_etag(before->etag());
  update.mutable_logout()->set_sign_out_endpoint("https://sso.partner.example/saml2/slo2");
  update.mutable_update_mask()->add_paths("sign_out_endpoint");
  absl::StatusOr<v1::ConnectionResponse> after = admin->UpdateConnectionLogout(update);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->connection().logout().sign_out_endpoint(),
            "https://sso.partner.example/saml2/slo2");
  EXPECT_GT(after->policy_version(), before->policy_version());

  // The same etag again is stale.
  absl::StatusOr<v1::ConnectionResponse> stale = admin->UpdateConnectionLogout(update);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();

  v1::ListAuditEventsRequest list;
  list.set_page_size(1);
  absl::StatusOr<v1::ListAuditEventsResponse> events = admin->ListAuditEvents(list);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->events_size(), 1);
  EXPECT_EQ(events->events(0).action(), "UpdateConnectionLogout");
  EXPECT_EQ(events->events(0).object(), "tenant/acme/connection/partner-saml");
}

TEST_F(AdminClientTest, ExportAndImportPolicy) {
  auto admin = Client();
  absl::StatusOr<v1::ExportPolicyResponse> exported = admin->ExportPolicy({});
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->policy().tenants_size(), 2);
  EXPECT_EQ(exported->policy().tenants(0).name(), "acme");
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = exported->policy();
  absl::StatusOr<v1::ImportPolicyResponse> imported = admin->ImportPolicy(import);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->policy_version(), exported->policy_version() + 1);
}

TEST_F(AdminClientTest, TokenIsSentAndChecked) {
  v1::GetConnectionRequest get;
  get.set_tenant("acme");
  get.set_connection("corp-oidc");
  EXPECT_EQ(Client("")->GetConnection(get).status().code(), absl::StatusCode::kUnauthenticated);
  const absl::Status wrong = Client("wrong-token-0123456789")->GetConnection(get).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.message().find("wrong-token"), absl::string_view::npos);
  // NewContext serves the RPCs without a wrapper.
  auto admin = Client();
  auto ctx = admin->NewContext();
  v1::ListTenantsResponse tenants;
  ASSERT_TRUE(admin->stub().ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants).ok());
  EXPECT_EQ(tenants.tenants_size(), 2);
}

TEST(AdminClientCreateTest, RefusesBadOptionsWithoutEchoingTheToken) {
  AdminClientOptions o;
  o.target = "127.0.0.1:1";
  o.bearer_token = "secret-with-newline\n";
  const absl::Status s = AdminClient::Create(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find("secret"), absl::string_view::npos) << s;
  o.bearer_token = "ok";
  o.deadline = absl::ZeroDuration();
  EXPECT_EQ(AdminClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.deadline = absl::Seconds(1);
  o.target = "";
  EXPECT_EQ(AdminClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// A LogoutAdmin server whose every ExportPolicy is UNAVAILABLE, counting attempts.
class UnavailableAdmin final : public v1::LogoutAdmin::Service {
 public:
  grpc::Status ExportPolicy(grpc::ServerContext*, const v1::ExportPolicyRequest*,
                            v1::ExportPolicyResponse*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "store down");
  }
  std::atomic<int> calls{0};
};

TEST(AdminClientRetryTest, NothingIsRetried) {
  UnavailableAdmin service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  AdminClientOptions o;
  o.target = absl::StrCat("127.0.0.1:", port);
  o.bearer_token = kToken;
  auto admin = AdminClient::Create(o);
  ASSERT_TRUE(admin.ok()) << admin.status();
  const absl::Status s = (*admin)->ExportPolicy({}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "store down");
  EXPECT_EQ(service.calls.load(), 1);
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

}  // namespace
}  // namespace logout
