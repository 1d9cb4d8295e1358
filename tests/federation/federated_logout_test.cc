// Tests for service/federation/federated_logout: golden URLs per strategy, precedence (template,
// then static logout_url, then the strategy default), translations of Auth0 getLogoutUrl
// scripts, hostile values that must never change the host or add parameters, and the few
// request-time errors.
#include "service/federation/federated_logout.h"

#include <cstddef>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "logout/v1/logout.pb.h"
#include "logout/v1/policy.pb.h"
#include "service/federation/connection.h"
#include "service/url/url.h"

namespace logout::federation {
namespace {

using Warnings = std::vector<v1::FederatedWarning>;

constexpr v1::FederatedUrlSource kTemplate = v1::FEDERATED_URL_SOURCE_TEMPLATE;
constexpr v1::FederatedUrlSource kStatic = v1::FEDERATED_URL_SOURCE_STATIC;
constexpr v1::FederatedUrlSource kDefault = v1::FEDERATED_URL_SOURCE_PROVIDER_DEFAULT;
constexpr v1::FederatedWarning kMayNotReturn = v1::FEDERATED_WARNING_UPSTREAM_MAY_NOT_RETURN;

constexpr char kReturnTo[] = "https://app.example.com/bye";
constexpr char kReturnToEncoded[] = "https%3A%2F%2Fapp.example.com%2Fbye";
constexpr char kIdToken[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_";
constexpr char kAccessToken[] = "EAAB+tok/en=";
constexpr char kAccessTokenEncoded[] = "EAAB%2Btok%2Fen%3D";

// Request holds a request's values; Input() lends them to the function under test.
struct Request {
  std::string return_to = {};
  std::string client_id = {};
  std::string state = {};
  std::string id_token = {};
  std::string access_token = {};
  std::vector<std::pair<std::string, std::string>> query = {};
};

class BoundInput {
 public:
  explicit BoundInput(const Request& r) {
    for (const auto& [k, v] : r.query) query_[k] = v;
    input_.return_to = r.return_to;
    input_.client_id = r.client_id;
    input_.state = r.state;
    input_.upstream_id_token = r.id_token;
    input_.upstream_access_token = r.access_token;
    input_.query = &query_;
  }
  const FederatedLogoutInput& get() const { return input_; }

 private:
  google::protobuf::Map<std::string, std::string> query_;
  FederatedLogoutInput input_;
};

absl::StatusOr<CompiledConnection> Compile(const std::string& text) {
  v1::Connection c;
  if (!google::protobuf::TextFormat::ParseFromString(text, &c)) {
    return absl::InvalidArgumentError("bad text proto in the test");
  }
  return CompiledConnection::Compile(c, {});
}

struct Expected {
  std::string url;
  v1::FederatedUrlSource source;
  bool supported;
  Warnings warnings;
};

struct BuildCase {
  std::string name;
  std::string connection;  // text format
  Request request;
  Expected expected;
};

void PrintTo(const BuildCase& c, std::ostream* os) { *os << c.name; }

// Connections used by several cases.
constexpr char kOidcHintOnly[] = R"pb(
  name: "corp"
  strategy: "oidc"
  logout {
    end_session_endpoint: "https://op.example.com/logout"
    send_id_token_hint: true
    upstream_client_id: "up-1"
  })pb";
constexpr char kOidcHintAndClientId[] = R"pb(
  name: "corp"
  strategy: "oidc"
  logout {
    end_session_endpoint: "https://op.example.com/logout"
    send_id_token_hint: true
    send_client_id: true
    upstream_client_id: "up-1"
  })pb";

std::vector<BuildCase> GoldenCases() {
  const std::string rt = kReturnToEncoded;
  return {
      // OIDC RP-Initiated Logout (oidc, okta, waad).
      {"OidcSendsIdTokenHintInsteadOfClientId",
       kOidcHintOnly,
       {.return_to = kReturnTo, .state = "s1", .id_token = kIdToken},
       {absl::StrCat("https://op.example.com/logout?id_token_hint=", kIdToken,
                     "&post_logout_redirect_uri=", rt, "&state=s1"),
        kDefault,
        true,
        {}}},
      {"OidcSendsClientIdWhenNoIdTokenIsGiven",
       kOidcHintOnly,
       {.return_to = kReturnTo, .state = "s1"},
       {absl::StrCat("https://op.example.com/logout?client_id=up-1&post_logout_redirect_uri=", rt,
                     "&state=s1"),
        kDefault,
        true,
        {}}},
      {"OidcSendsBothWhenSendClientIdIsOn",
       kOidcHintAndClientId,
       {.return_to = kReturnTo, .id_token = kIdToken},
       {absl::StrCat("https://op.example.com/logout?id_token_hint=", kIdToken,
                     "&client_id=up-1&post_logout_redirect_uri=", rt),
        kDefault,
        true,
        {}}},
      {"OidcNeverSendsTheTokenWithoutSendIdTokenHint",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              end_session_endpoint: "https://op.example.com/logout"
              upstream_client_id: "up-1"
            })pb",
       {.return_to = kReturnTo, .id_token = kIdToken},
       {absl::StrCat("https://op.example.com/logout?client_id=up-1&post_logout_redirect_uri=", rt),
        kDefault,
        true,
        {}}},
      {"OidcWithoutUpstreamClientIdSendsNoClientId",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://op.example.com/logout" send_client_id: true })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://op.example.com/logout?post_logout_redirect_uri=", rt),
        kDefault,
        true,
        {}}},
      {"OidcWithNothingToAddIsTheBareEndpoint",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://op.example.com/logout?" })pb",
       {},
       {"https://op.example.com/logout?", kDefault, true, {}}},
      {"OidcKeepsTheEndpointsQuery",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              end_session_endpoint: "https://op.example.com/logout?tenant=acme&x=a%20b"
              upstream_client_id: "up-1"
            })pb",
       {.return_to = kReturnTo, .state = "s1"},
       {absl::StrCat("https://op.example.com/logout?tenant=acme&x=a%20b&client_id=up-1"
                     "&post_logout_redirect_uri=",
                     rt, "&state=s1"),
        kDefault,
        true,
        {}}},
      {"OidcReplacesAConfiguredParameterOfTheSameName",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              end_session_endpoint: "https://op.example.com/logout?client_id=old&a=1&state=x"
              upstream_client_id: "up-1"
            })pb",
       {},
       {"https://op.example.com/logout?a=1&state=x&client_id=up-1", kDefault, true, {}}},
      {"OidcEmitsTheSerialisedEndpoint",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://OP.Example.COM:443/a/../logout" })pb",
       {.state = "s1"},
       {"https://op.example.com/logout?state=s1", kDefault, true, {}}},
      {"OidcWithoutEndSessionEndpointIsLocalLogoutOnly",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { upstream_client_id: "up-1" })pb",
       {.return_to = kReturnTo, .id_token = kIdToken},
       {"", kDefault, false, {}}},
      {"OidcEncodesNonUtf8BytesAsGiven",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://op.example.com/logout" })pb",
       {.state = "a\xFF"},
       {"https://op.example.com/logout?state=a%FF", kDefault, true, {}}},
      {"OktaUsesItsEndSessionEndpoint",
       R"pb(name: "okta"
            strategy: "okta"
            logout {
              end_session_endpoint: "https://acme.okta.com/oauth2/v1/logout"
              send_id_token_hint: true
            })pb",
       {.return_to = kReturnTo, .state = "s1", .id_token = kIdToken},
       {absl::StrCat("https://acme.okta.com/oauth2/v1/logout?id_token_hint=", kIdToken,
                     "&post_logout_redirect_uri=", rt, "&state=s1"),
        kDefault,
        true,
        {}}},
      {"OktaWithoutEndSessionEndpointIsLocalLogoutOnly",
       R"pb(name: "okta" strategy: "okta")pb",
       {.return_to = kReturnTo},
       {"", kDefault, false, {}}},
      {"WaadIsOidcEndSession",
       R"pb(name: "azure"
            strategy: "waad"
            logout {
              end_session_endpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/logout"
              upstream_client_id: "6731de76-14a6-49ae-97bc-6eba6914391e"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://login.microsoftonline.com/common/oauth2/v2.0/logout"
                     "?client_id=6731de76-14a6-49ae-97bc-6eba6914391e&post_logout_redirect_uri=",
                     rt),
        kDefault,
        true,
        {}}},
      {"UnknownStrategyWithEndSessionEndpointIsOidcEndSession",
       R"pb(name: "kc"
            strategy: "keycloak"
            logout {
              end_session_endpoint: "https://kc.example.com/realms/acme/protocol/openid-connect/logout"
              upstream_client_id: "logoutd"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://kc.example.com/realms/acme/protocol/openid-connect/logout"
                     "?client_id=logoutd&post_logout_redirect_uri=",
                     rt),
        kDefault,
        true,
        {}}},
      // Facebook.
      {"FacebookSendsNextAndAccessToken",
       R"pb(name: "fb" strategy: "facebook")pb",
       {.return_to = kReturnTo, .state = "s1", .access_token = kAccessToken},
       {absl::StrCat("https://www.facebook.com/logout.php?next=", rt,
                     "&access_token=", kAccessTokenEncoded),
        kDefault,
        true,
        {}}},
      {"FacebookWithoutReturnToSendsOnlyTheToken",
       R"pb(name: "fb" strategy: "facebook")pb",
       {.access_token = kAccessToken},
       {absl::StrCat("https://www.facebook.com/logout.php?access_token=", kAccessTokenEncoded),
        kDefault,
        true,
        {}}},
      {"FacebookWithoutAccessTokenIsLocalLogoutOnly",
       R"pb(name: "fb" strategy: "facebook")pb",
       {.return_to = kReturnTo, .id_token = kIdToken},
       {"", kDefault, false, {}}},
      // SAML.
      {"SamlpReturnsTheSignOutEndpointAsConfigured",
       R"pb(name: "saml"
            strategy: "samlp"
            logout { sign_out_endpoint: "https://idp.example.com/saml/slo?tenant=a" })pb",
       {.return_to = kReturnTo, .state = "s1"},
       {"https://idp.example.com/saml/slo?tenant=a", kDefault, true, {}}},
      {"SamlpWithDisableSignoutIsLocalLogoutOnly",
       R"pb(name: "saml"
            strategy: "samlp"
            logout { sign_out_endpoint: "https://idp.example.com/saml/slo" disable_signout: true })pb",
       {.return_to = kReturnTo},
       {"", kDefault, false, {}}},
      {"SamlpWithoutSignOutEndpointIsLocalLogoutOnly",
       R"pb(name: "saml" strategy: "samlp")pb",
       {.return_to = kReturnTo},
       {"", kDefault, false, {}}},
      // Providers without a logout that returns.
      {"GoogleIsSupportedWithoutUrlAndWarns",
       R"pb(name: "google" strategy: "google-oauth2")pb",
       {.return_to = kReturnTo, .access_token = kAccessToken},
       {"", kDefault, true, {kMayNotReturn}}},
      {"GithubIsSupportedWithoutUrlAndWarns",
       R"pb(name: "gh" strategy: "github")pb",
       {.return_to = kReturnTo},
       {"", kDefault, true, {kMayNotReturn}}},
      {"AppleIsSupportedWithoutUrlAndWarns",
       R"pb(name: "apple" strategy: "apple")pb",
       {},
       {"", kDefault, true, {kMayNotReturn}}},
      {"UnknownStrategyWithoutUrlsWarns",
       R"pb(name: "x" strategy: "acme-sso")pb",
       {.return_to = kReturnTo},
       {"", kDefault, true, {kMayNotReturn}}},
      {"SamlSignOutEndpointIsIgnoredByOtherStrategies",
       R"pb(name: "x"
            strategy: "acme-sso"
            logout { sign_out_endpoint: "https://idp.example.com/slo" })pb",
       {.return_to = kReturnTo},
       {"", kDefault, true, {kMayNotReturn}}},
      // Static logout_url.
      {"StaticLogoutUrlAddsReturnToParam",
       R"pb(name: "corp"
            strategy: "github"
            logout { logout_url: "https://idp.example.com/logout" return_to_param: "returnTo" })pb",
       {.return_to = kReturnTo, .state = "s1"},
       {absl::StrCat("https://idp.example.com/logout?returnTo=", rt), kStatic, true, {}}},
      {"StaticLogoutUrlWithoutReturnToParamIsAsConfigured",
       R"pb(name: "corp"
            strategy: "samlp"
            logout { logout_url: "https://idp.example.com/logout?x=1" })pb",
       {.return_to = kReturnTo, .state = "s1"},
       {"https://idp.example.com/logout?x=1", kStatic, true, {}}},
      {"StaticLogoutUrlKeepsItsQuery",
       R"pb(name: "adfs"
            strategy: "adfs"
            logout {
              logout_url: "https://adfs.example.com/adfs/ls/?wa=wsignout1.0"
              return_to_param: "wreply"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply=", rt),
        kStatic,
        true,
        {}}},
      {"StaticLogoutUrlWithoutReturnToKeepsItsConfiguredReturnParameter",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url: "https://idp.example.com/logout?returnTo=https%3A%2F%2Fhome.example"
              return_to_param: "returnTo"
            })pb",
       {},
       {"https://idp.example.com/logout?returnTo=https%3A%2F%2Fhome.example", kStatic, true, {}}},
      {"StaticLogoutUrlReplacesItsConfiguredReturnParameter",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url: "https://idp.example.com/logout?return%54o=https%3A%2F%2Fhome.example&a=1"
              return_to_param: "returnTo"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://idp.example.com/logout?a=1&returnTo=", rt), kStatic, true, {}}},
      // Templates: translations of Auth0 getLogoutUrl scripts.
      {
          "TemplateAuth0V2Logout",
          R"pb(name: "corp"
               strategy: "oidc"
               logout {
                 logout_url_template: "https://idp.example.com/v2/logout{?returnTo,client_id}"
               })pb",
          {.return_to = kReturnTo, .client_id = "app-1"},
          {absl::StrCat("https://idp.example.com/v2/logout?returnTo=", rt, "&client_id=app-1"),
           kTemplate,
           true,
           {}}},
      {"TemplateUpstreamClientIdInALiteralQuery",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://login.example.com/oidc/logout?client_id={upstream_client_id}{&returnTo}"
              upstream_client_id: "abc"
            })pb",
       {.return_to = kReturnTo, .client_id = "app-1"},
       {absl::StrCat("https://login.example.com/oidc/logout?client_id=abc&returnTo=", rt),
        kTemplate,
        true,
        {}}},
      {"TemplateAzurePostLogoutRedirectUriIsTheReturnUrl",
       R"pb(name: "azure"
            strategy: "waad"
            logout {
              logout_url_template: "https://login.microsoftonline.com/common/oauth2/v2.0/logout{?post_logout_redirect_uri}"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://login.microsoftonline.com/common/oauth2/v2.0/logout"
                     "?post_logout_redirect_uri=",
                     rt),
        kTemplate,
        true,
        {}}},
      {"TemplateOidcEndSessionWithUpstreamIdToken",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://op.example.com/logout{?id_token_hint,post_logout_redirect_uri,state}"
              send_id_token_hint: true
            })pb",
       {.return_to = kReturnTo, .state = "s1", .id_token = kIdToken},
       {absl::StrCat("https://op.example.com/logout?id_token_hint=", kIdToken,
                     "&post_logout_redirect_uri=", rt, "&state=s1"),
        kTemplate,
        true,
        {}}},
      {"TemplateIdTokenHintIsUndefinedWithoutSendIdTokenHint",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://op.example.com/logout{?id_token_hint,state}" })pb",
       {.state = "s1", .id_token = kIdToken},
       {"https://op.example.com/logout?state=s1", kTemplate, true, {}}},
      {"TemplateAdfsReturnParameterUnderItsOwnName",
       R"pb(name: "adfs"
            strategy: "adfs"
            logout {
              logout_url_template: "https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply={returnTo}"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply=", rt),
        kTemplate,
        true,
        {}}},
      {"TemplateAdfsWithoutReturnToLeavesAnEmptyParameter",
       R"pb(name: "adfs"
            strategy: "adfs"
            logout {
              logout_url_template: "https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply={returnTo}"
            })pb",
       {},
       {"https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply=", kTemplate, true, {}}},
      {"TemplatePassesAQueryParameterThrough",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com/logout{?returnTo,ui_locales}" })pb",
       {.return_to = kReturnTo, .query = {{"ui_locales", "de-CH fr"}, {"unused", "x"}}},
       {absl::StrCat("https://idp.example.com/logout?returnTo=", rt, "&ui_locales=de-CH%20fr"),
        kTemplate,
        true,
        {}}},
      {"TemplateQueryEntriesNeverOverrideValidatedValues",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com/logout{?returnTo,post_logout_redirect_uri,client_id,state,id_token_hint,upstream_client_id}"
            })pb",
       {.query = {{"returnTo", "https://evil.example/"},
                  {"post_logout_redirect_uri", "https://evil.example/"},
                  {"client_id", "evil"},
                  {"state", "evil"},
                  {"id_token_hint", "evil"},
                  {"upstream_client_id", "evil"}}},
       {"https://idp.example.com/logout", kTemplate, true, {}}},
      {"TemplateNeverExposesTheAccessToken",
       R"pb(name: "corp"
            strategy: "facebook"
            logout { logout_url_template: "https://idp.example.com/logout{?access_token}" })pb",
       {.access_token = kAccessToken, .query = {{"access_token", "from-query"}}},
       {"https://idp.example.com/logout", kTemplate, true, {}}},
      {"TemplateTreatsEmptyValuesAsUndefined",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com/logout{?returnTo,state,lang}" })pb",
       {.state = "", .query = {{"lang", ""}}},
       {"https://idp.example.com/logout", kTemplate, true, {}}},
      {"TemplateResultIsTheSerialisedUrl",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://IDP.example.com:443/a/../logout{?state}" })pb",
       {.state = "s1"},
       {"https://idp.example.com/logout?state=s1", kTemplate, true, {}}},
      {"TemplateQueryRightAfterTheHost",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com{?returnTo}" })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://idp.example.com/?returnTo=", rt), kTemplate, true, {}}},
      {"TemplateReservedUpstreamClientIdKeepsSlashes",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com/t/{+upstream_client_id}/logout{?returnTo}"
              upstream_client_id: "acme/eu"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://idp.example.com/t/acme/eu/logout?returnTo=", rt),
        kTemplate,
        true,
        {}}},
      {"TemplateWithoutExpressionsIsAConstantUrl",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com/logout?all=1" })pb",
       {.return_to = kReturnTo},
       {"https://idp.example.com/logout?all=1", kTemplate, true, {}}},
      // Precedence: template, then static logout_url, then the strategy default.
      {"TemplateBeatsStaticAndDefault",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://tpl.example.com/logout{?returnTo}"
              logout_url: "https://static.example.com/logout"
              return_to_param: "returnTo"
              end_session_endpoint: "https://op.example.com/logout"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://tpl.example.com/logout?returnTo=", rt), kTemplate, true, {}}},
      {"StaticBeatsDefault",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url: "https://static.example.com/logout"
              return_to_param: "returnTo"
              end_session_endpoint: "https://op.example.com/logout"
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://static.example.com/logout?returnTo=", rt), kStatic, true, {}}},
      {"StaticBeatsGoogleWarning",
       R"pb(name: "google"
            strategy: "google-oauth2"
            logout { logout_url: "https://accounts.example.com/logout" })pb",
       {.return_to = kReturnTo},
       {"https://accounts.example.com/logout", kStatic, true, {}}},
      {"StaticBeatsFacebooksTokenRequirement",
       R"pb(name: "fb"
            strategy: "facebook"
            logout { logout_url: "https://idp.example.com/fb-bye" return_to_param: "next" })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://idp.example.com/fb-bye?next=", rt), kStatic, true, {}}},
      {"TemplateBeatsSamlDisableSignout",
       R"pb(name: "saml"
            strategy: "samlp"
            logout {
              logout_url_template: "https://idp.example.com/slo{?returnTo}"
              sign_out_endpoint: "https://idp.example.com/saml/slo"
              disable_signout: true
            })pb",
       {.return_to = kReturnTo},
       {absl::StrCat("https://idp.example.com/slo?returnTo=", rt), kTemplate, true, {}}},
  };
}

class GoldenTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(GoldenTest, BuildsTheExpectedResponse) {
  const BuildCase& c = GetParam();
  absl::StatusOr<CompiledConnection> connection = Compile(c.connection);
  ASSERT_TRUE(connection.ok()) << connection.status();
  const BoundInput input(c.request);
  absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> r =
      BuildFederatedLogoutUrl(*connection, input.get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->url(), c.expected.url);
  EXPECT_EQ(r->source(), c.expected.source) << v1::FederatedUrlSource_Name(r->source());
  EXPECT_EQ(r->supported(), c.expected.supported);
  Warnings warnings;
  for (int w : r->warnings()) warnings.push_back(static_cast<v1::FederatedWarning>(w));
  EXPECT_EQ(warnings, c.expected.warnings);
  if (!r->url().empty()) {
    absl::StatusOr<url::Url> reparsed = url::Url::Parse(r->url());
    ASSERT_TRUE(reparsed.ok()) << reparsed.status();
    EXPECT_EQ(reparsed->href(), r->url()) << "the URL must re-parse to itself";
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const ::testing::TestParamInfo<BuildCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Hostile values: whatever state, returnTo, client_id, tokens and query values contain, the host
// stays, no parameter appears, and each parameter decodes back to exactly what was given.

struct AttackCase {
  std::string name;
  std::string value;
};

void PrintTo(const AttackCase& c, std::ostream* os) { *os << c.name; }

std::vector<AttackCase> AttackCases() {
  return {
      {"AmpersandAddsNoParameter", "x&returnTo=https://evil.example/&client_id=evil"},
      {"HashStartsNoFragment", "x#frag"},
      {"QuestionMarkStartsNoQuery", "?client_id=evil"},
      {"PercentIsNotDecodedTwice", "100%25%zz%"},
      {"EncodedDelimitersStayEncoded", "a%26b%3Dc%23d"},
      {"SpacesAndPlus", " a b+c "},
      {"Unicode",
       "\xC3\xBCn\xC3\xAF\xC2\xA9\xC3\xB8"
       "d\xC3\xA9 \xE6\x97\xA5\xF0\x9F\x98\x80"},
      {"AtSignChangesNoHost", "user@evil.example"},
      {"UrlWithUserinfo", "https://evil.example@idp.example.com/"},
      {"BackslashesAndSlashes", R"(\\evil.example/..\/)"},
      {"SemicolonsAndEquals", "a=b;c=d,e"},
      {"LineBreaksAndTabs", "a\r\nLocation: https://evil.example\t"},
      {"QuotesAndAngleBrackets", "\"><script>'`"},
  };
}

// Decode percent-decodes a query component (no '+' handling: logoutd never writes '+').
std::string Decode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && s.size() - i >= 3 &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.append(absl::HexStringToBytes(s.substr(i + 1, 2)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Params splits a URL's query into decoded (name, value) pairs.
std::vector<std::pair<std::string, std::string>> Params(const url::Url& u) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view piece : absl::StrSplit(u.query(), '&', absl::SkipEmpty())) {
    const size_t eq = piece.find('=');
    out.emplace_back(Decode(piece.substr(0, eq)),
                     eq == absl::string_view::npos ? "" : Decode(piece.substr(eq + 1)));
  }
  return out;
}

// AttackTarget is a connection and what its URL must look like whatever the values are.
struct AttackTarget {
  std::string name;
  std::string connection;
  std::string host;
  std::string path;  // empty: not checked (a path template may be normalised by '..')
  // The parameters expected, in order; "*" as a value means "the hostile value".
  std::vector<std::pair<std::string, std::string>> params;
};

std::vector<AttackTarget> AttackTargets() {
  return {
      {"oidc",
       kOidcHintAndClientId,
       "op.example.com",
       "/logout",
       {{"id_token_hint", "*"},
        {"client_id", "up-1"},
        {"post_logout_redirect_uri", "*"},
        {"state", "*"}}},
      {"facebook",
       R"pb(name: "fb" strategy: "facebook")pb",
       "www.facebook.com",
       "/logout.php",
       {{"next", "*"}, {"access_token", "*"}}},
      {"static",
       R"pb(name: "corp"
            strategy: "x"
            logout { logout_url: "https://idp.example.com/logout?a=1" return_to_param: "r" })pb",
       "idp.example.com",
       "/logout",
       {{"a", "1"}, {"r", "*"}}},
      {"template-query",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com/v2/logout{?returnTo,client_id,state,id_token_hint,lang}"
              send_id_token_hint: true
            })pb",
       "idp.example.com",
       "/v2/logout",
       {{"returnTo", "*"},
        {"client_id", "*"},
        {"state", "*"},
        {"id_token_hint", "*"},
        {"lang", "*"}}},
      {"template-literal-names",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com/logout?r={returnTo}&s={state}{&lang}"
            })pb",
       "idp.example.com",
       "/logout",
       {{"r", "*"}, {"s", "*"}, {"lang", "*"}}},
      {"template-path",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com{/state}/x{.client_id}{?returnTo}"
            })pb",
       "idp.example.com",
       "",
       {{"returnTo", "*"}}},
  };
}

class AttackTest : public ::testing::TestWithParam<AttackCase> {};

TEST_P(AttackTest, NeverChangesTheHostOrAddsParameters) {
  const std::string& value = GetParam().value;
  const Request request{.return_to = value,
                        .client_id = value,
                        .state = value,
                        .id_token = value,
                        .access_token = value,
                        .query = {{"lang", value}, {"returnTo", "https://evil.example/"}}};
  const BoundInput input(request);
  for (const AttackTarget& target : AttackTargets()) {
    SCOPED_TRACE(target.name);
    absl::StatusOr<CompiledConnection> connection = Compile(target.connection);
    ASSERT_TRUE(connection.ok()) << connection.status();
    absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> r =
        BuildFederatedLogoutUrl(*connection, input.get());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->supported());
    absl::StatusOr<url::Url> u = url::Url::Parse(r->url());
    ASSERT_TRUE(u.ok()) << r->url();
    EXPECT_EQ(u->href(), r->url());
    EXPECT_EQ(u->scheme(), "https") << r->url();
    EXPECT_EQ(u->hostname(), target.host) << r->url();
    EXPECT_EQ(u->port(), "") << r->url();
    EXPECT_FALSE(u->saw_userinfo_delimiter()) << r->url();
    EXPECT_FALSE(u->has_fragment()) << r->url();
    if (!target.path.empty()) {
      EXPECT_EQ(u->pathname(), target.path) << r->url();
    }
    std::vector<std::pair<std::string, std::string>> expected = target.params;
    for (auto& [name, v] : expected) {
      if (v == "*") v = value;
    }
    EXPECT_EQ(Params(*u), expected) << r->url();
    // Only unreserved characters, '%' triplets and the delimiters logoutd writes.
    for (char ch : u->query()) {
      const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(ch)) ||
                      absl::string_view("-._~%&=").find(ch) != absl::string_view::npos;
      EXPECT_TRUE(ok) << "unexpected '" << ch << "' in " << r->url();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HostileValues, AttackTest, ::testing::ValuesIn(AttackCases()),
                         [](const ::testing::TestParamInfo<AttackCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Request-time errors: only a template expansion can fail, and the message never carries the
// value.

struct ErrorCase {
  std::string name;
  std::string connection;
  Request request;
  std::string message;     // the whole message
  std::string not_echoed;  // must not appear in the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<ErrorCase> ErrorCases() {
  constexpr char kTemplate[] =
      R"pb(name: "corp"
           strategy: "oidc"
           logout {
             logout_url_template: "https://idp.example.com/logout{?returnTo,state,id_token_hint,lang}"
             send_id_token_hint: true
           })pb";
  return {
      {"StateThatIsNotUtf8FailsTheTemplate",
       kTemplate,
       {.state = "secret-state\xFF"},
       "connection \"corp\": logout.logout_url_template: uri template expansion: variable "
       "\"state\" is not valid UTF-8",
       "secret-state"},
      {"IdTokenThatIsNotUtf8FailsWithoutEchoingIt",
       kTemplate,
       {.id_token = "eyJsecret\xC0\xAF"},
       "connection \"corp\": logout.logout_url_template: uri template expansion: variable "
       "\"id_token_hint\" is not valid UTF-8",
       "eyJsecret"},
      {"QueryValueThatIsNotUtf8FailsTheTemplate",
       kTemplate,
       {.query = {{"lang", "de\xFE"}}},
       "connection \"corp\": logout.logout_url_template: uri template expansion: variable "
       "\"lang\" is not valid UTF-8",
       "de\xFE"},
      {"ExpansionOverTheLimitFails",
       kTemplate,
       {.return_to = "https://app.example.com/" + std::string(9000, 'a')},
       "connection \"corp\": logout.logout_url_template: uri template expansion: the result "
       "exceeds 8192 bytes",
       "aaaaaaaa"},
  };
}

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTest, FailsWithInvalidArgumentAndNoValue) {
  const ErrorCase& c = GetParam();
  absl::StatusOr<CompiledConnection> connection = Compile(c.connection);
  ASSERT_TRUE(connection.ok()) << connection.status();
  const BoundInput input(c.request);
  absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> r =
      BuildFederatedLogoutUrl(*connection, input.get());
  ASSERT_FALSE(r.ok()) << r->url();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), c.message);
  EXPECT_EQ(r.status().message().find(c.not_echoed), absl::string_view::npos);
}

INSTANTIATE_TEST_SUITE_P(Templates, ErrorTest, ::testing::ValuesIn(ErrorCases()),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return info.param.name;
                         });

// A null query map is the same as an empty one.
TEST(BuildFederatedLogoutUrlTest, NullQueryIsAnEmptyQuery) {
  absl::StatusOr<CompiledConnection> connection = Compile(
      R"pb(name: "corp"
           strategy: "oidc"
           logout { logout_url_template: "https://idp.example.com/logout{?returnTo,lang}" })pb");
  ASSERT_TRUE(connection.ok()) << connection.status();
  FederatedLogoutInput input;
  input.return_to = kReturnTo;
  absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> r =
      BuildFederatedLogoutUrl(*connection, input);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->url(), absl::StrCat("https://idp.example.com/logout?returnTo=", kReturnToEncoded));
}

}  // namespace
}  // namespace logout::federation
