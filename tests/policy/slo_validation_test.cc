// Validation of the single-logout fields by the policy compiler (every admin write and every
// load goes through it): refused whole, naming tenant, client and field.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"
#include "tests/testing/slo_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace logout::policy {
namespace {

using ::logout::testing::StatusIs;

using testing::SigningKeyOf;
using testing::SloClient;
using testing::TestKey;

class SloValidationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_pem_ = new std::string(testing::PrivateKeyPem(TestKey::Generate(jwt::KeyFamily::kRsa)));
  }
  static void TearDownTestSuite() { delete rsa_pem_; }

  SloValidationTest() {
    tenant_ = config_.add_tenants();
    tenant_->set_name("acme");
    tenant_->set_issuer("https://acme.example.com/");
    *tenant_->add_signing_keys() = SigningKeyOf("k1", "RS256", *rsa_pem_);
    client_ = tenant_->add_clients();
    *client_ = SloClient("app1");
  }

  absl::Status Build(bool allow_http_loopback = false) {
    PolicyOptions options;
    options.allow_http_loopback = allow_http_loopback;
    auto built = CompiledPolicy::Build(config_, 1, options);
    if (built.ok()) compiled_ = *built;
    return built.status();
  }

  // Expects an INVALID_ARGUMENT whose message contains `message` exactly.
  void ExpectRefused(const std::string& message, bool allow_http_loopback = false) {
    const absl::Status s = Build(allow_http_loopback);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(message), std::string::npos) << s;
  }

  static std::string* rsa_pem_;
  v1::PolicyConfig config_;
  v1::Tenant* tenant_;
  v1::Client* client_;
  std::shared_ptr<const CompiledPolicy> compiled_;
};
std::string* SloValidationTest::rsa_pem_ = nullptr;

TEST_F(SloValidationTest, ValidClientCompilesItsFields) {
  client_->set_frontchannel_logout_uri("https://app1.example.com/fc?x=1");
  client_->set_frontchannel_logout_session_required(true);
  client_->set_backchannel_logout_uri("https://api.app1.example.com/bc");
  client_->set_backchannel_logout_session_required(true);
  client_->mutable_backchannel_logout_initiators()->set_mode(
      v1::BackchannelLogoutInitiators::MODE_CUSTOM);
  client_->mutable_backchannel_logout_initiators()->add_selected_initiators("rp-logout");
  ASSERT_TRUE(Build().ok()) << Build();
  const CompiledClient* c = compiled_->FindTenant("acme")->FindClient("app1");
  EXPECT_EQ(c->frontchannel_logout_uri, "https://app1.example.com/fc?x=1");
  EXPECT_TRUE(c->frontchannel_logout_session_required);
  EXPECT_EQ(c->backchannel_logout_uri, "https://api.app1.example.com/bc");
  EXPECT_FALSE(c->backchannel_all_initiators);
  EXPECT_TRUE(c->backchannel_initiators.contains(v1::LOGOUT_INITIATOR_RP_LOGOUT));
  EXPECT_EQ(c->backchannel_initiators.size(), 1u);
  ASSERT_EQ(compiled_->FindTenant("acme")->signing_keys.size(), 1u);
  EXPECT_NE(compiled_->FindTenant("acme")->signing_keys[0].pkey, nullptr);
}

TEST_F(SloValidationTest, FrontchannelFragmentRefusedNamingField) {
  client_->set_frontchannel_logout_uri("https://app1.example.com/fc#frag");
  ExpectRefused(
      "tenant \"acme\" client \"app1\": frontchannel_logout_uri "
      "\"https://app1.example.com/fc#frag\" must not contain a fragment");
}

TEST_F(SloValidationTest, FrontchannelEmptyFragmentRefused) {
  client_->set_frontchannel_logout_uri("https://app1.example.com/fc#");
  ExpectRefused(
      "frontchannel_logout_uri \"https://app1.example.com/fc#\" must not contain a fragment");
}

TEST_F(SloValidationTest, FrontchannelHttpRefused) {
  client_->add_allowed_logout_urls("http://app1.example.com/");
  client_->set_frontchannel_logout_uri("http://app1.example.com/fc");
  ExpectRefused(
      "client \"app1\": frontchannel_logout_uri \"http://app1.example.com/fc\" must be an absolute "
      "https URL");
}

TEST_F(SloValidationTest, FrontchannelRelativeRefused) {
  client_->set_frontchannel_logout_uri("/fc");
  ExpectRefused("frontchannel_logout_uri \"/fc\" is not an absolute URL");
}

TEST_F(SloValidationTest, HttpLoopbackOnlyWithOption) {
  client_->add_allowed_logout_urls("http://127.0.0.1:8080/");
  client_->set_frontchannel_logout_uri("http://127.0.0.1:8080/fc");
  client_->set_backchannel_logout_uri("http://localhost:9000/bc");
  ExpectRefused(
      "frontchannel_logout_uri \"http://127.0.0.1:8080/fc\" must be an absolute https URL; http is "
      "accepted only for localhost");
  EXPECT_TRUE(Build(/*allow_http_loopback=*/true).ok()) << Build(true);
}

TEST_F(SloValidationTest, FrontchannelUserinfoRefused) {
  client_->set_frontchannel_logout_uri("https://user:pw@app1.example.com/fc");
  ExpectRefused(
      "frontchannel_logout_uri \"https://user:pw@app1.example.com/fc\" must not contain userinfo");
}

TEST_F(SloValidationTest, FrontchannelOriginMustMatchAnAllowedUrl) {
  client_->set_frontchannel_logout_uri("https://other.example.com/fc");
  ExpectRefused(
      "tenant \"acme\" client \"app1\": frontchannel_logout_uri \"https://other.example.com/fc\" "
      "must have the scheme, host and port of one of the client's allowed_logout_urls");
}

TEST_F(SloValidationTest, FrontchannelPortMustMatch) {
  client_->set_frontchannel_logout_uri("https://app1.example.com:8443/fc");
  ExpectRefused("must have the scheme, host and port");
  client_->add_allowed_logout_urls("https://app1.example.com:8443/other");
  EXPECT_TRUE(Build().ok()) << Build();
}

TEST_F(SloValidationTest, WildcardAllowedUrlDoesNotCountForOrigin) {
  client_->clear_allowed_logout_urls();
  client_->add_allowed_logout_urls("https://*.example.com/bye");
  client_->set_frontchannel_logout_uri("https://app1.example.com/fc");
  ExpectRefused("(wildcard entries do not count)");
}

TEST_F(SloValidationTest, BackchannelFragmentAndHttpRefused) {
  client_->set_backchannel_logout_uri("https://api.example.com/bc#x");
  ExpectRefused(
      "client \"app1\": backchannel_logout_uri \"https://api.example.com/bc#x\" must not contain a "
      "fragment");
  client_->set_backchannel_logout_uri("http://api.example.com/bc");
  ExpectRefused(
      "backchannel_logout_uri \"http://api.example.com/bc\" must be an absolute https URL");
  client_->set_backchannel_logout_uri("https://u@api.example.com/bc");
  ExpectRefused(
      "backchannel_logout_uri \"https://u@api.example.com/bc\" must not contain userinfo");
}

TEST_F(SloValidationTest, UnknownInitiatorRefused) {
  auto* bi = client_->mutable_backchannel_logout_initiators();
  bi->set_mode(v1::BackchannelLogoutInitiators::MODE_CUSTOM);
  bi->add_selected_initiators("rp-logout");
  bi->add_selected_initiators("user-bored");
  ExpectRefused(
      "client \"app1\": backchannel_logout_initiators.selected_initiators[1] \"user-bored\" is "
      "not a known initiator");
}

TEST_F(SloValidationTest, CustomModeWithoutInitiatorsRefused) {
  client_->mutable_backchannel_logout_initiators()->set_mode(
      v1::BackchannelLogoutInitiators::MODE_CUSTOM);
  ExpectRefused("backchannel_logout_initiators: mode MODE_CUSTOM needs at least one");
}

TEST_F(SloValidationTest, BackchannelWithoutMatchingKeyRefused) {
  client_->set_id_token_signed_response_alg("ES256");
  client_->set_backchannel_logout_uri("https://api.example.com/bc");
  ExpectRefused(
      "client \"app1\": backchannel_logout_uri: the tenant has no signing_keys entry with alg "
      "ES256");
}

TEST_F(SloValidationTest, BackchannelHmacClientNeedsNoTenantKey) {
  tenant_->clear_signing_keys();
  client_->set_id_token_signed_response_alg("HS256");
  client_->set_client_secret(std::string(32, 's'));
  client_->set_backchannel_logout_uri("https://api.example.com/bc");
  EXPECT_TRUE(Build().ok()) << Build();
}

TEST_F(SloValidationTest, BackchannelNeedsIssuer) {
  tenant_->clear_issuer();
  client_->set_backchannel_logout_uri("https://api.example.com/bc");
  ExpectRefused("backchannel_logout_uri needs the tenant's issuer");
}

TEST_F(SloValidationTest, SigningKeyKidRequired) {
  tenant_->mutable_signing_keys(0)->clear_kid();
  ExpectRefused("tenant \"acme\" signing_keys[0] (kid \"\"): kid must be 1-256 printable bytes");
}

TEST_F(SloValidationTest, SigningKeyKidUnique) {
  *tenant_->add_signing_keys() = tenant_->signing_keys(0);
  ExpectRefused("tenant \"acme\" signing_keys[1] (kid \"k1\"): duplicate kid");
}

TEST_F(SloValidationTest, SigningKeyAlgMustBeKnownAndAsymmetric) {
  tenant_->mutable_signing_keys(0)->set_alg("none");
  ExpectRefused("signing_keys[0] (kid \"k1\"): alg \"none\" is not accepted");
  tenant_->mutable_signing_keys(0)->set_alg("HS256");
  ExpectRefused("signing_keys[0] (kid \"k1\"): alg \"HS256\" is not accepted");
}

TEST_F(SloValidationTest, SigningKeyPemMustParse) {
  tenant_->mutable_signing_keys(0)->set_private_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n");
  ExpectRefused("signing_keys[0] (kid \"k1\"): private_key_pem is not an unencrypted PEM");
  tenant_->mutable_signing_keys(0)->clear_private_key_pem();
  ExpectRefused("signing_keys[0] (kid \"k1\"): private_key_pem is required");
}

TEST_F(SloValidationTest, SigningKeyErrorNeverQuotesThePem) {
  tenant_->mutable_signing_keys(0)->set_alg("ES256");
  const absl::Status s = Build();
  ASSERT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          "private_key_pem is not a P-256 EC key (alg ES256)"));
  EXPECT_EQ(s.message().find("PRIVATE KEY"), std::string::npos) << s;
  EXPECT_NE(s.message().find("private_key_pem is not a P-256 EC key (alg ES256)"),
            std::string::npos)
      << s;
}

TEST_F(SloValidationTest, RsaKeyOf1024BitsRefused) {
  tenant_->mutable_signing_keys(0)->set_private_key_pem(testing::RsaKeyPem(1024));
  ExpectRefused("signing_keys[0] (kid \"k1\"): RSA key has 1024 bits; at least 2048 are required");
}

TEST_F(SloValidationTest, KeyTypeMustFitAlg) {
  const std::string p384 = testing::PrivateKeyPem(TestKey::Generate(jwt::KeyFamily::kEcP384));
  const std::string ed = testing::PrivateKeyPem(TestKey::Generate(jwt::KeyFamily::kEd25519));
  *tenant_->add_signing_keys() = SigningKeyOf("ec", "ES256", p384);
  ExpectRefused("signing_keys[1] (kid \"ec\"): private_key_pem is not a P-256 EC key");
  *tenant_->mutable_signing_keys(1) = SigningKeyOf("ec", "ES384", p384);
  *tenant_->add_signing_keys() = SigningKeyOf("ed", "RS256", ed);
  ExpectRefused("signing_keys[2] (kid \"ed\"): private_key_pem is not an RSA key");
  *tenant_->mutable_signing_keys(2) = SigningKeyOf("ed", "EdDSA", ed);
  EXPECT_TRUE(Build().ok()) << Build();
  EXPECT_EQ(compiled_->FindTenant("acme")->FindSigningKey(jwt::Algorithm::kEdDSA)->kid, "ed");
  EXPECT_EQ(compiled_->FindTenant("acme")->FindSigningKey(jwt::Algorithm::kES256), nullptr);
}

TEST_F(SloValidationTest, EndSessionEndpointDefaultHasExactlyOneSlash) {
  ASSERT_TRUE(Build().ok());
  EXPECT_EQ(compiled_->FindTenant("acme")->end_session_endpoint,
            "https://acme.example.com/oidc/logout");
  tenant_->set_issuer("https://acme.example.com/t1");
  ASSERT_TRUE(Build().ok());
  EXPECT_EQ(compiled_->FindTenant("acme")->end_session_endpoint,
            "https://acme.example.com/t1/oidc/logout");
  tenant_->set_end_session_endpoint("https://login.example.com/logout");
  ASSERT_TRUE(Build().ok());
  EXPECT_EQ(compiled_->FindTenant("acme")->end_session_endpoint,
            "https://login.example.com/logout");
  tenant_->set_end_session_endpoint("https://login.example.com/logout#x");
  ExpectRefused("tenant \"acme\": end_session_endpoint \"https://login.example.com/logout#x\"");
}

TEST_F(SloValidationTest, EndSessionEndpointMustBeHttps) {
  tenant_->set_end_session_endpoint("http://login.example.com/logout");
  ExpectRefused(
      "tenant \"acme\": end_session_endpoint \"http://login.example.com/logout\" must be an "
      "absolute https URL");
}

// ---- Shared Signals streams ----

v1::SsfStream Stream(const std::string& id) {
  v1::SsfStream st;
  st.set_stream_id(id);
  st.set_endpoint_url("https://siem.example.com/ssf/" + id);
  st.set_audience("https://siem.example.com/");
  st.set_authorization_header("Bearer s3cr3t-" + id);
  st.add_events_requested(kSessionRevokedEvent);
  return st;
}

TEST_F(SloValidationTest, SharedSignalsStreamsCompile) {
  v1::SharedSignals* ssf = tenant_->mutable_shared_signals();
  ssf->set_jwks_uri("https://acme.example.com/.well-known/jwks.json");
  *ssf->add_streams() = Stream("siem");
  v1::SsfStream paused = Stream("paused");
  paused.clear_events_requested();
  *ssf->add_streams() = paused;
  ASSERT_TRUE(Build().ok()) << Build();
  const CompiledTenant* t = compiled_->FindTenant("acme");
  EXPECT_EQ(t->ssf_jwks_uri, "https://acme.example.com/.well-known/jwks.json");
  ASSERT_EQ(t->ssf_streams.size(), 2u);
  const CompiledStream* siem = t->FindStream("siem");
  ASSERT_NE(siem, nullptr);
  EXPECT_EQ(siem->endpoint_url, "https://siem.example.com/ssf/siem");
  EXPECT_EQ(siem->audience, "https://siem.example.com/");
  EXPECT_EQ(siem->authorization_header, "Bearer s3cr3t-siem");
  EXPECT_TRUE(siem->session_revoked);
  EXPECT_EQ(siem->alg, jwt::Algorithm::kRS256);
  EXPECT_FALSE(t->FindStream("paused")->session_revoked);
}

TEST_F(SloValidationTest, SharedSignalsRefusalsNameTheField) {
  v1::SharedSignals* ssf = tenant_->mutable_shared_signals();
  *ssf->add_streams() = Stream("siem");
  ExpectRefused("tenant \"acme\": shared_signals.jwks_uri is required with streams");
  ssf->set_jwks_uri("http://acme.example.com/jwks");
  ExpectRefused(
      "shared_signals.jwks_uri \"http://acme.example.com/jwks\" must be an absolute https URL");
  ssf->set_jwks_uri("https://acme.example.com/jwks");
  ASSERT_TRUE(Build().ok());

  v1::SsfStream* st = ssf->mutable_streams(0);
  st->set_stream_id("bad id");
  ExpectRefused("shared_signals.streams[0].stream_id \"bad id\" must be 1-128 of [A-Za-z0-9._~-]");
  st->set_stream_id("siem");
  *ssf->add_streams() = Stream("siem");
  ExpectRefused("shared_signals.streams[1].stream_id \"siem\" is a duplicate");
  ssf->mutable_streams()->RemoveLast();

  st->set_endpoint_url("http://siem.example.com/ssf");
  ExpectRefused(
      "shared_signals.streams[0].endpoint_url \"http://siem.example.com/ssf\" must be an absolute "
      "https URL");
  st->set_endpoint_url("http://127.0.0.1:9/ssf");
  ExpectRefused("shared_signals.streams[0].endpoint_url");
  EXPECT_TRUE(Build(/*allow_http_loopback=*/true).ok());
  st->set_endpoint_url("https://siem.example.com/ssf");

  st->clear_audience();
  ExpectRefused("shared_signals.streams[0].audience must be 1-1024 bytes");
  st->set_audience("https://siem.example.com/");

  st->set_authorization_header("Bearer abc\r\nX-Injected: 1");
  const absl::Status injected = Build();
  EXPECT_THAT(injected, StatusIs(absl::StatusCode::kInvalidArgument, "authorization_header"));
  EXPECT_NE(
      injected.message().find("shared_signals.streams[0].authorization_header must be at most "
                              "4096 bytes without control characters"),
      std::string::npos);
  EXPECT_EQ(injected.message().find("abc"), std::string::npos) << "the secret is never echoed";
  st->set_authorization_header("Bearer ok");

  st->add_events_requested("https://schemas.openid.net/secevent/caep/event-type/credential-change");
  ExpectRefused(
      "shared_signals.streams[0].events_requested[1] "
      "\"https://schemas.openid.net/secevent/caep/event-type/credential-change\" is not supported");
  st->mutable_events_requested()->RemoveLast();

  st->set_signing_alg("HS256");
  ExpectRefused(
      "shared_signals.streams[0].signing_alg \"HS256\" is not an asymmetric JWS algorithm");
  st->set_signing_alg("ES256");
  ExpectRefused(
      "shared_signals.streams[0].signing_alg: the tenant has no signing_keys entry with alg ES256");
  st->clear_signing_alg();

  tenant_->clear_issuer();
  client_->clear_backchannel_logout_uri();
  ExpectRefused("shared_signals need the tenant's issuer");
}

}  // namespace
}  // namespace logout::policy
