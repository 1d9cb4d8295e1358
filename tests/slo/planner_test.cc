// The single-logout planner, ValidateLogout's attached plan and discovery metadata.
#include "service/slo/planner.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "service/jwt/base64url.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"
#include "service/policy/engine.h"
#include "service/slo/discovery.h"
#include "tests/testing/slo_fixtures.h"

namespace logout::slo {
namespace {

using nlohmann::json;
using testing::SigningKeyOf;
using testing::SloClient;
using testing::TestKey;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

json ClaimsOf(const std::string& token) {
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  return json::parse(*jwt::Base64UrlDecode(parts.at(1)));
}

class PlannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = new TestKey(TestKey::Generate(jwt::KeyFamily::kEcP256)); }
  static void TearDownTestSuite() { delete key_; }

  PlannerTest() {
    v1::Tenant* t = config_.add_tenants();
    t->set_name("acme");
    t->set_issuer("https://acme.example.com/");
    *t->add_signing_keys() = SigningKeyOf("ec-1", "ES256", testing::PrivateKeyPem(*key_));
    // fc: front channel with session, its query kept.
    v1::Client* fc = t->add_clients();
    *fc = SloClient("fc");
    fc->set_frontchannel_logout_uri("https://fc.example.com/logout?app=1&iss=stale");
    fc->set_frontchannel_logout_session_required(true);
    // fcplain: front channel without session parameters.
    v1::Client* plain = t->add_clients();
    *plain = SloClient("fcplain");
    plain->set_frontchannel_logout_uri("https://fcplain.example.com/logout?x=a%20b");
    // bc: back channel (ES256), every initiator, sid required.
    v1::Client* bc = t->add_clients();
    *bc = SloClient("bc");
    bc->set_id_token_signed_response_alg("ES256");
    bc->set_backchannel_logout_uri("https://api.bc.example.com/backchannel");
    bc->set_backchannel_logout_session_required(true);
    // custom: back channel only for password-changed.
    v1::Client* custom = t->add_clients();
    *custom = SloClient("custom");
    custom->set_id_token_signed_response_alg("ES256");
    custom->set_backchannel_logout_uri("https://custom.example.com/bc");
    custom->mutable_backchannel_logout_initiators()->set_mode(
        v1::BackchannelLogoutInitiators::MODE_CUSTOM);
    custom->mutable_backchannel_logout_initiators()->add_selected_initiators("password-changed");
    // both: both channels.
    v1::Client* both = t->add_clients();
    *both = SloClient("both");
    both->set_id_token_signed_response_alg("ES256");
    both->set_frontchannel_logout_uri("https://both.example.com/fc");
    both->set_backchannel_logout_uri("https://both.example.com/bc");
    // none: nothing registered.
    *t->add_clients() = SloClient("none");
    Rebuild();
  }

  void Rebuild() {
    auto built = policy::CompiledPolicy::Build(config_, 42);
    ASSERT_TRUE(built.ok()) << built.status();
    policy_ = *built;
  }

  v1::PlanLogoutNotificationsRequest Request(
      std::vector<std::string> clients,
      v1::LogoutInitiator initiator = v1::LOGOUT_INITIATOR_RP_LOGOUT) {
    v1::PlanLogoutNotificationsRequest r;
    r.set_tenant("acme");
    r.set_sid("sid-123");
    r.set_sub("user-9");
    r.set_initiator(initiator);
    for (const std::string& c : clients) r.add_session_client_ids(c);
    return r;
  }

  v1::LogoutNotificationPlan Plan(const v1::PlanLogoutNotificationsRequest& r) {
    v1::PlanLogoutNotificationsResponse resp;
    const absl::Status s = PlanLogout(*policy_, r, kNow, &resp);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(resp.policy_version(), 42u);
    return resp.plan();
  }

  absl::StatusCode PlanCode(const v1::PlanLogoutNotificationsRequest& r) {
    v1::PlanLogoutNotificationsResponse resp;
    return PlanLogout(*policy_, r, kNow, &resp).code();
  }

  static TestKey* key_;
  v1::PolicyConfig config_;
  std::shared_ptr<const policy::CompiledPolicy> policy_;
};
TestKey* PlannerTest::key_ = nullptr;

TEST_F(PlannerTest, FrontchannelAddsIssAndSidKeepingTheQuery) {
  const v1::LogoutNotificationPlan plan = Plan(Request({"fc"}));
  ASSERT_EQ(plan.clients_size(), 1);
  EXPECT_EQ(plan.iss(), "https://acme.example.com/");
  EXPECT_EQ(
      plan.clients(0).frontchannel().url(),
      "https://fc.example.com/logout?app=1&iss=https%3A%2F%2Facme.example.com%2F&sid=sid-123");
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_UNSPECIFIED);
  EXPECT_FALSE(plan.clients(0).has_backchannel());
}

TEST_F(PlannerTest, FrontchannelWithoutSessionRequiredIsTheRegisteredUri) {
  const v1::LogoutNotificationPlan plan = Plan(Request({"fcplain"}));
  EXPECT_EQ(plan.clients(0).frontchannel().url(), "https://fcplain.example.com/logout?x=a%20b");
}

TEST_F(PlannerTest, FrontchannelIssAndSidBothOrNeither) {
  v1::PlanLogoutNotificationsRequest r = Request({"fc", "fcplain"});
  r.clear_sid();  // only sub known: the session-required client cannot get iss without sid
  const v1::LogoutNotificationPlan plan = Plan(r);
  ASSERT_EQ(plan.clients_size(), 2);
  EXPECT_FALSE(plan.clients(0).has_frontchannel());
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_SID_REQUIRED);
  EXPECT_EQ(plan.clients(1).frontchannel().url(), "https://fcplain.example.com/logout?x=a%20b");
  EXPECT_EQ(plan.clients(1).frontchannel().url().find("iss="), std::string::npos);
  EXPECT_EQ(plan.clients(1).frontchannel().url().find("sid="), std::string::npos);
}

TEST_F(PlannerTest, BackchannelJobCarriesAVerifiableToken) {
  const v1::LogoutNotificationPlan plan = Plan(Request({"bc"}));
  ASSERT_EQ(plan.clients_size(), 1);
  const v1::BackChannelJob& job = plan.clients(0).backchannel();
  EXPECT_EQ(job.uri(), "https://api.bc.example.com/backchannel");
  EXPECT_EQ(job.expires_at().seconds(), 1700000120);
  const json claims = ClaimsOf(job.logout_token());
  EXPECT_EQ(claims["aud"], "bc");
  EXPECT_EQ(claims["sid"], "sid-123");
  EXPECT_EQ(claims["sub"], "user-9");
  EXPECT_EQ(claims["jti"], job.jti());
  EXPECT_FALSE(claims.contains("nonce"));
  v1::Jwks jwks;
  *jwks.add_keys() = key_->ToJwk("ec-1");
  absl::StatusOr<jwt::IdToken> decoded = jwt::DecodeIdToken(job.logout_token());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(jwt::VerifyWithKeys(*decoded, **jwt::KeySet::Create(jwks)).ok());
}

TEST_F(PlannerTest, BackchannelSessionRequiredWithoutSidIsSkipped) {
  v1::PlanLogoutNotificationsRequest r = Request({"bc", "both"});
  r.clear_sid();
  const v1::LogoutNotificationPlan plan = Plan(r);
  EXPECT_FALSE(plan.clients(0).has_backchannel());
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_SID_REQUIRED);
  // `both` does not require sid: its token carries sub only.
  ASSERT_TRUE(plan.clients(1).has_backchannel());
  const json claims = ClaimsOf(plan.clients(1).backchannel().logout_token());
  EXPECT_EQ(claims["sub"], "user-9");
  EXPECT_FALSE(claims.contains("sid"));
}

TEST_F(PlannerTest, CustomInitiatorFilterExcludes) {
  v1::LogoutNotificationPlan plan = Plan(Request({"custom"}, v1::LOGOUT_INITIATOR_RP_LOGOUT));
  ASSERT_EQ(plan.clients_size(), 1);
  EXPECT_EQ(plan.clients(0).client_id(), "custom");
  EXPECT_FALSE(plan.clients(0).has_backchannel());
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_INITIATOR_EXCLUDED);
  plan = Plan(Request({"custom"}, v1::LOGOUT_INITIATOR_PASSWORD_CHANGED));
  EXPECT_TRUE(plan.clients(0).has_backchannel());
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_UNSPECIFIED);
}

TEST_F(PlannerTest, UnknownAndUnregisteredClientsAreListedWithReasons) {
  const v1::LogoutNotificationPlan plan = Plan(Request({"ghost", "none"}));
  ASSERT_EQ(plan.clients_size(), 2);
  EXPECT_EQ(plan.clients(0).client_id(), "ghost");
  EXPECT_EQ(plan.clients(0).skip_reason(), v1::NOTIFICATION_SKIP_REASON_UNKNOWN_CLIENT);
  EXPECT_EQ(plan.clients(1).client_id(), "none");
  EXPECT_EQ(plan.clients(1).skip_reason(), v1::NOTIFICATION_SKIP_REASON_NOT_REGISTERED);
}

TEST_F(PlannerTest, InitiatingClientIncludedOnceInRequestOrder) {
  v1::PlanLogoutNotificationsRequest r = Request({"both", "fc", "both"});
  r.set_initiating_client_id("bc");
  v1::LogoutNotificationPlan plan = Plan(r);
  std::vector<std::string> ids;
  for (const auto& c : plan.clients()) ids.push_back(c.client_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"both", "fc", "bc"}));
  r.set_initiating_client_id("fc");  // already a session client: not repeated
  plan = Plan(r);
  ids.clear();
  for (const auto& c : plan.clients()) ids.push_back(c.client_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"both", "fc"}));
}

TEST_F(PlannerTest, BothChannelsForOneClient) {
  const v1::LogoutNotificationPlan plan = Plan(Request({"both"}));
  EXPECT_EQ(plan.clients(0).frontchannel().url(), "https://both.example.com/fc");
  EXPECT_EQ(plan.clients(0).backchannel().uri(), "https://both.example.com/bc");
  EXPECT_FALSE(plan.backchannel_delivered_by_logoutd());
}

TEST_F(PlannerTest, EveryCallMintsFreshTokens) {
  const std::string a = Plan(Request({"bc"})).clients(0).backchannel().jti();
  const std::string b = Plan(Request({"bc"})).clients(0).backchannel().jti();
  EXPECT_NE(a, b);
}

TEST_F(PlannerTest, RequestValidation) {
  v1::PlanLogoutNotificationsRequest r = Request({"fc"});
  r.set_initiator(v1::LOGOUT_INITIATOR_UNSPECIFIED);
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r = Request({"fc"});
  r.clear_sid();
  r.clear_sub();
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r = Request({"fc"});
  r.clear_tenant();
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r = Request({"fc"});
  r.set_tenant("nope");
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kNotFound);
  r = Request({std::string(257, 'c')});
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r = Request({std::string(256, 'c')});
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kOk);
  r = Request({""});
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r = Request({});
  for (int i = 0; i < 257; ++i) r.add_session_client_ids("c" + std::to_string(i));
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
  r.mutable_session_client_ids()->RemoveLast();
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kOk);
  r = Request({"fc"});
  r.set_sid("a\nb");
  EXPECT_EQ(PlanCode(r), absl::StatusCode::kInvalidArgument);
}

TEST_F(PlannerTest, ValidateLogoutAllowAttachesPlanForTheResolvedClient) {
  v1::ValidateLogoutRequest r;
  r.set_tenant("acme");
  r.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  r.set_raw_query("client_id=bc&returnTo=https%3A%2F%2Fbc.example.com%2Fbye");
  r.set_session_id("sid-777");
  r.set_plan_notifications(true);
  r.add_session_client_ids("fc");
  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(policy::Decide(*policy_, r, kNow, &resp).ok());
  ASSERT_EQ(resp.decision(), v1::DECISION_ALLOW);
  ASSERT_TRUE(AttachPlan(*policy_, r, kNow, &resp).ok());
  ASSERT_EQ(resp.notifications().clients_size(), 2);
  EXPECT_EQ(resp.notifications().clients(0).client_id(), "fc");
  EXPECT_NE(resp.notifications().clients(0).frontchannel().url().find("sid=sid-777"),
            std::string::npos);
  EXPECT_EQ(resp.notifications().clients(1).client_id(), "bc");
  EXPECT_EQ(ClaimsOf(resp.notifications().clients(1).backchannel().logout_token())["sid"],
            "sid-777");
}

TEST_F(PlannerTest, ValidateLogoutDenyOrNotAskedAttachesNothing) {
  v1::ValidateLogoutRequest r;
  r.set_tenant("acme");
  r.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  r.set_raw_query("client_id=bc&returnTo=https%3A%2F%2Fevil.example.net%2F");
  r.set_session_id("sid-777");
  r.set_plan_notifications(true);
  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(policy::Decide(*policy_, r, kNow, &resp).ok());
  ASSERT_EQ(resp.decision(), v1::DECISION_DENY);
  ASSERT_TRUE(AttachPlan(*policy_, r, kNow, &resp).ok());
  EXPECT_FALSE(resp.has_notifications());

  r.set_raw_query("client_id=bc&returnTo=https%3A%2F%2Fbc.example.com%2Fbye");
  r.set_plan_notifications(false);
  ASSERT_TRUE(policy::Decide(*policy_, r, kNow, &resp).ok());
  ASSERT_EQ(resp.decision(), v1::DECISION_ALLOW);
  ASSERT_TRUE(AttachPlan(*policy_, r, kNow, &resp).ok());
  EXPECT_FALSE(resp.has_notifications());
}

// Without an OP session there is nothing to notify: a hint or client alone names no session,
// and a sub-only token would end every session of the user at each RP.
TEST_F(PlannerTest, ValidateLogoutWithoutOpSessionAttachesNothing) {
  v1::ValidateLogoutRequest r;
  r.set_tenant("acme");
  r.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  r.set_raw_query("client_id=bc&returnTo=https%3A%2F%2Fbc.example.com%2Fbye");
  r.set_plan_notifications(true);
  r.add_session_client_ids("fc");
  r.add_session_client_ids("bc");
  v1::ValidateLogoutResponse resp;
  ASSERT_TRUE(policy::Decide(*policy_, r, kNow, &resp).ok());
  ASSERT_EQ(resp.decision(), v1::DECISION_ALLOW);
  resp.mutable_session()->set_sub("someone");  // even with a user named
  ASSERT_TRUE(AttachPlan(*policy_, r, kNow, &resp).ok());
  EXPECT_FALSE(resp.has_notifications());
}

TEST_F(PlannerTest, DiscoveryReflectsConfiguration) {
  v1::GetDiscoveryMetadataRequest req;
  req.set_tenant("acme");
  v1::GetDiscoveryMetadataResponse resp;
  ASSERT_TRUE(DiscoveryMetadata(*policy_, req, &resp).ok());
  EXPECT_EQ(resp.issuer(), "https://acme.example.com/");
  EXPECT_EQ(resp.end_session_endpoint(), "https://acme.example.com/oidc/logout");
  EXPECT_TRUE(resp.frontchannel_logout_supported());
  EXPECT_TRUE(resp.frontchannel_logout_session_supported());
  EXPECT_TRUE(resp.backchannel_logout_supported());
  EXPECT_TRUE(resp.backchannel_logout_session_supported());
  EXPECT_EQ(resp.policy_version(), 42u);
  EXPECT_EQ(json::parse(resp.metadata_json()),
            json({{"issuer", "https://acme.example.com/"},
                  {"end_session_endpoint", "https://acme.example.com/oidc/logout"},
                  {"frontchannel_logout_supported", true},
                  {"frontchannel_logout_session_supported", true},
                  {"backchannel_logout_supported", true},
                  {"backchannel_logout_session_supported", true}}));
}

TEST_F(PlannerTest, DiscoveryWithoutSloClientsSaysUnsupported) {
  v1::Tenant* t = config_.add_tenants();
  t->set_name("plain");
  t->set_issuer("https://plain.example.com");
  t->set_end_session_endpoint("https://login.plain.example.com/logout");
  *t->add_clients() = SloClient("web");
  Rebuild();
  v1::GetDiscoveryMetadataRequest req;
  req.set_tenant("plain");
  v1::GetDiscoveryMetadataResponse resp;
  ASSERT_TRUE(DiscoveryMetadata(*policy_, req, &resp).ok());
  EXPECT_EQ(resp.end_session_endpoint(), "https://login.plain.example.com/logout");
  EXPECT_FALSE(resp.frontchannel_logout_supported());
  EXPECT_FALSE(resp.backchannel_logout_supported());
  EXPECT_EQ(json::parse(resp.metadata_json())["backchannel_logout_supported"], false);
  req.set_tenant("ghost");
  EXPECT_EQ(DiscoveryMetadata(*policy_, req, &resp).code(), absl::StatusCode::kNotFound);
  req.clear_tenant();
  EXPECT_EQ(DiscoveryMetadata(*policy_, req, &resp).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace logout::slo
