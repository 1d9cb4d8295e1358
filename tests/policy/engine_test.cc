// Decision rules of DESIGN.md §2.2 (everything that needs no id_token_hint verification), one
// named case per rule and per attack family. Every table case also runs as GET and as POST
// (same raw query) and must decide identically.
#include "service/policy/engine.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "service/policy/reason.h"
#include "tests/testing/policy_builder.h"

namespace logout::policy {
namespace {

constexpr char kPolicy[] = R"pb(
  tenants {
    name: "acme"
    issuer: "https://acme.example.com/"
    allowed_logout_urls: "https://acme.example.com/logged-out"
    allowed_logout_urls: "https://*.preview.acme.example.com/bye"
    allowed_logout_urls: "http://127.0.0.1/cb"
    allowed_logout_urls: "https://[::1]:8443/x"
    allowed_logout_urls: "https://b\303\274cher.example/ok"
    enabled_locales: "en"
    enabled_locales: "fr-CA"
    clients {
      client_id: "web"
      allowed_logout_urls: "https://app.example.com/bye"
      allowed_logout_urls: "https://app.example.com/alt"
      allowed_logout_urls: "https://pr-*-x.apps.example.com/"
    }
    clients { client_id: "other" allowed_logout_urls: "https://other.example.com/" }
    clients { client_id: "empty" }
    clients { client_id: "wild-only" allowed_logout_urls: "https://*.wild.example.com/" }
  }
  tenants {
    name: "exact"
    redirect_matching: REDIRECT_MATCHING_EXACT
    allowed_logout_urls: "https://exact.example.com/cb?x=1"
  }
  tenants {
    name: "strict"
    oidc_profile: OIDC_PROFILE_STRICT
    allowed_logout_urls: "https://strict.example.com/cb"
  }
  tenants {
    name: "noprompt"
    prompt_enabled: false
    allowed_logout_urls: "https://noprompt.example.com/"
  }
  tenants { name: "emptylist" }
)pb";

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr v1::Endpoint kV2 = v1::ENDPOINT_V2_LOGOUT;
constexpr v1::Endpoint kOidc = v1::ENDPOINT_OIDC_LOGOUT;
constexpr v1::Decision kAllow = v1::DECISION_ALLOW;
constexpr v1::Decision kDeny = v1::DECISION_DENY;
constexpr v1::Decision kConfirm = v1::DECISION_REQUIRE_CONFIRMATION;

struct Case {
  std::string name;
  std::string tenant;
  v1::Endpoint endpoint;
  std::string raw_query;
  std::string session_id;
  v1::Decision decision;
  v1::Reason reason;
  std::string redirect_url;  // expected exactly (empty = none)
};

class EngineTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { policy_ = testing::CompileOrDie(kPolicy, 42); }
  std::shared_ptr<const CompiledPolicy> policy_;
};

v1::ValidateLogoutResponse RunCase(const CompiledPolicy& policy, const Case& c,
                                   v1::HttpMethod method) {
  v1::ValidateLogoutRequest req;
  req.set_tenant(c.tenant);
  req.set_endpoint(c.endpoint);
  req.set_raw_query(c.raw_query);
  req.set_http_method(method);
  req.set_session_id(c.session_id);
  v1::ValidateLogoutResponse resp;
  const absl::Status s = Decide(policy, req, kNow, &resp);
  EXPECT_TRUE(s.ok()) << s;
  // The server reuses response messages from call to call (and Decide its per-thread buffers):
  // the same decision made into one response shared by every case of the suite, whatever was
  // decided into it before, comes out byte for byte the same.
  static auto* const reused = new v1::ValidateLogoutResponse();
  EXPECT_TRUE(Decide(policy, req, kNow, reused).ok());
  EXPECT_EQ(reused->SerializeAsString(), resp.SerializeAsString()) << c.name;
  return resp;
}

int ExpectedHttpStatus(const Case& c) {
  if (c.decision == kDeny) return 400;
  if (c.decision == kConfirm) return 200;
  return c.redirect_url.empty() ? 200 : 302;
}

TEST_P(EngineTest, Decides) {
  const Case& c = GetParam();
  const v1::ValidateLogoutResponse get = RunCase(*policy_, c, v1::HTTP_METHOD_GET);
  EXPECT_EQ(get.decision(), c.decision) << get.DebugString();
  EXPECT_EQ(get.reason(), c.reason) << get.DebugString();
  EXPECT_EQ(get.redirect_url(), c.redirect_url);
  EXPECT_EQ(get.http_status(), ExpectedHttpStatus(c));
  EXPECT_EQ(get.reason_code(), ReasonCode(c.reason));
  EXPECT_EQ(get.policy_version(), 42u);
  if (c.decision == kDeny) {
    EXPECT_EQ(get.error(), "invalid_request");
    EXPECT_FALSE(get.error_description().empty());
  } else {
    EXPECT_TRUE(get.error().empty());
  }
  // GET and POST give identical decisions.
  const v1::ValidateLogoutResponse post = RunCase(*policy_, c, v1::HTTP_METHOD_POST);
  EXPECT_EQ(post.SerializeAsString(), get.SerializeAsString());
}

const std::string kLongQueryTarget =
    "https://acme.example.com/logged-out?q=" + std::string(2048 - 38, 'a');
const std::string kTooLongTarget = kLongQueryTarget + "a";

INSTANTIATE_TEST_SUITE_P(
    Rules, EngineTest,
    ::testing::ValuesIn(std::vector<Case>{
        // --- Targets that match.
        {"AllowsRegisteredTarget", "acme", kV2,
         "returnTo=https%3A%2F%2Facme.example.com%2Flogged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"AllowsUnencodedTarget", "acme", kV2, "returnTo=https://acme.example.com/logged-out", "",
         kAllow, v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"RedirectIsSerialisedNotRaw", "acme", kV2,
         "returnTo=HTTPS://ACME.Example.COM:443/x/../logged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"KeepsQueryAndFragmentOfTarget", "acme", kV2,
         "returnTo=https://acme.example.com/logged-out%3Fa%3D1%23frag", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out?a=1#frag"},
        {"EncodedTraversalNormalisedLikeBrowser", "acme", kV2,
         "returnTo=https://acme.example.com/x/%252e%252e/logged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"BackslashesAreSlashesLikeBrowser", "acme", kV2,
         "returnTo=https:%5C%5Cacme.example.com%5Clogged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"AllowsWildcardOneLabel", "acme", kV2,
         "returnTo=https://pr-7.preview.acme.example.com/bye", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://pr-7.preview.acme.example.com/bye"},
        {"AllowsIpv4NumberForms", "acme", kV2, "returnTo=http://0x7f.0.0.1/cb", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "http://127.0.0.1/cb"},
        {"AllowsIpv4SingleNumber", "acme", kV2, "returnTo=http://2130706433/cb", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "http://127.0.0.1/cb"},
        {"AllowsIpv6LongForm", "acme", kV2, "returnTo=https://[0:0:0:0:0:0:0:1]:8443/x", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://[::1]:8443/x"},
        {"AllowsIdnTargetAsPunycode", "acme", kV2, "returnTo=https://B%C3%9CCHER.example/ok", "",
         kAllow, v1::REASON_REDIRECT_ALLOWED, "https://xn--bcher-kva.example/ok"},
        {"AllowsIdeographicFullStops", "acme", kV2,
         "returnTo=https://acme%E3%80%82example%EF%BC%8Ecom/logged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"AllowsTargetOfExactly2048Bytes", "acme", kV2, "returnTo=" + kLongQueryTarget, "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, kLongQueryTarget},
        // --- Targets that do not match.
        {"DeniesUnregisteredHost", "acme", kV2, "returnTo=https://evil.example.net/", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesSuffixDomain", "acme", kV2, "returnTo=https://acme.example.com.evil.net/logged-out",
         "", kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesSiblingDomain", "acme", kV2, "returnTo=https://evilacme.example.com/logged-out", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesParentDomain", "acme", kV2, "returnTo=https://example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesPathPrefix", "acme", kV2, "returnTo=https://acme.example.com/logged-out/x", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesSemicolonTraversal", "acme", kV2,
         "returnTo=https://acme.example.com/logged-out/..;/admin", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesPathCaseChange", "acme", kV2, "returnTo=https://acme.example.com/Logged-Out", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesOtherPort", "acme", kV2, "returnTo=https://acme.example.com:8443/logged-out", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesSchemeDowngrade", "acme", kV2, "returnTo=http://acme.example.com/logged-out", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesTrailingDotHost", "acme", kV2, "returnTo=https://acme.example.com./logged-out", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesWildcardTwoLabels", "acme", kV2,
         "returnTo=https://a.b.preview.acme.example.com/bye", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesWildcardApex", "acme", kV2, "returnTo=https://preview.acme.example.com/bye", "",
         kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesOtherIpv4", "acme", kV2, "returnTo=http://127.0.0.2/cb", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"DeniesBackslashHostConfusion", "acme", kV2,
         "returnTo=https://evil.net%5C@acme.example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        // --- Userinfo.
        {"DeniesEncodedAtUserinfo", "acme", kV2,
         "returnTo=https://user%40acme.example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_HAS_USERINFO, ""},
        {"DeniesUserAt", "acme", kV2, "returnTo=https://user@acme.example.com/logged-out", "",
         kDeny, v1::REASON_TARGET_HAS_USERINFO, ""},
        {"DeniesUserPassword", "acme", kV2, "returnTo=https://u:p@acme.example.com/logged-out", "",
         kDeny, v1::REASON_TARGET_HAS_USERINFO, ""},
        {"DeniesEmptyUserinfo", "acme", kV2, "returnTo=https://@acme.example.com/logged-out", "",
         kDeny, v1::REASON_TARGET_HAS_USERINFO, ""},
        {"DeniesMultipleAt", "acme", kV2,
         "returnTo=https://acme.example.com@evil.net@acme.example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_HAS_USERINFO, ""},
        {"DeniesRegisteredHostAsUserinfo", "acme", kV2,
         "returnTo=https://acme.example.com%252Flogged-out@evil.net/", "", kDeny,
         v1::REASON_TARGET_HAS_USERINFO, ""},
        // --- Schemes and URL forms.
        {"DeniesJavascript", "acme", kV2, "returnTo=javascript:alert(1)", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesJavascriptMixedCase", "acme", kV2, "returnTo=JaVaScRiPt:alert(1)", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesJavascriptLeadingSpace", "acme", kV2, "returnTo=%20javascript:alert(1)", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesDataUrl", "acme", kV2, "returnTo=data:text/html,hi", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesFileUrl", "acme", kV2, "returnTo=file:///etc/passwd", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesVbscript", "acme", kV2, "returnTo=vbscript:msgbox", "", kDeny,
         v1::REASON_TARGET_SCHEME_NOT_ALLOWED, ""},
        {"DeniesRelativePath", "acme", kV2, "returnTo=/logged-out", "", kDeny,
         v1::REASON_TARGET_INVALID_URL, ""},
        {"DeniesSchemeRelative", "acme", kV2, "returnTo=//acme.example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_INVALID_URL, ""},
        {"DeniesEmptyHost", "acme", kV2, "returnTo=https://", "", kDeny,
         v1::REASON_TARGET_INVALID_URL, ""},
        {"DeniesInvalidPort", "acme", kV2, "returnTo=https://acme.example.com:99999/", "", kDeny,
         v1::REASON_TARGET_INVALID_URL, ""},
        {"DeniesTabInScheme", "acme", kV2, "returnTo=java%09script:alert(1)", "", kDeny,
         v1::REASON_INVALID_CHARACTERS, ""},
        {"DeniesNewlineInTarget", "acme", kV2, "returnTo=https://acme.example.com/logged-out%0A",
         "", kDeny, v1::REASON_INVALID_CHARACTERS, ""},
        // --- Parameters.
        {"DeniesDuplicateReturnTo", "acme", kV2,
         "returnTo=https://acme.example.com/logged-out&returnTo=https://evil.net/", "", kDeny,
         v1::REASON_DUPLICATE_PARAMETER, ""},
        {"DeniesDuplicateEvenWhenEmpty", "acme", kV2, "client_id=web&client_id=", "", kDeny,
         v1::REASON_DUPLICATE_PARAMETER, ""},
        {"DeniesDuplicateEncodedName", "acme", kV2,
         "returnTo=https://acme.example.com/logged-out&return%54o=https://evil.net/", "", kDeny,
         v1::REASON_DUPLICATE_PARAMETER, ""},
        {"IgnoresDuplicateUnknownParameter", "acme", kV2,
         "x=1&x=2&returnTo=https://acme.example.com/logged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"IgnoresOtherEndpointsTargetParam", "acme", kV2,
         "post_logout_redirect_uri=https://evil.net/", "", kAllow, v1::REASON_LOGGED_OUT_PAGE, ""},
        {"EmptyValueIsAbsent", "acme", kV2, "returnTo=&client_id=web", "", kAllow,
         v1::REASON_DEFAULT_REDIRECT, "https://app.example.com/bye"},
        {"LeadingQuestionMarkAccepted", "acme", kV2,
         "?returnTo=https://acme.example.com/logged-out", "", kAllow, v1::REASON_REDIRECT_ALLOWED,
         "https://acme.example.com/logged-out"},
        {"DeniesOversizeTarget", "acme", kV2, "returnTo=" + kTooLongTarget, "", kDeny,
         v1::REASON_PARAMETER_TOO_LONG, ""},
        {"DeniesOversizeQuery", "acme", kV2, "x=" + std::string(40000, 'a'), "", kDeny,
         v1::REASON_PARAMETER_TOO_LONG, ""},
        {"DeniesNul", "acme", kV2, "returnTo=https://acme.example.com/logged-out%00", "", kDeny,
         v1::REASON_INVALID_CHARACTERS, ""},
        {"DeniesInvalidUtf8", "acme", kV2, "returnTo=https://acme.example.com/%FF", "", kDeny,
         v1::REASON_INVALID_CHARACTERS, ""},
        {"DeniesC1Control", "acme", kV2, "client_id=web%C2%85", "", kDeny,
         v1::REASON_INVALID_CHARACTERS, ""},
        {"DeniesDelInState", "acme", kOidc, "state=a%7Fb", "", kDeny, v1::REASON_INVALID_CHARACTERS,
         ""},
        // --- federated.
        {"FederatedInvalidOnOidcDenied", "acme", kOidc, "federated=yes", "", kDeny,
         v1::REASON_INVALID_FEDERATED, ""},
        {"FederatedAnyValueOnV2Accepted", "acme", kV2, "federated=yes", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        // --- Allow-list scope.
        {"ClientListUsedForClient", "acme", kV2,
         "client_id=web&returnTo=https://app.example.com/alt", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://app.example.com/alt"},
        {"ClientWildcardPrefixSuffix", "acme", kV2,
         "client_id=web&returnTo=https://pr-12-x.apps.example.com/", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://pr-12-x.apps.example.com/"},
        {"ClientDoesNotFallBackToTenantList", "acme", kV2,
         "client_id=web&returnTo=https://acme.example.com/logged-out", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"OtherClientsUrlDenied", "acme", kV2, "client_id=web&returnTo=https://other.example.com/",
         "", kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"TenantListDoesNotIncludeClientUrls", "acme", kV2, "returnTo=https://app.example.com/bye",
         "", kDeny, v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"UnknownClientDenied", "acme", kV2,
         "client_id=nope&returnTo=https://acme.example.com/logged-out", "", kDeny,
         v1::REASON_UNKNOWN_CLIENT, ""},
        {"UnknownClientDeniedWithoutTarget", "acme", kV2, "client_id=nope", "", kDeny,
         v1::REASON_UNKNOWN_CLIENT, ""},
        {"EmptyClientListAllowsNothing", "acme", kV2,
         "client_id=empty&returnTo=https://acme.example.com/logged-out", "", kDeny,
         v1::REASON_ALLOW_LIST_EMPTY, ""},
        {"EmptyTenantListAllowsNothing", "emptylist", kV2, "returnTo=https://x.example.com/", "",
         kDeny, v1::REASON_ALLOW_LIST_EMPTY, ""},
        {"EmptyTenantListStillLogsOut", "emptylist", kV2, "", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"ClientWithoutTargetGetsFirstEntry", "acme", kV2, "client_id=web", "", kAllow,
         v1::REASON_DEFAULT_REDIRECT, "https://app.example.com/bye"},
        {"ClientWithOnlyWildcardsGetsLoggedOutPage", "acme", kV2, "client_id=wild-only", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"EmptyClientWithoutTargetGetsLoggedOutPage", "acme", kV2, "client_id=empty", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"NoClientNoTargetShowsLoggedOutPage", "acme", kV2, "", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        // --- EXACT matching.
        {"ExactAllowsByteIdentical", "exact", kOidc,
         "post_logout_redirect_uri=https://exact.example.com/cb%3Fx%3D1", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://exact.example.com/cb?x=1"},
        {"ExactDeniesCaseChange", "exact", kOidc,
         "post_logout_redirect_uri=https://EXACT.example.com/cb%3Fx%3D1", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"ExactDeniesDefaultPort", "exact", kOidc,
         "post_logout_redirect_uri=https://exact.example.com:443/cb%3Fx%3D1", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"ExactDeniesExtraQuery", "exact", kOidc,
         "post_logout_redirect_uri=https://exact.example.com/cb%3Fx%3D1%26y", "", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        // --- state.
        {"StateAppendedOnRedirect", "acme", kOidc,
         "post_logout_redirect_uri=https://acme.example.com/logged-out&state=abc", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out?state=abc"},
        {"StateReplacesExistingAndKeepsOthers", "acme", kOidc,
         "post_logout_redirect_uri=https://acme.example.com/"
         "logged-out%3Fa%3D1%26state%3Dold%26b%3D%2520"
         "%23frag&state=a+b%26c%3D%23",
         "", kAllow, v1::REASON_REDIRECT_ALLOWED,
         "https://acme.example.com/logged-out?a=1&b=%20&state=a%20b%26c%3D%23#frag"},
        {"StateNotSetWithoutRedirect", "acme", kOidc, "state=abc", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"StateIgnoredOnV2", "acme", kV2, "returnTo=https://acme.example.com/logged-out&state=abc",
         "", kAllow, v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        // --- ui_locales.
        {"EnabledLocaleAccepted", "acme", kOidc, "ui_locales=FR-ca+de", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"DisabledFirstLocaleDenied", "acme", kOidc, "ui_locales=de+en", "", kDeny,
         v1::REASON_UNSUPPORTED_LOCALE, ""},
        // --- id_token_hint until verification lands; STRICT profile.
        {"MalformedHintDenied", "acme", kOidc, "id_token_hint=eyJhbGciOi.x.y", "", kDeny,
         v1::REASON_ID_TOKEN_HINT_INVALID, ""},
        {"HintIgnoredOnV2", "acme", kV2, "id_token_hint=eyJhbGciOi.x.y", "", kAllow,
         v1::REASON_LOGGED_OUT_PAGE, ""},
        {"StrictRequiresHint", "strict", kOidc,
         "post_logout_redirect_uri=https://strict.example.com/cb", "", kDeny,
         v1::REASON_ID_TOKEN_HINT_REQUIRED, ""},
        {"StrictDoesNotAffectV2", "strict", kV2, "returnTo=https://strict.example.com/cb", "",
         kAllow, v1::REASON_REDIRECT_ALLOWED, "https://strict.example.com/cb"},
        // --- Confirmation.
        {"SessionWithoutHintNeedsConfirmation", "acme", kOidc,
         "post_logout_redirect_uri=https://acme.example.com/logged-out&state=s", "sid-1", kConfirm,
         v1::REASON_CONFIRMATION_REQUIRED, "https://acme.example.com/logged-out?state=s"},
        {"ConfirmationStillValidatesTarget", "acme", kOidc,
         "post_logout_redirect_uri=https://evil.net/", "sid-1", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
        {"MatchingLogoutHintSkipsConfirmation", "acme", kOidc,
         "post_logout_redirect_uri=https://acme.example.com/logged-out&logout_hint=sid-1", "sid-1",
         kAllow, v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"OtherLogoutHintNeedsConfirmation", "acme", kOidc, "logout_hint=sid-2", "sid-1", kConfirm,
         v1::REASON_CONFIRMATION_REQUIRED, ""},
        {"NoSessionNothingToConfirm", "acme", kOidc,
         "post_logout_redirect_uri=https://acme.example.com/logged-out", "", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"V2NeverPrompts", "acme", kV2, "returnTo=https://acme.example.com/logged-out", "sid-1",
         kAllow, v1::REASON_REDIRECT_ALLOWED, "https://acme.example.com/logged-out"},
        {"PromptDisabledNeverPrompts", "noprompt", kOidc,
         "post_logout_redirect_uri=https://noprompt.example.com/", "sid-1", kAllow,
         v1::REASON_REDIRECT_ALLOWED, "https://noprompt.example.com/"},
        {"PromptDisabledStillValidatesTarget", "noprompt", kOidc,
         "post_logout_redirect_uri=https://evil.net/", "sid-1", kDeny,
         v1::REASON_TARGET_NOT_ALLOWED, ""},
    }),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

class EngineStatusTest : public ::testing::Test {
 protected:
  void SetUp() override { policy_ = testing::CompileOrDie(kPolicy, 7); }
  absl::Status Decide(const v1::ValidateLogoutRequest& req) {
    return policy::Decide(*policy_, req, kNow, &resp_);
  }
  std::shared_ptr<const CompiledPolicy> policy_;
  v1::ValidateLogoutResponse resp_;
};

TEST_F(EngineStatusTest, UnknownTenantIsNotFound) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("nope");
  req.set_endpoint(kV2);
  EXPECT_EQ(Decide(req).code(), absl::StatusCode::kNotFound);
}

TEST_F(EngineStatusTest, MissingTenantIsInvalidArgument) {
  v1::ValidateLogoutRequest req;
  req.set_endpoint(kV2);
  EXPECT_EQ(Decide(req).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineStatusTest, MissingEndpointIsInvalidArgument) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  EXPECT_EQ(Decide(req).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineStatusTest, ControlCharacterSessionIdIsInvalidArgument) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(kOidc);
  req.set_session_id(std::string("a\nb"));
  EXPECT_EQ(Decide(req).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineStatusTest, ParsedParamsDecideLikeRawQuery) {
  v1::ValidateLogoutRequest raw;
  raw.set_tenant("acme");
  raw.set_endpoint(kOidc);
  raw.set_session_id("sid-1");
  raw.set_raw_query(
      "post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&client_id=web&state=x%20y"
      "&federated=&logout_hint=sid-1&ui_locales=en");
  v1::ValidateLogoutRequest parsed = raw;
  v1::LogoutParams* p = parsed.mutable_params();
  p->set_post_logout_redirect_uri("https://app.example.com/bye");
  p->set_client_id("web");
  p->set_state("x y");
  p->set_federated("");
  p->set_logout_hint("sid-1");
  p->set_ui_locales("en");
  ASSERT_TRUE(Decide(raw).ok());
  const v1::ValidateLogoutResponse from_raw = resp_;
  ASSERT_TRUE(Decide(parsed).ok());
  EXPECT_EQ(resp_.SerializeAsString(), from_raw.SerializeAsString());
  EXPECT_EQ(resp_.decision(), kAllow);
  EXPECT_EQ(resp_.redirect_url(), "https://app.example.com/bye?state=x%20y");
  EXPECT_TRUE(resp_.federated());
  EXPECT_EQ(resp_.client_id(), "web");
  EXPECT_EQ(resp_.client_source(), v1::CLIENT_SOURCE_CLIENT_ID);
  EXPECT_EQ(resp_.allow_list_scope(), v1::ALLOW_LIST_SCOPE_APPLICATION);
  EXPECT_EQ(resp_.target_source(), v1::TARGET_SOURCE_REQUESTED);
  EXPECT_EQ(resp_.matched_entry(), "https://app.example.com/bye");
  EXPECT_EQ(resp_.session().sid(), "sid-1");
}

TEST_F(EngineStatusTest, ParsedParamsOversizeHintDenied) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(kOidc);
  req.mutable_params()->set_id_token_hint(std::string(16 * 1024 + 1, 'a'));
  ASSERT_TRUE(Decide(req).ok());
  EXPECT_EQ(resp_.decision(), kDeny);
  EXPECT_EQ(resp_.reason(), v1::REASON_PARAMETER_TOO_LONG);
}

TEST_F(EngineStatusTest, FederatedValues) {
  struct FedCase {
    v1::Endpoint endpoint;
    const char* query;
    bool federated;
  };
  for (const FedCase& c : std::vector<FedCase>{{kOidc, "", false},
                                               {kOidc, "federated", true},
                                               {kOidc, "federated=", true},
                                               {kOidc, "federated=true", true},
                                               {kOidc, "federated=false", false},
                                               {kV2, "federated", true},
                                               {kV2, "federated=false", false}}) {
    v1::ValidateLogoutRequest req;
    req.set_tenant("acme");
    req.set_endpoint(c.endpoint);
    req.set_raw_query(c.query);
    ASSERT_TRUE(Decide(req).ok());
    EXPECT_EQ(resp_.decision(), kAllow) << c.query;
    EXPECT_EQ(resp_.federated(), c.federated) << c.query;
  }
}

TEST_F(EngineStatusTest, DuplicateDescriptionNamesParameterWithoutValue) {
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(kOidc);
  req.set_raw_query("id_token_hint=secret.token.one&id_token_hint=secret.token.two");
  ASSERT_TRUE(Decide(req).ok());
  EXPECT_EQ(resp_.reason(), v1::REASON_DUPLICATE_PARAMETER);
  EXPECT_EQ(resp_.error_description(), "'id_token_hint' parameter must not be provided twice");
  EXPECT_EQ(resp_.DebugString().find("secret"), std::string::npos);
}

TEST(WithStateTest, EncodesAndReplaces) {
  auto u = url::Url::Parse("https://a.example.com/p?state=1&x=%41&state=2#f");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(WithState(*u, "\xC3\xA9 &=#?").href(),
            "https://a.example.com/p?x=%41&state=%C3%A9%20%26%3D%23%3F#f");
}

}  // namespace
}  // namespace logout::policy
