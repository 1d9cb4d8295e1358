// BuildFederatedLogoutUrl through the policy: connection lookup, the return URL validated by the
// same allow-list rules as ValidateLogout, and the precedence/strategy outcome passed through.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/policy/engine.h"
#include "tests/testing/policy_builder.h"
#include "tests/testing/status_matchers.h"

namespace logout::policy {
namespace {

using ::logout::testing::StatusIs;

constexpr char kPolicy[] = R"pb(
  tenants {
    name: "acme"
    allowed_logout_urls: "https://acme.example.com/logged-out"
    clients { client_id: "web" allowed_logout_urls: "https://app.example.com/bye" }
    connections {
      name: "corp-oidc"
      strategy: "oidc"
      logout {
        end_session_endpoint: "https://idp.corp.example/logout?tenant=acme"
        send_id_token_hint: true
        upstream_client_id: "acme-at-corp"
      }
    }
    connections {
      name: "templated"
      strategy: "oauth2"
      logout {
        logout_url_template: "https://idp.example.com/v2/logout{?returnTo,client_id}"
        logout_url: "https://ignored.example.com/logout"
      }
    }
    connections { name: "google" strategy: "google-oauth2" }
  }
)pb";

struct Case {
  std::string name;
  std::string connection;
  std::string client_id;
  std::string return_to;
  v1::Decision decision;
  v1::Reason reason;
  std::string url;
  v1::FederatedUrlSource source;
  bool supported;
};

class FederatedEngineTest : public ::testing::TestWithParam<Case> {};

TEST_P(FederatedEngineTest, Builds) {
  const Case& c = GetParam();
  auto policy = testing::CompileOrDie(kPolicy);
  ASSERT_NE(policy, nullptr);
  v1::BuildFederatedLogoutUrlRequest req;
  req.set_tenant("acme");
  req.set_connection(c.connection);
  req.set_client_id(c.client_id);
  req.set_return_to(c.return_to);
  req.set_upstream_id_token("upstream.id.token");
  v1::BuildFederatedLogoutUrlResponse resp;
  ASSERT_TRUE(BuildFederatedLogout(*policy, req, &resp).ok());
  EXPECT_EQ(resp.decision(), c.decision) << resp.DebugString();
  EXPECT_EQ(resp.reason(), c.reason);
  EXPECT_EQ(resp.url(), c.url);
  if (c.decision == v1::DECISION_ALLOW) {
    EXPECT_EQ(resp.source(), c.source);
    EXPECT_EQ(resp.supported(), c.supported);
  }
}

constexpr auto kAllow = v1::DECISION_ALLOW;
constexpr auto kDeny = v1::DECISION_DENY;
constexpr auto kNone = v1::REASON_UNSPECIFIED;

INSTANTIATE_TEST_SUITE_P(
    Connections, FederatedEngineTest,
    ::testing::ValuesIn(std::vector<Case>{
        {"OidcDefaultWithValidatedReturn", "corp-oidc", "", "HTTPS://ACME.example.com/logged-out",
         kAllow, kNone,
         "https://idp.corp.example/logout?tenant=acme&id_token_hint=upstream.id.token"
         "&post_logout_redirect_uri=https%3A%2F%2Facme.example.com%2Flogged-out",
         v1::FEDERATED_URL_SOURCE_PROVIDER_DEFAULT, true},
        {"ReturnToCheckedAgainstClientList", "corp-oidc", "web", "https://app.example.com/bye",
         kAllow, kNone,
         "https://idp.corp.example/logout?tenant=acme&id_token_hint=upstream.id.token"
         "&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye",
         v1::FEDERATED_URL_SOURCE_PROVIDER_DEFAULT, true},
        {"ClientDoesNotFallBackToTenantList", "corp-oidc", "web",
         "https://acme.example.com/logged-out", kDeny, v1::REASON_TARGET_NOT_ALLOWED, "",
         v1::FEDERATED_URL_SOURCE_UNSPECIFIED, false},
        {"UnregisteredReturnToDenied", "corp-oidc", "", "https://evil.example.net/", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, "", v1::FEDERATED_URL_SOURCE_UNSPECIFIED, false},
        {"UserinfoReturnToDenied", "corp-oidc", "", "https://acme.example.com@evil.net/", kDeny,
         v1::REASON_TARGET_HAS_USERINFO, "", v1::FEDERATED_URL_SOURCE_UNSPECIFIED, false},
        {"UnknownClientDenied", "corp-oidc", "nope", "", kDeny, v1::REASON_UNKNOWN_CLIENT, "",
         v1::FEDERATED_URL_SOURCE_UNSPECIFIED, false},
        {"TemplateBeatsStatic", "templated", "web", "https://app.example.com/bye", kAllow, kNone,
         "https://idp.example.com/v2/"
         "logout?returnTo=https%3A%2F%2Fapp.example.com%2Fbye&client_id=web",
         v1::FEDERATED_URL_SOURCE_TEMPLATE, true},
        {"GoogleWarnsUpstreamMayNotReturn", "google", "", "https://acme.example.com/logged-out",
         kAllow, kNone, "", v1::FEDERATED_URL_SOURCE_PROVIDER_DEFAULT, true},
    }),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(FederatedEngineStatusTest, UnknownConnectionAndTenant) {
  auto policy = testing::CompileOrDie(kPolicy);
  v1::BuildFederatedLogoutUrlRequest req;
  req.set_tenant("acme");
  req.set_connection("nope");
  v1::BuildFederatedLogoutUrlResponse resp;
  EXPECT_EQ(BuildFederatedLogout(*policy, req, &resp).code(), absl::StatusCode::kNotFound);
  req.set_tenant("nope");
  req.set_connection("corp-oidc");
  EXPECT_EQ(BuildFederatedLogout(*policy, req, &resp).code(), absl::StatusCode::kNotFound);
  req.clear_connection();
  EXPECT_EQ(BuildFederatedLogout(*policy, req, &resp).code(), absl::StatusCode::kInvalidArgument);
}

TEST(FederatedEngineStatusTest, InvalidConnectionRefusesThePolicy) {
  auto compiled =
      testing::Compile(R"pb(tenants {
                              name: "acme"
                              connections {
                                name: "bad"
                                strategy: "oidc"
                                logout { end_session_endpoint: "http://idp.example.com/logout" }
                              }
                            })pb");
  EXPECT_THAT(compiled,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "tenant \"acme\": connection \"bad\": logout.end_session_endpoint"));
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find(
                "tenant \"acme\": connection \"bad\": logout.end_session_endpoint"),
            std::string::npos)
      << compiled.status();
}

}  // namespace
}  // namespace logout::policy
