// Client secrets are secrets in the admin API: redacted in views, the audit trail and exports,
// and kept when a redacted export is imported back. Clearing one is always explicit: an
// UpdateClient whose update_mask names client_secret, or an ImportPolicy whose
// clear_client_fields names it.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/admin/admin_mutations.h"
#include "service/policy/compiled_policy.h"
#include "tests/testing/status_matchers.h"

namespace logout::admin {
namespace {

using ::logout::testing::StatusIs;

constexpr char kSecret[] = "hs256-secret-0123456789abcdef-0123456789";  // >= 32 bytes
constexpr char kOtherSecret[] = "another-secret-0123456789abcdef-01234567";
constexpr int64_t kExpiry = 4102444800;  // 2100-01-01

v1::Client HsClient(const std::string& id) {
  v1::Client c;
  c.set_client_id(id);
  c.add_allowed_logout_urls("https://" + id + ".example.com/bye");
  c.set_id_token_signed_response_alg("HS256");
  c.set_client_secret(kSecret);
  c.mutable_client_secret_expires_at()->set_seconds(kExpiry);
  return c;
}

v1::PolicyConfig Config() {
  v1::PolicyConfig config;
  v1::Tenant* t = config.add_tenants();
  t->set_name("acme");
  t->set_issuer("https://acme.example.com/");
  *t->add_clients() = HsClient("hs-app");
  v1::Client* rs = t->add_clients();
  rs->set_client_id("rs-app");
  rs->add_allowed_logout_urls("https://rs-app.example.com/bye");
  rs->set_client_secret(kOtherSecret);  // unused by RS256 hints, still a secret
  return config;
}

// What ExportPolicy answers without include_secrets.
v1::ImportPolicyRequest RedactedExportOf(const v1::PolicyConfig& config) {
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = config;
  for (v1::Tenant& t : *import.mutable_policy()->mutable_tenants()) RedactSecrets(t);
  return import;
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(AdminClientSecretsTest, ImportOfARedactedExportKeepsTheStoredSecretAndExpiry) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  ASSERT_TRUE(import.policy().tenants(0).clients(0).client_secret().empty());
  ASSERT_TRUE(import.policy().tenants(0).clients(1).client_secret().empty());
  // The export shows the expiry (it is not a secret).
  ASSERT_EQ(import.policy().tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry);
  absl::StatusOr<v1::AuditEvent> e = ApplyImportPolicy(import, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry);
  EXPECT_EQ(config.tenants(0).clients(1).client_secret(), kOtherSecret);
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 2).ok());
  EXPECT_FALSE(Contains(e->after_json(), kSecret));
  EXPECT_FALSE(Contains(e->after_json(), kOtherSecret));
}

TEST(AdminClientSecretsTest, ImportOfAnEditedExportKeepsTheSecretAndTakesTheEdits) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  v1::Client* c = import.mutable_policy()->mutable_tenants(0)->mutable_clients(0);
  c->add_allowed_logout_urls("https://hs-app.example.com/other");
  c->set_name("renamed");
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  const v1::Client& stored = config.tenants(0).clients(0);
  EXPECT_EQ(stored.client_secret(), kSecret);
  EXPECT_EQ(stored.name(), "renamed");
  ASSERT_EQ(stored.allowed_logout_urls_size(), 2);
  EXPECT_EQ(stored.allowed_logout_urls(1), "https://hs-app.example.com/other");
}

TEST(AdminClientSecretsTest, KeptSecretKeepsItsExpiryWhenTheImportHasNone) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  // A tool that does not know client_secret_expires_at drops it: the kept secret must not
  // become one that never expires.
  import.mutable_policy()->mutable_tenants(0)->mutable_clients(0)->clear_client_secret_expires_at();
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry);
}

TEST(AdminClientSecretsTest, ImportedExpiryReplacesTheStoredOneOfAKeptSecret) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  import.mutable_policy()
      ->mutable_tenants(0)
      ->mutable_clients(0)
      ->mutable_client_secret_expires_at()
      ->set_seconds(kExpiry - 86400);
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry - 86400);
}

TEST(AdminClientSecretsTest, ImportedSecretReplacesTheStoredOne) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  v1::Client* c = import.mutable_policy()->mutable_tenants(0)->mutable_clients(0);
  c->set_client_secret(kOtherSecret);
  c->clear_client_secret_expires_at();
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kOtherSecret);
  // A new secret comes with the document's expiry (none here), not the old secret's.
  EXPECT_FALSE(config.tenants(0).clients(0).has_client_secret_expires_at());
}

TEST(AdminClientSecretsTest, NewHsClientWithoutSecretIsRefusedByTheCompiler) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  v1::Client fresh = HsClient("new-app");
  fresh.clear_client_secret();
  *import.mutable_policy()->mutable_tenants(0)->add_clients() = fresh;
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_TRUE(config.tenants(0).clients(2).client_secret().empty());
  const auto built = policy::CompiledPolicy::Build(config, 2);
  ASSERT_THAT(built, StatusIs(absl::StatusCode::kInvalidArgument, "new-app"));
  EXPECT_TRUE(Contains(std::string(built.status().message()),
                       "client_secret must be at least 32 bytes for HS256"))
      << built.status();
}

TEST(AdminClientSecretsTest, SecretIsNotCarriedToAClientOfAnotherTenant) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  v1::Tenant* other = import.mutable_policy()->add_tenants();
  other->set_name("other");
  v1::Client moved = HsClient("hs-app");  // same client_id, different tenant
  moved.clear_client_secret();
  moved.set_id_token_signed_response_alg("");
  *other->add_clients() = moved;
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  ASSERT_EQ(config.tenants_size(), 2);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
  EXPECT_TRUE(config.tenants(1).clients(0).client_secret().empty());
}

TEST(AdminClientSecretsTest, ClearClientFieldsTakesSecretsFromTheDocumentAsTheyAre) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  import.mutable_clear_client_fields()->add_paths("client_secret");
  // The HS256 client keeps an explicit new secret; the RS256 one loses its secret.
  import.mutable_policy()->mutable_tenants(0)->mutable_clients(0)->set_client_secret(kOtherSecret);
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kOtherSecret);
  EXPECT_TRUE(config.tenants(0).clients(1).client_secret().empty());
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 2).ok());
}

TEST(AdminClientSecretsTest, ClearClientFieldsOnAnHsClientWithoutSecretIsRefusedByTheCompiler) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  import.mutable_clear_client_fields()->add_paths("client_secret");
  ASSERT_TRUE(ApplyImportPolicy(import, config).ok());
  EXPECT_TRUE(config.tenants(0).clients(0).client_secret().empty());
  const auto built = policy::CompiledPolicy::Build(config, 2);
  EXPECT_THAT(built,
              StatusIs(absl::StatusCode::kInvalidArgument, "client_secret must be at least"));
}

TEST(AdminClientSecretsTest, ClearClientFieldsRefusesOtherPaths) {
  v1::PolicyConfig config = Config();
  v1::ImportPolicyRequest import = RedactedExportOf(config);
  import.mutable_clear_client_fields()->add_paths("name");
  absl::StatusOr<v1::AuditEvent> e = ApplyImportPolicy(import, config);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "clear_client_fields path \"name\" must be \"client_secret\"");
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);  // untouched
}

TEST(AdminClientSecretsTest, UpdateClientWithoutMaskIsRefusedAndKeepsTheSecret) {
  v1::PolicyConfig config = Config();
  v1::UpdateClientRequest update;
  update.set_tenant("acme");
  update.set_client_id("hs-app");
  *update.mutable_client() = ClientView(config.tenants(0).clients(0));  // what GetClient shows
  absl::StatusOr<v1::AuditEvent> e = ApplyUpdateClient(update, config);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "update_mask must name the fields to change");
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
}

TEST(AdminClientSecretsTest, UpdateClientWriteBackOfARedactedReadKeepsTheSecret) {
  v1::PolicyConfig config = Config();
  v1::UpdateClientRequest update;
  update.set_tenant("acme");
  update.set_client_id("hs-app");
  *update.mutable_client() = ClientView(config.tenants(0).clients(0));
  update.mutable_client()->set_name("Acme HS app");
  for (const char* path : {"allowed_logout_urls", "name", "id_token_signed_response_alg",
                           "client_secret_expires_at"}) {
    update.mutable_update_mask()->add_paths(path);
  }
  absl::StatusOr<v1::AuditEvent> e = ApplyUpdateClient(update, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry);
  EXPECT_EQ(config.tenants(0).clients(0).name(), "Acme HS app");
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 2).ok());
}

TEST(AdminClientSecretsTest, UpdateClientMaskNamingClientSecretWithEmptyValueClearsIt) {
  v1::PolicyConfig config = Config();
  v1::UpdateClientRequest update;
  update.set_tenant("acme");
  update.set_client_id("rs-app");
  update.mutable_update_mask()->add_paths("client_secret");
  ASSERT_TRUE(ApplyUpdateClient(update, config).ok());
  EXPECT_TRUE(config.tenants(0).clients(1).client_secret().empty());
  EXPECT_TRUE(policy::CompiledPolicy::Build(config, 2).ok());

  // On an HS256 client the same write leaves a policy the compiler refuses (so PolicyWriter
  // refuses the write whole).
  update.set_client_id("hs-app");
  ASSERT_TRUE(ApplyUpdateClient(update, config).ok());
  EXPECT_TRUE(config.tenants(0).clients(0).client_secret().empty());
  EXPECT_THAT(policy::CompiledPolicy::Build(config, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, "client_secret"));
}

TEST(AdminClientSecretsTest, UpdateClientMaskNamingClientSecretSetsANewOne) {
  v1::PolicyConfig config = Config();
  v1::UpdateClientRequest update;
  update.set_tenant("acme");
  update.set_client_id("hs-app");
  update.mutable_client()->set_client_secret(kOtherSecret);
  update.mutable_update_mask()->add_paths("client_secret");
  absl::StatusOr<v1::AuditEvent> e = ApplyUpdateClient(update, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kOtherSecret);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret_expires_at().seconds(), kExpiry);
  EXPECT_FALSE(Contains(e->before_json(), kSecret));
  EXPECT_FALSE(Contains(e->after_json(), kOtherSecret));
}

TEST(AdminClientSecretsTest, UpdateTenantCannotWriteClients) {
  v1::PolicyConfig config = Config();
  v1::UpdateTenantRequest update;
  update.set_tenant("acme");
  v1::Client c = HsClient("hs-app");
  c.clear_client_secret();
  *update.mutable_tenant_update()->add_clients() = c;
  update.mutable_update_mask()->add_paths("clients");
  absl::StatusOr<v1::AuditEvent> e = ApplyUpdateTenant(update, config);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), kSecret);
}

TEST(AdminClientSecretsTest, AuditEventsNeverContainTheSecret) {
  v1::PolicyConfig config;
  v1::CreateTenantRequest create_tenant;
  *create_tenant.mutable_tenant() = Config().tenants(0);
  absl::StatusOr<v1::AuditEvent> e = ApplyCreateTenant(create_tenant, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(Contains(e->after_json(), "hs-app"));
  EXPECT_FALSE(Contains(e->after_json(), kSecret)) << e->after_json();
  EXPECT_FALSE(Contains(e->after_json(), kOtherSecret)) << e->after_json();

  v1::CreateClientRequest create;
  create.set_tenant("acme");
  *create.mutable_client() = HsClient("second");
  e = ApplyCreateClient(create, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(Contains(e->after_json(), "second"));
  EXPECT_FALSE(Contains(e->after_json(), kSecret)) << e->after_json();

  v1::UpdateClientRequest update;
  update.set_tenant("acme");
  update.set_client_id("second");
  update.mutable_client()->set_name("n");
  update.mutable_update_mask()->add_paths("name");
  e = ApplyUpdateClient(update, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(Contains(e->before_json(), kSecret));
  EXPECT_FALSE(Contains(e->after_json(), kSecret));

  v1::ImportPolicyRequest import;

  import.set_force(true);  // these tests replace policies unguarded

  import.set_allow_deletions(true);
  *import.mutable_policy() = config;  // with secrets (an export with include_secrets)
  e = ApplyImportPolicy(import, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(Contains(e->after_json(), kSecret)) << e->after_json();

  v1::DeleteClientRequest del;
  del.set_tenant("acme");
  del.set_client_id("second");
  e = ApplyDeleteClient(del, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(Contains(e->before_json(), "second"));
  EXPECT_FALSE(Contains(e->before_json(), kSecret));

  v1::DeleteTenantRequest del_tenant;
  del_tenant.set_tenant("acme");
  e = ApplyDeleteTenant(del_tenant, config);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(Contains(e->before_json(), kSecret));
}

TEST(AdminClientSecretsTest, KeepStoredClientSecretsLeavesAGivenSecretAndUnknownClients) {
  v1::Tenant stored = Config().tenants(0);
  v1::Tenant incoming = stored;
  incoming.mutable_clients(0)->set_client_secret(kOtherSecret);
  incoming.mutable_clients(1)->clear_client_secret();
  incoming.mutable_clients(1)->set_client_id("unknown");
  KeepStoredClientSecrets(stored, incoming);
  EXPECT_EQ(incoming.clients(0).client_secret(), kOtherSecret);
  EXPECT_TRUE(incoming.clients(1).client_secret().empty());
}

}  // namespace
}  // namespace logout::admin
