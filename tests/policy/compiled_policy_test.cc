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
