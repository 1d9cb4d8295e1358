// Signing keys are secrets in the admin API: redacted in views, the audit trail and exports,
// and kept when a redacted read is written back.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/admin/admin_mutations.h"
#include "service/policy/compiled_policy.h"
#include "tests/testing/slo_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace logout::admin {
namespace {

using ::logout::testing::StatusIs;

using testing::SigningKeyOf;
using testing::TestKey;

class AdminSigningKeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pem_ = new std::string(testing::PrivateKeyPem(TestKey::Generate(jwt::KeyFamily::kEcP256)));
  }
  static void TearDownTestSuite() { delete pem_; }

  static v1::Tenant Tenant() {
    v1::Tenant t;
    t.set_name("acme");
    t.set_issuer("https://acme.example.com/");
    *t.add_signing_keys() = SigningKeyOf("ec-1", "ES256", *pem_);
    v1::Client* c = t.add_clients();
    c->set_client_id("app");
    c->add_allowed_logout_urls("https://app.example.com/");
    c->set_id_token_signed_response_alg("ES256");
    c->set_backchannel_logout_uri("https://app.example.com/bc");
    return t;
  }

  static bool HasPem(const std::string& text) {
    return text.find("PRIVATE KEY") != std::string::npos ||
           text.find(pem_->substr(40, 40)) != std::string::npos;
  }

  static std::string* pem_;
};
std::string* AdminSigningKeysTest::pem_ = nullptr;

TEST_F(AdminSigningKeysTest, TenantViewAndRedactSecretsClearThePem) {
  const v1::Tenant view = TenantView(Tenant());
  ASSERT_EQ(view.signing_keys_size(), 1);
  EXPECT_EQ(view.signing_keys(0).kid(), "ec-1");
  EXPECT_EQ(view.signing_keys(0).alg(), "ES256");
  EXPECT_TRUE(view.signing_keys(0).private_key_pem().empty());
  v1::Tenant t = Tenant();
  t.mutable_clients(0)->set_client_secret("a-secret");
  RedactSecrets(t);
  EXPECT_TRUE(t.signing_keys(0).private_key_pem().empty());
  EXPECT_TRUE(t.clients(0).client_secret().empty());
}

TEST_F(AdminSigningKeysTest, AuditOfTenantWritesNeverContainsThePem) {
  v1::PolicyConfig config;
  v1::CreateTenantRequest create;
  *create.mutable_tenant() = Tenant();
  absl::StatusOr<v1::AuditEvent> e = ApplyCreateTenant(create, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(HasPem(e->after_json())) << e->after_json();
  EXPECT_NE(e->after_json().find("ec-1"), std::string::npos);

  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  update.mutable_tenant_update()->set_issuer("https://acme2.example.com/");
  update.mutable_update_mask()->add_paths("issuer");
  e = ApplyUpdateTenant(update, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(HasPem(e->before_json()));
  EXPECT_FALSE(HasPem(e->after_json()));

  v1::DeleteTenantRequest del;
  del.set_tenant("acme");
  e = ApplyDeleteTenant(del, config);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(HasPem(e->before_json()));
}

TEST_F(AdminSigningKeysTest, UpdateWithRedactedKeysKeepsTheStoredPem) {
  v1::PolicyConfig config;
  *config.add_tenants() = Tenant();
  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  *update.mutable_tenant_update() = TenantView(config.tenants(0));  // what GetTenant shows
  update.mutable_update_mask()->add_paths("signing_keys");
  ASSERT_TRUE(ApplyUpdateTenant(update, config).ok());
  EXPECT_EQ(config.tenants(0).signing_keys(0).private_key_pem(), *pem_);
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 1).ok());
}

TEST_F(AdminSigningKeysTest, UpdateWithANewKidWithoutPemIsRefusedByTheCompiler) {
  v1::PolicyConfig config;
  *config.add_tenants() = Tenant();
  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  *update.mutable_tenant_update()->add_signing_keys() = SigningKeyOf("ec-2", "ES256", "");
  update.mutable_update_mask()->add_paths("signing_keys");
  ASSERT_TRUE(ApplyUpdateTenant(update, config).ok());
  const auto built = policy::CompiledPolicy::Build(config, 1);
  EXPECT_THAT(built, StatusIs(absl::StatusCode::kInvalidArgument,
                              "tenant \"acme\" signing_keys[0] (kid \"ec-2\"): "
                              "private_key_pem is required"));
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.status().message().find(
                "tenant \"acme\" signing_keys[0] (kid \"ec-2\"): private_key_pem is required"),
            std::string::npos)
      << built.status();
}

TEST_F(AdminSigningKeysTest, ImportOfARedactedExportKeepsTheStoredPem) {
  v1::PolicyConfig config;
  *config.add_tenants() = Tenant();
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = config;
  RedactSecrets(*import.mutable_policy()->mutable_tenants(0));  // ExportPolicy without secrets
  ASSERT_TRUE(import.policy().tenants(0).signing_keys(0).private_key_pem().empty());
  absl::StatusOr<v1::AuditEvent> e = ApplyImportPolicy(import, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(config.tenants(0).signing_keys(0).private_key_pem(), *pem_);
  EXPECT_FALSE(HasPem(e->after_json()));
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 1).ok());
}

TEST_F(AdminSigningKeysTest, TenantEtagChangesWhenOnlyThePemChanges) {
  v1::Tenant a = Tenant();
  v1::Tenant b = Tenant();
  b.mutable_signing_keys(0)->set_private_key_pem(
      testing::PrivateKeyPem(TestKey::Generate(jwt::KeyFamily::kEcP256)));
  EXPECT_NE(TenantEtag(a), TenantEtag(b));
}

// ---- Shared Signals stream authorization headers: secrets like the PEM ----

constexpr char kStreamSecret[] = "Bearer ssf-stream-secret-0123456789";

v1::Tenant WithStream(v1::Tenant t) {
  v1::SharedSignals* ssf = t.mutable_shared_signals();
  ssf->set_jwks_uri("https://acme.example.com/jwks");
  v1::SsfStream* st = ssf->add_streams();
  st->set_stream_id("siem");
  st->set_endpoint_url("https://siem.example.com/ssf");
  st->set_audience("https://siem.example.com/");
  st->set_authorization_header(kStreamSecret);
  st->set_signing_alg("ES256");
  st->add_events_requested(policy::kSessionRevokedEvent);
  return t;
}

TEST_F(AdminSigningKeysTest, StreamAuthorizationIsRedactedInViewsExportsAndTheAudit) {
  const v1::Tenant view = TenantView(WithStream(Tenant()));
  ASSERT_EQ(view.shared_signals().streams_size(), 1);
  EXPECT_EQ(view.shared_signals().streams(0).stream_id(), "siem");
  EXPECT_TRUE(view.shared_signals().streams(0).authorization_header().empty());
  v1::Tenant exported = WithStream(Tenant());
  RedactSecrets(exported);
  EXPECT_TRUE(exported.shared_signals().streams(0).authorization_header().empty());
  EXPECT_FALSE(TenantView(Tenant()).has_shared_signals()) << "no field appears from nothing";

  v1::PolicyConfig config;
  v1::CreateTenantRequest create;
  *create.mutable_tenant() = WithStream(Tenant());
  absl::StatusOr<v1::AuditEvent> e = ApplyCreateTenant(create, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->after_json().find("ssf-stream-secret"), std::string::npos) << e->after_json();
  EXPECT_NE(e->after_json().find("siem"), std::string::npos);
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 1).ok());
}

TEST_F(AdminSigningKeysTest, StreamAuthorizationIsKeptWhenARedactedReadIsWrittenBack) {
  v1::PolicyConfig config;
  *config.add_tenants() = WithStream(Tenant());
  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  *update.mutable_tenant_update() = TenantView(config.tenants(0));  // what GetTenant shows
  update.mutable_tenant_update()->mutable_shared_signals()->mutable_streams(0)->set_audience(
      "https://siem2.example.com/");
  update.mutable_update_mask()->add_paths("shared_signals");
  absl::StatusOr<v1::AuditEvent> e = ApplyUpdateTenant(update, config);
  ASSERT_TRUE(e.ok()) << e.status();
  const v1::SsfStream& st = config.tenants(0).shared_signals().streams(0);
  EXPECT_EQ(st.authorization_header(), kStreamSecret);
  EXPECT_EQ(st.audience(), "https://siem2.example.com/");
  EXPECT_EQ(e->before_json().find("ssf-stream-secret"), std::string::npos);
  EXPECT_EQ(e->after_json().find("ssf-stream-secret"), std::string::npos);

  // A redacted export imported back keeps it too; a new header replaces it.
  v1::ImportPolicyRequest import;
  import.set_force(true);
  *import.mutable_policy() = config;
  RedactSecrets(*import.mutable_policy()->mutable_tenants(0));
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).shared_signals().streams(0).authorization_header(), kStreamSecret);
  *import.mutable_policy() = config;
  import.mutable_policy()
      ->mutable_tenants(0)
      ->mutable_shared_signals()
      ->mutable_streams(0)
      ->set_authorization_header("Bearer rotated");
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).shared_signals().streams(0).authorization_header(), "Bearer rotated");

  // Pointed at another endpoint without a header, the stream does not take the secret along.
  v1::UpdateTenantRequest move;
  move.set_tenant("acme");
  *move.mutable_tenant_update() = TenantView(config.tenants(0));
  move.mutable_tenant_update()->mutable_shared_signals()->mutable_streams(0)->set_endpoint_url(
      "https://elsewhere.example.com/ssf");
  move.mutable_update_mask()->add_paths("shared_signals");
  ASSERT_TRUE(ApplyUpdateTenant(move, config).ok());
  EXPECT_EQ(config.tenants(0).shared_signals().streams(0).authorization_header(), "");
}

}  // namespace
}  // namespace logout::admin
