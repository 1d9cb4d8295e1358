// Single logout over real gRPC against the real logoutd binary: PlanLogoutNotifications,
// GetDiscoveryMetadata, ValidateLogout with plan_notifications, validation of admin writes and
// redaction of signing keys in ExportPolicy and the audit trail.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/slo_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace logout {
namespace {

using testing::CallContext;
using testing::LogoutdProcess;
using testing::SigningKeyOf;
using testing::TestKey;

constexpr char kToken[] = "slo-process-test-admin-token-42";

class SloProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = new TestKey(TestKey::Generate(jwt::KeyFamily::kEcP256)); }
  static void TearDownTestSuite() { delete key_; }

  void SetUp() override {
    dir_ = testing::FreshTempDir("slo_process");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/token") << kToken << "\n";
    v1::PolicyConfig config;
    v1::Tenant* t = config.add_tenants();
    t->set_name("acme");
    t->set_issuer("https://acme.example.com/");
    *t->add_signing_keys() = SigningKeyOf("ec-1", "ES256", testing::PrivateKeyPem(*key_));
    v1::Client* web = t->add_clients();
    web->set_client_id("web");
    web->add_allowed_logout_urls("https://web.example.com/bye");
    web->set_frontchannel_logout_uri("https://web.example.com/fc?v=2");
    web->set_frontchannel_logout_session_required(true);
    v1::Client* api = t->add_clients();
    api->set_client_id("api");
    api->add_allowed_logout_urls("https://api.example.com/bye");
    api->set_id_token_signed_response_alg("ES256");
    api->set_backchannel_logout_uri("https://api.example.com/backchannel");
    api->set_backchannel_logout_session_required(true);
    api->mutable_backchannel_logout_initiators()->set_mode(
        v1::BackchannelLogoutInitiators::MODE_CUSTOM);
    api->mutable_backchannel_logout_initiators()->add_selected_initiators("rp-logout");
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(config, &json).ok());
    std::ofstream(dir_ + "/policy.json") << json;
  }

  std::unique_ptr<LogoutdProcess> Start() {
    return LogoutdProcess::Start(
        LOGOUTD_BINARY,
        {"--store=sqlite:" + dir_ + "/logoutd.db", "--policy=" + dir_ + "/policy.json",
         "--admin_token_file=" + dir_ + "/token", "--slo_allow_unauthenticated"});
  }

  static bool Verifies(const std::string& token) {
    v1::Jwks jwks;
    *jwks.add_keys() = key_->ToJwk("ec-1");
    absl::StatusOr<jwt::IdToken> decoded = jwt::DecodeIdToken(token);
    return decoded.ok() && decoded->typ == "logout+jwt" && decoded->has_events &&
           jwt::VerifyWithKeys(*decoded, **jwt::KeySet::Create(jwks)).ok();
  }

  static TestKey* key_;
  std::string dir_;
};
TestKey* SloProcessTest::key_ = nullptr;

TEST_F(SloProcessTest, PlanLogoutNotificationsOverGrpc) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto stub = v1::LogoutPolicy::NewStub(d->channel);
  v1::PlanLogoutNotificationsRequest req;
  req.set_tenant("acme");
  req.set_sid("sid-1");
  req.set_sub("user-1");
  req.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
  req.add_session_client_ids("web");
  req.add_session_client_ids("ghost");
  req.set_initiating_client_id("api");
  v1::PlanLogoutNotificationsResponse resp;
  auto ctx = CallContext();
  grpc::Status s = stub->PlanLogoutNotifications(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.plan().clients_size(), 3);
  EXPECT_EQ(resp.plan().iss(), "https://acme.example.com/");
  EXPECT_EQ(resp.plan().clients(0).client_id(), "web");
  EXPECT_EQ(resp.plan().clients(0).frontchannel().url(),
            "https://web.example.com/fc?v=2&iss=https%3A%2F%2Facme.example.com%2F&sid=sid-1");
  EXPECT_EQ(resp.plan().clients(1).client_id(), "ghost");
  EXPECT_EQ(resp.plan().clients(1).skip_reason(), v1::NOTIFICATION_SKIP_REASON_UNKNOWN_CLIENT);
  EXPECT_EQ(resp.plan().clients(2).client_id(), "api");
  EXPECT_EQ(resp.plan().clients(2).backchannel().uri(), "https://api.example.com/backchannel");
  EXPECT_TRUE(Verifies(resp.plan().clients(2).backchannel().logout_token()));
  EXPECT_GT(resp.policy_version(), 0u);

  // Another initiator is filtered out for `api`.
  req.set_initiator(v1::LOGOUT_INITIATOR_PASSWORD_CHANGED);
  ctx = CallContext();
  ASSERT_TRUE(stub->PlanLogoutNotifications(ctx.get(), req, &resp).ok());
  EXPECT_FALSE(resp.plan().clients(2).has_backchannel());
  EXPECT_EQ(resp.plan().clients(2).skip_reason(), v1::NOTIFICATION_SKIP_REASON_INITIATOR_EXCLUDED);

  // Errors are status codes.
  req.set_initiator(v1::LOGOUT_INITIATOR_UNSPECIFIED);
  ctx = CallContext();
  EXPECT_EQ(stub->PlanLogoutNotifications(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
  req.set_tenant("nope");
  ctx = CallContext();
  EXPECT_EQ(stub->PlanLogoutNotifications(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SloProcessTest, GetDiscoveryMetadataOverGrpc) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  v1::GetDiscoveryMetadataRequest req;
  req.set_tenant("acme");
  v1::GetDiscoveryMetadataResponse resp;
  auto ctx = CallContext();
  grpc::Status s =
      v1::LogoutPolicy::NewStub(d->channel)->GetDiscoveryMetadata(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.issuer(), "https://acme.example.com/");
  EXPECT_EQ(resp.end_session_endpoint(), "https://acme.example.com/oidc/logout");
  EXPECT_TRUE(resp.frontchannel_logout_supported());
  EXPECT_TRUE(resp.backchannel_logout_supported());
  EXPECT_EQ(resp.metadata_json(),
            R"({"issuer":"https://acme.example.com/",)"
            R"("end_session_endpoint":"https://acme.example.com/oidc/logout",)"
            R"("frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true,)"
            R"("backchannel_logout_supported":true,"backchannel_logout_session_supported":true})");
}

TEST_F(SloProcessTest, ValidateLogoutWithPlanOverGrpc) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  req.set_raw_query("client_id=api&returnTo=https%3A%2F%2Fapi.example.com%2Fbye");
  req.set_session_id("sid-9");
  req.set_plan_notifications(true);
  req.add_session_client_ids("web");
  v1::ValidateLogoutResponse resp;
  auto ctx = CallContext();
  grpc::Status s = v1::LogoutPolicy::NewStub(d->channel)->ValidateLogout(ctx.get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.decision(), v1::DECISION_ALLOW);
  ASSERT_EQ(resp.notifications().clients_size(), 2);
  EXPECT_EQ(resp.notifications().clients(0).frontchannel().url(),
            "https://web.example.com/fc?v=2&iss=https%3A%2F%2Facme.example.com%2F&sid=sid-9");
  EXPECT_EQ(resp.notifications().clients(1).client_id(), "api");
  EXPECT_TRUE(Verifies(resp.notifications().clients(1).backchannel().logout_token()));

  // A denied decision carries no plan.
  req.set_raw_query("client_id=api&returnTo=https%3A%2F%2Fevil.example.net%2F");
  ctx = CallContext();
  ASSERT_TRUE(v1::LogoutPolicy::NewStub(d->channel)->ValidateLogout(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.decision(), v1::DECISION_DENY);
  EXPECT_FALSE(resp.has_notifications());
}

TEST_F(SloProcessTest, AdminWriteWithFragmentIsRefusedNamingTheField) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  v1::CreateClientRequest req;
  req.set_tenant("acme");
  req.mutable_client()->set_client_id("bad");
  req.mutable_client()->add_allowed_logout_urls("https://bad.example.com/");
  req.mutable_client()->set_frontchannel_logout_uri("https://bad.example.com/fc#x");
  v1::ClientResponse out;
  auto ctx = CallContext(kToken);
  const grpc::Status s = v1::LogoutAdmin::NewStub(d->channel)->CreateClient(ctx.get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("tenant \"acme\" client \"bad\": frontchannel_logout_uri "
                                   "\"https://bad.example.com/fc#x\" must not contain a fragment"),
            std::string::npos)
      << s.error_message();
}

TEST_F(SloProcessTest, ExportAndAuditRedactSigningKeys) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  // A write whose audit event covers the tenant (and its keys).
  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  update.mutable_tenant_update()->set_prompt_enabled(false);
  update.mutable_update_mask()->add_paths("prompt_enabled");
  v1::TenantResponse tenant;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(admin->UpdateTenant(ctx.get(), update, &tenant).ok());
  ASSERT_EQ(tenant.tenant().signing_keys_size(), 1);
  EXPECT_TRUE(tenant.tenant().signing_keys(0).private_key_pem().empty());

  v1::ExportPolicyRequest export_req;
  v1::ExportPolicyResponse exported;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(ctx.get(), export_req, &exported).ok());
  ASSERT_EQ(exported.policy().tenants(0).signing_keys_size(), 1);
  EXPECT_EQ(exported.policy().tenants(0).signing_keys(0).kid(), "ec-1");
  EXPECT_TRUE(exported.policy().tenants(0).signing_keys(0).private_key_pem().empty());

  // The redacted export imported back keeps the key: tokens still verify with it.
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = exported.policy();
  v1::ImportPolicyResponse imported;
  ctx = CallContext(kToken);
  const grpc::Status s = admin->ImportPolicy(ctx.get(), import, &imported);
  ASSERT_TRUE(s.ok()) << s.error_message();

  export_req.set_include_secrets(true);
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(ctx.get(), export_req, &exported).ok());
  EXPECT_EQ(exported.policy().tenants(0).signing_keys(0).private_key_pem(),
            testing::PrivateKeyPem(*key_));

  v1::ListAuditEventsRequest audit_req;
  v1::ListAuditEventsResponse audit;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ListAuditEvents(ctx.get(), audit_req, &audit).ok());
  ASSERT_GE(audit.events_size(), 2);
  for (const v1::AuditEvent& e : audit.events()) {
    EXPECT_EQ(e.before_json().find("PRIVATE KEY"), std::string::npos) << e.action();
    EXPECT_EQ(e.after_json().find("PRIVATE KEY"), std::string::npos) << e.action();
  }
}

}  // namespace
}  // namespace logout
