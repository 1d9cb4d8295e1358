// The admin writes as pure functions over a policy document.
#include "service/admin/admin_mutations.h"

#include <string>

#include "gtest/gtest.h"
#include "service/store/policy_file.h"

namespace logout::admin {
namespace {

v1::PolicyConfig Policy() {
  return *store::ParsePolicyText(R"pb(
    tenants {
      name: "acme"
      issuer: "https://acme.example.com/"
      clients {
        client_id: "web"
        allowed_logout_urls: "https://web.example.com/"
        client_secret: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-0123"
      }
      connections {
        name: "corp"
        strategy: "oidc"
        logout { logout_url: "https://idp.example.com/logout" }
        options {
          fields {
            key: "scope"
            value { string_value: "openid" }
          }
          fields {
            key: "client_secret"
            value { string_value: "upstream-secret-value" }
          }
        }
      }
    }
  )pb");
}

TEST(AdminMutationsTest, CreateExistingIsAlreadyExists) {
  v1::PolicyConfig config = Policy();
  v1::CreateClientRequest r;
  r.set_tenant("acme");
  r.mutable_client()->set_client_id("web");
  EXPECT_EQ(ApplyCreateClient(r, config).status().code(), absl::StatusCode::kAlreadyExists);
  v1::CreateTenantRequest t;
  t.mutable_tenant()->set_name("acme");
  EXPECT_EQ(ApplyCreateTenant(t, config).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(AdminMutationsTest, StaleEtagIsAbortedAndChangesNothing) {
  v1::PolicyConfig config = Policy();
  const std::string before = config.SerializeAsString();
  v1::UpdateClientRequest r;
  r.set_tenant("acme");
  r.set_client_id("web");
  r.set_etag("not-the-etag");
  r.mutable_update_mask()->add_paths("allowed_logout_urls");
  EXPECT_EQ(ApplyUpdateClient(r, config).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(config.SerializeAsString(), before);
  r.set_etag(ClientEtag(config.tenants(0).clients(0)));
  r.mutable_client()->add_allowed_logout_urls("https://other.example.com/");
  ASSERT_TRUE(ApplyUpdateClient(r, config).ok());
  EXPECT_EQ(config.tenants(0).clients(0).allowed_logout_urls(0), "https://other.example.com/");
  EXPECT_EQ(config.tenants(0).clients(0).client_secret(), "s3cr3t-s3cr3t-s3cr3t-s3cr3t-0123");
}

TEST(AdminMutationsTest, ForbiddenAndUnknownMaskPathsAreNamed) {
  v1::PolicyConfig config = Policy();
  v1::UpdateTenantRequest r;
  r.set_tenant("acme");
  r.mutable_update_mask()->add_paths("clients");
  absl::Status s = ApplyUpdateTenant(r, config).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"clients\" cannot be changed here"), std::string::npos) << s;
  r.mutable_update_mask()->set_paths(0, "isuer");
  s = ApplyUpdateTenant(r, config).status();
  EXPECT_NE(s.message().find("\"isuer\" is not a field of Tenant"), std::string::npos) << s;
  r.clear_update_mask();
  EXPECT_NE(ApplyUpdateTenant(r, config).status().message().find("update_mask must name"),
            std::string::npos);
}

TEST(AdminMutationsTest, TenantEtagIgnoresClients) {
  v1::PolicyConfig config = Policy();
  const std::string etag = TenantEtag(config.tenants(0));
  config.mutable_tenants(0)->mutable_clients(0)->add_allowed_logout_urls("https://x.example.com/");
  EXPECT_EQ(TenantEtag(config.tenants(0)), etag);
  config.mutable_tenants(0)->set_issuer("https://other.example.com/");
  EXPECT_NE(TenantEtag(config.tenants(0)), etag);
}

TEST(AdminMutationsTest, OneOptionKeyChangesTheRestStays) {
  v1::PolicyConfig config = Policy();
  v1::UpdateConnectionRequest r;
  r.set_tenant("acme");
  r.set_connection_name("corp");
  (*r.mutable_connection()->mutable_options()->mutable_fields())["scope"].set_string_value(
      "openid email");
  r.mutable_update_mask()->add_paths("options.scope");
  r.mutable_update_mask()->add_paths("options.gone");  // absent in the request: removed
  ASSERT_TRUE(ApplyUpdateConnection(r, config).ok());
  const auto& fields = config.tenants(0).connections(0).options().fields();
  EXPECT_EQ(fields.at("scope").string_value(), "openid email");
  EXPECT_EQ(fields.at("client_secret").string_value(), "upstream-secret-value");
  EXPECT_EQ(config.tenants(0).connections(0).logout().logout_url(),
            "https://idp.example.com/logout");
}

TEST(AdminMutationsTest, AuditNeverContainsSecrets) {
  v1::PolicyConfig config = Policy();
  v1::UpdateConnectionLogoutRequest r;
  r.set_tenant("acme");
  r.set_connection("corp");
  r.mutable_logout()->set_send_client_id(true);
  r.mutable_update_mask()->add_paths("send_client_id");
  auto event = ApplyUpdateConnectionLogout(r, config);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->before_json().find("upstream-secret-value"), std::string::npos);
  EXPECT_EQ(event->after_json().find("upstream-secret-value"), std::string::npos);
  EXPECT_NE(event->after_json().find("redacted"), std::string::npos);  // "<" is JSON-escaped
  v1::UpdateClientRequest c;
  c.set_tenant("acme");
  c.set_client_id("web");
  c.mutable_client()->set_name("Web");
  c.mutable_update_mask()->add_paths("name");
  auto client_event = ApplyUpdateClient(c, config);
  ASSERT_TRUE(client_event.ok());
  EXPECT_EQ(client_event->before_json().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(client_event->after_json().find("s3cr3t"), std::string::npos);
}

TEST(AdminMutationsTest, DeleteRemovesOnlyThatObject) {
  v1::PolicyConfig config = Policy();
  v1::DeleteConnectionRequest r;
  r.set_tenant("acme");
  r.set_connection("corp");
  ASSERT_TRUE(ApplyDeleteConnection(r, config).ok());
  EXPECT_EQ(config.tenants(0).connections_size(), 0);
  EXPECT_EQ(config.tenants(0).clients_size(), 1);
  EXPECT_EQ(ApplyDeleteConnection(r, config).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace logout::admin
