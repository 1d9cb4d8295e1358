// Both RPC adapters over an in-process channel: LogoutPolicyService on a snapshot, and
// LogoutAdminService on a real SQLite store with scoped credentials. What the adapters own is
// tested here (admission, no policy yet, authentication and scope, status conversion); the
// decisions themselves are the engine's tests.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/rpc/admin_auth.h"
#include "service/rpc/call_limits.h"
#include "service/rpc/credentials.h"
#include "service/rpc/logout_admin_service.h"
#include "service/rpc/logout_policy_service.h"
#include "service/store/policy_file.h"
#include "service/store/policy_writer.h"
#include "service/store/snapshot_holder.h"
#include "service/store/sqlite_store.h"
#include "tests/testing/status_matchers.h"

namespace logout::rpc {
namespace {

using ::logout::testing::GrpcStatusIs;

constexpr char kToken[] = "rpc-services-test-token-0123456";
constexpr char kAcmeReader[] = "rpc-services-acme-reader-token-01";

std::unique_ptr<grpc::ClientContext> Ctx(
    const std::string& token = "", std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

std::shared_ptr<const policy::CompiledPolicy> ExamplePolicy(uint64_t version) {
  absl::StatusOr<v1::PolicyConfig> config =
      store::ReadPolicyFile(std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json");
  EXPECT_TRUE(config.ok()) << config.status();
  auto built = policy::CompiledPolicy::Build(*config, version);
  EXPECT_TRUE(built.ok()) << built.status();
  return *built;
}

class PolicyServiceTest : public ::testing::Test {
 protected:
  void Start(PolicyServiceHooks hooks) {
    service_ = std::make_unique<LogoutPolicyService>(&holder_, hooks);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::LogoutPolicy::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  static v1::ValidateLogoutRequest Allowed() {
    v1::ValidateLogoutRequest r;
    r.set_tenant("acme");
    r.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
    r.set_raw_query("client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye");
    return r;
  }

  store::SnapshotHolder holder_;
  std::unique_ptr<LogoutPolicyService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::LogoutPolicy::Stub> stub_;
};

TEST_F(PolicyServiceTest, NoPolicyYetIsUnavailable) {
  Start({});
  v1::ValidateLogoutResponse out;
  EXPECT_THAT(stub_->ValidateLogout(Ctx().get(), Allowed(), &out),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"));
}

TEST_F(PolicyServiceTest, DecidesFromTheSnapshotAndConvertsErrors) {
  holder_.Swap(ExamplePolicy(7));
  Start({});
  v1::ValidateLogoutResponse out;
  ASSERT_TRUE(stub_->ValidateLogout(Ctx().get(), Allowed(), &out).ok());
  EXPECT_EQ(out.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(out.policy_version(), 7u);
  v1::ValidateLogoutRequest unknown = Allowed();
  unknown.set_tenant("nope");
  EXPECT_THAT(stub_->ValidateLogout(Ctx().get(), unknown, &out),
              GrpcStatusIs(grpc::StatusCode::NOT_FOUND, ""));
}

TEST_F(PolicyServiceTest, AFullLimiterRefusesWithResourceExhausted) {
  holder_.Swap(ExamplePolicy(1));
  ConcurrencyLimiter limiter(1);
  ASSERT_TRUE(limiter.TryAcquire());  // the one slot is taken
  Start({.limiter = &limiter});
  v1::ValidateLogoutResponse out;
  EXPECT_THAT(stub_->ValidateLogout(Ctx().get(), Allowed(), &out),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, "--max_concurrent_rpcs"));
  limiter.Release();
  EXPECT_TRUE(stub_->ValidateLogout(Ctx().get(), Allowed(), &out).ok());
}

TEST_F(PolicyServiceTest, PlanningNeedsAPlannerCredentialUnlessOpened) {
  holder_.Swap(ExamplePolicy(1));
  std::unique_ptr<AdminAuthenticator> closed = AdminAuthenticator::Disabled();
  closed->SetPurpose(
      {"single-logout planning", "--slo_token_file", "--slo_client_identities", Role::kPlanner});
  Start({.plan_auth = closed.get()});
  v1::PlanLogoutNotificationsRequest plan;
  plan.set_tenant("acme");
  plan.set_sid("sid-1");
  plan.add_session_client_ids("web-app");
  plan.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
  v1::PlanLogoutNotificationsResponse planned;
  EXPECT_THAT(
      stub_->PlanLogoutNotifications(Ctx(kToken).get(), plan, &planned),
      GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, "single-logout planning is closed"));
  server_->Shutdown();
  Start({});  // plan_auth null: --slo_allow_unauthenticated
  EXPECT_TRUE(stub_->PlanLogoutNotifications(Ctx().get(), plan, &planned).ok());
}

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/rpc_services_" + std::to_string(getpid());
    ASSERT_EQ(system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str()), 0);
    const Sha256Digest d = Sha256(kAcmeReader);
    std::ofstream(dir_ + "/credentials.json")
        << R"({"credentials": [{"name": "acme-reader", "token_sha256": ")"
        << absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d.data()), 32))
        << R"(", "role": "reader", "tenants": ["acme"]}]})";
    auto file = CredentialsFile::Open(dir_ + "/credentials.json");
    ASSERT_TRUE(file.ok()) << file.status();
    credentials_ = *std::move(file);
    auto auth = AdminAuthenticator::FromToken(kToken);
    ASSERT_TRUE(auth.ok());
    auth_ = *std::move(auth);
    auth_->UseCredentialsFile(credentials_.get(), {Role::kReader, Role::kWriter, Role::kAdmin});
    auto store = store::OpenSqliteStore(dir_ + "/logoutd.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    writer_ = std::make_unique<store::PolicyWriter>(store_.get(), &holder_);
    service_ = std::make_unique<LogoutAdminService>(&holder_, writer_.get(), auth_.get());
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::LogoutAdmin::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override { server_->Shutdown(); }

  std::string dir_;
  store::SnapshotHolder holder_;
  std::unique_ptr<CredentialsFile> credentials_;
  std::unique_ptr<AdminAuthenticator> auth_;
  std::unique_ptr<store::PolicyStore> store_;
  std::unique_ptr<store::PolicyWriter> writer_;
  std::unique_ptr<LogoutAdminService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::LogoutAdmin::Stub> stub_;
};

TEST_F(AdminServiceTest, AuthenticatesThenChecksScopeThenAnswers) {
  v1::GetTenantRequest get;
  get.set_tenant("acme");
  v1::TenantResponse tenant;
  EXPECT_THAT(stub_->GetTenant(Ctx().get(), get, &tenant),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, "Bearer"));
  EXPECT_THAT(stub_->GetTenant(Ctx("wrong-token-wrong-token").get(), get, &tenant),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, "not authorised"));
  // Nothing written yet: reads are UNAVAILABLE, lists empty.
  EXPECT_THAT(stub_->GetTenant(Ctx(kToken).get(), get, &tenant),
              GrpcStatusIs(grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"));
  // The first write (an import with force) installs a snapshot.
  absl::StatusOr<v1::PolicyConfig> config =
      store::ReadPolicyFile(std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json");
  ASSERT_TRUE(config.ok());
  v1::ImportPolicyRequest import;
  *import.mutable_policy() = *config;
  v1::ImportPolicyResponse imported;
  EXPECT_THAT(stub_->ImportPolicy(Ctx(kToken).get(), import, &imported),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, "expected_etag is required"));
  import.set_force(true);
  ASSERT_TRUE(stub_->ImportPolicy(Ctx(kToken).get(), import, &imported).ok());
  EXPECT_EQ(imported.policy_version(), 1u);
  ASSERT_TRUE(stub_->GetTenant(Ctx(kToken).get(), get, &tenant).ok());
  EXPECT_EQ(tenant.tenant().name(), "acme");
  // The scoped reader reads acme, nothing else, and writes nothing.
  ASSERT_TRUE(stub_->GetTenant(Ctx(kAcmeReader).get(), get, &tenant).ok());
  get.set_tenant("realm-strict");
  EXPECT_THAT(stub_->GetTenant(Ctx(kAcmeReader).get(), get, &tenant),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           "credential \"acme-reader\" (reader) may not read tenant"));
  v1::DeleteTenantRequest del;
  del.set_tenant("acme");
  v1::DeleteResponse deleted;
  EXPECT_THAT(stub_->DeleteTenant(Ctx(kAcmeReader).get(), del, &deleted),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, "may not delete tenant"));
}

TEST_F(AdminServiceTest, FirstImportGuardedByTheEmptyExportsEtag) {
  // Nothing loaded: the export is the empty policy at version 0 with an etag...
  v1::ExportPolicyResponse exported;
  ASSERT_TRUE(stub_->ExportPolicy(Ctx(kToken).get(), v1::ExportPolicyRequest(), &exported).ok());
  EXPECT_EQ(exported.policy().tenants_size(), 0);
  EXPECT_EQ(exported.policy_version(), 0u);
  ASSERT_FALSE(exported.etag().empty());
  // ...which a scoped credential does not get (it could not guard an import)...
  v1::ExportPolicyResponse scoped;
  ASSERT_TRUE(stub_->ExportPolicy(Ctx(kAcmeReader).get(), v1::ExportPolicyRequest(), &scoped).ok());
  EXPECT_TRUE(scoped.etag().empty());
  // ...and which guards the first import, as logoutctl policy import uses it.
  absl::StatusOr<v1::PolicyConfig> config =
      store::ReadPolicyFile(std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json");
  ASSERT_TRUE(config.ok());
  v1::ImportPolicyRequest import;
  *import.mutable_policy() = *config;
  import.set_expected_etag(exported.etag());
  v1::ImportPolicyResponse imported;
  ASSERT_TRUE(stub_->ImportPolicy(Ctx(kToken).get(), import, &imported).ok());
  EXPECT_EQ(imported.policy_version(), 1u);
  // The same etag is now stale: a second "first import" cannot overwrite the first.
  EXPECT_THAT(stub_->ImportPolicy(Ctx(kToken).get(), import, &imported),
              GrpcStatusIs(grpc::StatusCode::ABORTED, "is stale"));
}

}  // namespace
}  // namespace logout::rpc
