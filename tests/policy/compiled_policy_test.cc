#include "service/policy/compiled_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/policy_builder.h"
#include "tests/testing/status_matchers.h"

namespace logout::policy {
namespace {

using ::logout::testing::StatusIs;

struct BadPolicyCase {
  std::string name;
  std::string policy;
  std::string expected_message;  // substring
};

class BadPolicyTest : public ::testing::TestWithParam<BadPolicyCase> {};

TEST_P(BadPolicyTest, RefusedWholeNamingTheProblem) {
  auto compiled = testing::Compile(GetParam().policy);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(compiled.status().message().find(GetParam().expected_message), std::string::npos)
      << compiled.status();
}

INSTANTIATE_TEST_SUITE_P(
    Policies, BadPolicyTest,
    ::testing::ValuesIn(std::vector<BadPolicyCase>{
        {"BadClientEntryNamesTenantClientAndEntry",
         R"pb(tenants {
                name: "acme"
                clients {
                  client_id: "web"
                  allowed_logout_urls: "https://ok.example.com/"
                  allowed_logout_urls: "https://*.com"
                }
              })pb",
         "tenant \"acme\" client \"web\": allowed_logout_urls[1] \"https://*.com\": a wildcard "
         "needs at least two labels to its right"},
        {"BadTenantEntryNamesTenantAndEntry",
         R"pb(tenants { name: "acme" allowed_logout_urls: "*.example.com" })pb",
         "tenant \"acme\": allowed_logout_urls[0] \"*.example.com\": not an absolute URL"},
        {"DuplicateTenant", R"pb(tenants { name: "a" }
                                 tenants { name: "a" })pb",
         "tenant \"a\": duplicate name"},
        {"DuplicateClient", R"pb(tenants {
                                   name: "a"
                                   clients { client_id: "c" }
                                   clients { client_id: "c" }
                                 })pb",
         "client \"c\": duplicate client_id"},
        {"EmptyTenantName", R"pb(tenants { name: "" })pb", "name must be"},
        {"EmptyClientId", R"pb(tenants {
                                 name: "a"
                                 clients {}
                               })pb",
         "client_id must be"},
        {"BadLocale", R"pb(tenants { name: "a" enabled_locales: "en US" })pb",
         "enabled_locales[0] \"en US\""},
        {"BadIssuer", R"pb(tenants { name: "a" issuer: "not a url" })pb", "issuer"},
        {"StrictTenantRefusesWildcards", R"pb(tenants {
                                                name: "a"
                                                oidc_profile: OIDC_PROFILE_STRICT
                                                allowed_logout_urls: "https://*.example.com/"
                                              })pb",
         "STRICT profile"},
        {"ExactTenantRefusesWildcards",
         R"pb(tenants {
                name: "a"
                redirect_matching: REDIRECT_MATCHING_EXACT
                clients { client_id: "c" allowed_logout_urls: "https://*.example.com/" }
              })pb",
         "client \"c\": allowed_logout_urls[0]"},
        {"UnknownIdTokenAlg", R"pb(tenants {
                                     name: "a"
                                     clients { client_id: "c" id_token_signed_response_alg: "none" }
                                   })pb",
         "client \"c\": id_token_signed_response_alg \"none\" is not accepted"},
        {"ShortHmacSecret", R"pb(tenants {
                                   name: "a"
                                   clients {
                                     client_id: "c"
                                     id_token_signed_response_alg: "HS384"
                                     client_secret: "0123456789abcdef0123456789abcdef"
                                   }
                                 })pb",
         "client_secret must be at least 48 bytes for HS384"},
        {"MissingHmacSecret",
         R"pb(tenants {
                name: "a"
                clients { client_id: "c" id_token_signed_response_alg: "HS256" }
              })pb",
         "client_secret must be at least 32 bytes"},
        {"MalformedJwk", R"pb(tenants {
                                name: "a"
                                jwks { keys { kty: "RSA" kid: "k1" n: "AQAB" e: "AQAB" } }
                              })pb",
         "tenant \"a\": jwks.keys[0] (kid \"k1\"): RSA modulus has 17 bits"},
        {"ClockSkewTooLarge", R"pb(tenants {
                                     name: "a"
                                     clock_skew { seconds: 3600 }
                                   })pb",
         "clock_skew must be at most 10m"},
        {"NegativeMaxHintAge", R"pb(tenants {
                                      name: "a"
                                      max_hint_age { seconds: -1 }
                                    })pb",
         "max_hint_age must be a non-negative duration"},
        {"UnknownFieldInText", R"pb(tenants { name: "a" bogus: 1 })pb", "bogus"},
        {"UnknownFieldInJson", R"({"tenants": [{"name": "a", "bogus": 1}]})", "bogus"},
    }),
    [](const ::testing::TestParamInfo<BadPolicyCase>& info) { return info.param.name; });

TEST(CompiledPolicyTest, LoadsJsonMapping) {
  auto compiled = testing::Compile(R"({
    "tenants": [{
      "name": "acme",
      "allowedLogoutUrls": ["https://acme.example.com/"],
      "redirect_matching": "REDIRECT_MATCHING_EXACT",
      "promptEnabled": false,
      "clients": [{"clientId": "web", "allowed_logout_urls": ["https://app.example.com/"]}]
    }]})",
                                   3);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const CompiledTenant* t = (*compiled)->FindTenant("acme");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->redirect_matching, v1::REDIRECT_MATCHING_EXACT);
  EXPECT_FALSE(t->prompt_enabled);
  ASSERT_NE(t->FindClient("web"), nullptr);
  EXPECT_EQ(t->FindClient("web")->allowed_logout_urls->size(), 1u);
  EXPECT_EQ((*compiled)->version(), 3u);
}

TEST(CompiledPolicyTest, JsonKeysUseRfc7517Names) {
  // n = 2048-bit all-ones modulus is not a real key, but the JSON shape must map; the error
  // proves the members reached the key parser.
  auto compiled = testing::Compile(R"({"tenants": [{"name": "a",
      "jwks": {"keys": [{"kty": "EC", "kid": "k1", "crv": "P-256", "x": "AA", "y": "AA", "use": "sig", "alg": "ES256"}]},
      "maxHintAge": "3600s", "clockSkew": "30s",
      "clients": [{"clientId": "c", "id_token_signed_response_alg": "ES256",
                   "client_secret_expires_at": "2030-01-01T00:00:00Z"}]}]})");
  EXPECT_THAT(compiled, StatusIs(absl::StatusCode::kInvalidArgument,
                                 "jwks.keys[0] (kid \"k1\"): \"x\" and \"y\" must be 32 bytes"));
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find(
                "jwks.keys[0] (kid \"k1\"): \"x\" and \"y\" must be 32 bytes"),
            std::string::npos)
      << compiled.status();
}

TEST(CompiledPolicyTest, PromptEnabledDefaultsToTrue) {
  auto compiled = testing::Compile(R"pb(tenants { name: "a" })pb");
  ASSERT_TRUE(compiled.ok());
  EXPECT_TRUE((*compiled)->FindTenant("a")->prompt_enabled);
}

}  // namespace
}  // namespace logout::policy

namespace logout::policy {
namespace {

v1::Tenant NamedTenant(const std::string& name) {
  v1::Tenant t;
  t.set_name(name);
  t.add_allowed_logout_urls("https://" + name + ".example.com/bye");
  return t;
}

std::shared_ptr<const CompiledTenant> Compiled(const std::string& name) {
  absl::StatusOr<std::shared_ptr<const CompiledTenant>> t =
      CompiledPolicy::CompileTenant(NamedTenant(name));
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

TEST(CompiledPolicyChangesTest, ChangesShareUntouchedTenantsAndNeverGoBackInRevision) {
  v1::PolicyConfig config;
  *config.add_tenants() = NamedTenant("a");
  *config.add_tenants() = NamedTenant("b");
  absl::StatusOr<std::shared_ptr<const CompiledPolicy>> base = CompiledPolicy::Build(config, 5);
  ASSERT_TRUE(base.ok()) << base.status();
  const std::shared_ptr<const CompiledPolicy> deleted =
      CompiledPolicy::WithChanges(base->get(), {{"a", nullptr, 6}}, 6);
  EXPECT_EQ(deleted->FindTenant("a"), nullptr);
  EXPECT_EQ(deleted->FindTenant("b"), (*base)->FindTenant("b")) << "shared, not copied";
  EXPECT_EQ(deleted->tenant_count(), 1u);
  EXPECT_EQ(deleted->version(), 6u);
  // An older write of "a" arriving late (a slow writer's install) does not bring it back.
  const std::shared_ptr<const CompiledPolicy> late =
      CompiledPolicy::WithChanges(deleted.get(), {{"a", Compiled("a"), 5}}, 5);
  EXPECT_EQ(late->FindTenant("a"), nullptr);
  EXPECT_EQ(late->version(), 6u);
  // A newer one does.
  const std::shared_ptr<const CompiledPolicy> recreated =
      CompiledPolicy::WithChanges(late.get(), {{"a", Compiled("a"), 7}}, 7);
  ASSERT_NE(recreated->FindTenant("a"), nullptr);
  EXPECT_EQ(recreated->TenantRevision("a"), 7u);
  EXPECT_EQ(recreated->TenantNames(), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(recreated->TenantSource("a").has_value());
  EXPECT_EQ(recreated->TenantSource("a")->allowed_logout_urls(0), "https://a.example.com/bye");
}

TEST(CompiledPolicyChangesTest, AFullReloadKeepsNewerLocalWritesAndRefusesOlderOnes) {
  // The live snapshot holds "c", written here at revision 9, after the reload's revision 7.
  const std::shared_ptr<const CompiledPolicy> live =
      CompiledPolicy::WithChanges(nullptr, {{"c", Compiled("c"), 9}}, 9);
  v1::PolicyConfig loaded;
  *loaded.add_tenants() = NamedTenant("b");  // at revision 7 the store holds only "b"
  absl::StatusOr<std::unique_ptr<CompiledPolicy>> full = CompiledPolicy::BuildUnversioned(loaded);
  ASSERT_TRUE(full.ok()) << full.status();
  const std::shared_ptr<const CompiledPolicy> rebased =
      CompiledPolicy::Rebase(*std::move(full), 7, live.get());
  EXPECT_NE(rebased->FindTenant("b"), nullptr);
  EXPECT_NE(rebased->FindTenant("c"), nullptr) << "the newer local write is kept";
  EXPECT_EQ(rebased->version(), 9u);
  // A write of "a" at revision 6 installed late: the load at 7 saw "a" gone, so it stays gone.
  EXPECT_EQ(
      CompiledPolicy::WithChanges(rebased.get(), {{"a", Compiled("a"), 6}}, 6)->FindTenant("a"),
      nullptr);
  EXPECT_NE(
      CompiledPolicy::WithChanges(rebased.get(), {{"a", Compiled("a"), 8}}, 8)->FindTenant("a"),
      nullptr);
}

}  // namespace
}  // namespace logout::policy
