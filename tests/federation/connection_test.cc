// Tests for service/federation/connection: what a valid connection compiles to (strategy
// default, template origin, serialised URLs) and the exact message of every validation error.
#include "service/federation/connection.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "logout/v1/policy.pb.h"

namespace logout::federation {
namespace {

v1::Connection ParseConnection(const std::string& text) {
  v1::Connection c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

absl::string_view DefaultName(DefaultLogout d) {
  switch (d) {
    case DefaultLogout::kOidcEndSession:
      return "oidc-end-session";
    case DefaultLogout::kFacebook:
      return "facebook";
    case DefaultLogout::kSamlSignOut:
      return "saml-sign-out";
    case DefaultLogout::kUpstreamMayNotReturn:
      return "upstream-may-not-return";
  }
  return "?";
}

// Summary renders what Compile kept, one "key=value" per configured item, for exact comparison.
std::string Summary(const CompiledConnection& c) {
  std::string s = absl::StrCat("default=", DefaultName(c.default_logout()));
  if (c.logout_url_template()) {
    absl::StrAppend(&s, " template_origin=", c.template_origin());
  }
  if (c.logout_url()) absl::StrAppend(&s, " logout_url=", c.logout_url()->href());
  if (c.end_session_endpoint()) {
    absl::StrAppend(&s, " end_session_endpoint=", c.end_session_endpoint()->href());
  }
  if (c.sign_out_endpoint()) {
    absl::StrAppend(&s, " sign_out_endpoint=", c.sign_out_endpoint()->href());
  }
  if (c.provider_logout_url()) {
    absl::StrAppend(&s, " provider_logout_url=", c.provider_logout_url()->href());
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Valid connections.

struct CompileCase {
  std::string name;
  std::string connection;  // text format
  bool allow_http_loopback;
  std::string summary;
};

void PrintTo(const CompileCase& c, std::ostream* os) { *os << c.name; }

std::vector<CompileCase> CompileCases() {
  return {
      {"OidcEndSessionEndpointIsKeptSerialised",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://OP.Example.com:443/a/../logout?x=1" })pb",
       false, "default=oidc-end-session end_session_endpoint=https://op.example.com/logout?x=1"},
      {"OktaWithoutEndpointStillUsesTheOidcDefault", R"pb(name: "okta" strategy: "okta")pb", false,
       "default=oidc-end-session"},
      {"WaadIsOidcEndSession",
       R"pb(name: "azure"
            strategy: "waad"
            logout {
              end_session_endpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/logout"
            })pb",
       false,
       "default=oidc-end-session "
       "end_session_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/logout"},
      {"FacebookGetsItsProviderLogoutUrl", R"pb(name: "fb" strategy: "facebook")pb", false,
       "default=facebook provider_logout_url=https://www.facebook.com/logout.php"},
      {"SamlpKeepsSignOutEndpoint",
       R"pb(name: "saml"
            strategy: "samlp"
            logout { sign_out_endpoint: "https://idp.example.com/saml/slo" })pb",
       false, "default=saml-sign-out sign_out_endpoint=https://idp.example.com/saml/slo"},
      {"GoogleMayNotReturn", R"pb(name: "google" strategy: "google-oauth2")pb", false,
       "default=upstream-may-not-return"},
      {"UnknownStrategyIsAcceptedAndMayNotReturn", R"pb(name: "x" strategy: "acme-sso")pb", false,
       "default=upstream-may-not-return"},
      {"UnknownStrategyWithEndSessionEndpointIsOidc",
       R"pb(name: "kc"
            strategy: "keycloak"
            logout { end_session_endpoint: "https://kc.example.com/realms/a/logout" })pb",
       false,
       "default=oidc-end-session end_session_endpoint=https://kc.example.com/realms/a/logout"},
      {"TemplateOriginComesFromTheLiteralPrefix",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com/v2/logout{?returnTo,client_id}" })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com"},
      {"TemplateOriginKeepsAnExplicitPort",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://IDP.example.com:8443/logout{?state}" })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com:8443"},
      {"TemplateQueryRightAfterTheHostIsAccepted",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com{?returnTo}" })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com"},
      {"TemplatePathThenQueryAfterTheHostIsAccepted",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com{/tenant}{?returnTo}" })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com"},
      {"TemplateWithoutExpressionsIsAccepted",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://idp.example.com" })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com"},
      {"TemplateMayUseReservedExpansionOfUpstreamClientId",
       R"pb(name: "corp"
            strategy: "oidc"
            logout {
              logout_url_template: "https://idp.example.com/t/{+upstream_client_id}{?returnTo}"
              upstream_client_id: "acme/eu"
            })pb",
       false, "default=oidc-end-session template_origin=https://idp.example.com"},
      {"TemplateUnicodeHostIsPunycodeInTheOrigin",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { logout_url_template: "https://b\303\274cher.example/logout{?state}" })pb",
       false, "default=oidc-end-session template_origin=https://xn--bcher-kva.example"},
      {"LoopbackHttpLocalhostWithTheOption",
       R"pb(name: "dev"
            strategy: "oidc"
            logout { end_session_endpoint: "http://localhost:3000/logout" })pb",
       true, "default=oidc-end-session end_session_endpoint=http://localhost:3000/logout"},
      {"LoopbackHttpIpv4WithTheOption",
       R"pb(name: "dev"
            strategy: "samlp"
            logout { sign_out_endpoint: "http://127.0.0.1:8080/slo" })pb",
       true, "default=saml-sign-out sign_out_endpoint=http://127.0.0.1:8080/slo"},
      {"LoopbackHttpIpv6WithTheOption", R"pb(name: "dev"
                                             strategy: "x"
                                             logout { logout_url: "http://[0:0::1]:8080/bye" })pb",
       true, "default=upstream-may-not-return logout_url=http://[::1]:8080/bye"},
      {"LoopbackHttpTemplateWithTheOption",
       R"pb(name: "dev"
            strategy: "oidc"
            logout { logout_url_template: "http://localhost:3000/logout{?returnTo}" })pb",
       true, "default=oidc-end-session template_origin=http://localhost:3000"},
      {"HttpsStaysAcceptedWithTheOption",
       R"pb(name: "corp"
            strategy: "x"
            logout { logout_url: "https://idp.example.com/bye" })pb",
       true, "default=upstream-may-not-return logout_url=https://idp.example.com/bye"},
      {"ReturnToParamOf64CharactersIsAccepted",
       R"pb(name: "corp"
            strategy: "x"
            logout {
              logout_url: "https://idp.example.com/bye"
              return_to_param: "a234567890123456789012345678901234567890123456789012345678901_.-"
            })pb",
       false, "default=upstream-may-not-return logout_url=https://idp.example.com/bye"},
      {"UnicodeUpstreamClientIdIsAccepted", R"pb(name: "corp"
                                                 strategy: "x"
                                                 logout { upstream_client_id: "cl\303\251" })pb",
       false, "default=upstream-may-not-return"},
  };
}

class CompileTest : public ::testing::TestWithParam<CompileCase> {};

TEST_P(CompileTest, CompilesToTheExpectedForm) {
  const CompileCase& c = GetParam();
  absl::StatusOr<CompiledConnection> compiled = CompiledConnection::Compile(
      ParseConnection(c.connection), {.allow_http_loopback = c.allow_http_loopback});
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(Summary(*compiled), c.summary);
}

INSTANTIATE_TEST_SUITE_P(Connections, CompileTest, ::testing::ValuesIn(CompileCases()),
                         [](const ::testing::TestParamInfo<CompileCase>& info) {
                           return info.param.name;
                         });

TEST(CompileTest, KeepsNameStrategyAndFlags) {
  absl::StatusOr<CompiledConnection> c =
      CompiledConnection::Compile(ParseConnection(R"pb(name: "corp"
                                                       strategy: "oidc"
                                                       logout {
                                                         send_id_token_hint: true
                                                         send_client_id: true
                                                         disable_signout: true
                                                         upstream_client_id: "up-1"
                                                         return_to_param: "returnTo"
                                                       })pb"),
                                  {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name(), "corp");
  EXPECT_EQ(c->strategy(), "oidc");
  EXPECT_TRUE(c->send_id_token_hint());
  EXPECT_TRUE(c->send_client_id());
  EXPECT_TRUE(c->disable_signout());
  EXPECT_EQ(c->upstream_client_id(), "up-1");
  EXPECT_EQ(c->return_to_param(), "returnTo");
  EXPECT_FALSE(c->logout_url_template().has_value());
  EXPECT_EQ(c->template_origin(), "");
}

// ---------------------------------------------------------------------------------------------
// Validation errors: each with its exact message.

struct RefuseCase {
  std::string name;
  std::string connection;  // text format
  bool allow_http_loopback;
  std::string message;  // the whole message
};

void PrintTo(const RefuseCase& c, std::ostream* os) { *os << c.name; }

constexpr char kNotHttps[] = "must be an absolute https URL";
constexpr char kLoopbackNeedsOption[] =
    "must be an absolute https URL; http is accepted only for localhost, 127.0.0.1 or [::1] with "
    "allow_http_loopback";
constexpr char kUserinfo[] = "must not contain userinfo ('@' in the authority)";
constexpr char kNotLiteral[] =
    "the origin must be literal text: a variable may not supply or extend the host or port";
constexpr char kNoLiteralHost[] = "must start with \"https://\" and a literal host";

std::string Tpl(const std::string& tpl) {
  return absl::StrCat(R"pb(name: "corp"
                           strategy: "oidc"
                           logout { logout_url_template: ")pb",
                      tpl, "\" }");
}
std::string TplError(const std::string& tpl_escaped, const std::string& why) {
  return absl::StrCat(R"(connection "corp": logout.logout_url_template ")", tpl_escaped,
                      "\": ", why);
}
// ReservedError is the message for reserved expansion of `variable`.
std::string ReservedError(const std::string& variable) {
  return absl::StrCat("variable \"", variable,
                      "\" must not use reserved expansion (\"{+...}\" or \"{#...}\"); only "
                      "upstream_client_id may");
}

std::vector<RefuseCase> RefuseCases() {
  const std::string long_url = "https://idp.example.com/" + std::string(2048 - 24 + 1, 'a');
  return {
      // Names.
      {"RefusesEmptyName", R"pb(strategy: "oidc")pb", false,
       "connection: name \"\": must be 1-256 printable bytes (no spaces or control characters)"},
      {"RefusesNameWithSpace", R"pb(name: "my corp" strategy: "oidc")pb", false,
       "connection: name \"my corp\": must be 1-256 printable bytes (no spaces or control "
       "characters)"},
      {"RefusesNameOver256Bytes",
       absl::StrCat(R"(name: ")", std::string(257, 'n'), R"(" strategy: "oidc")"), false,
       absl::StrCat("connection: name \"", std::string(128, 'n'),
                    "\"...: must be 1-256 printable bytes (no spaces or control characters)")},
      {"RefusesEmptyStrategy", R"pb(name: "corp")pb", false,
       "connection \"corp\": strategy \"\": must be 1-256 printable bytes (no spaces or control "
       "characters)"},
      {"RefusesStrategyWithControlCharacter", R"pb(name: "corp" strategy: "oidc\n")pb", false,
       "connection \"corp\": strategy \"oidc\\n\": must be 1-256 printable bytes (no spaces or "
       "control characters)"},
      // Configured URLs.
      {"RefusesHttpLogoutUrl", R"pb(name: "corp"
                                    strategy: "x"
                                    logout { logout_url: "http://idp.example.com/x" })pb",
       false,
       absl::StrCat(R"(connection "corp": logout.logout_url "http://idp.example.com/x": )",
                    kNotHttps)},
      {"RefusesHttpEvenWithTheLoopbackOption", R"pb(name: "corp"
                                                    strategy: "x"
                                                    logout { logout_url: "http://10.0.0.1/x" })pb",
       true,
       absl::StrCat(R"(connection "corp": logout.logout_url "http://10.0.0.1/x": )", kNotHttps)},
      {"RefusesLocalhostLookalikeWithTheLoopbackOption",
       R"pb(name: "corp"
            strategy: "x"
            logout { logout_url: "http://localhost.evil.example/" })pb",
       true,
       absl::StrCat(R"(connection "corp": logout.logout_url "http://localhost.evil.example/": )",
                    kNotHttps)},
      {"RefusesLoopbackHttpWithoutTheOption",
       R"pb(name: "dev"
            strategy: "oidc"
            logout { end_session_endpoint: "http://localhost:3000/logout" })pb",
       false,
       absl::StrCat(
           R"(connection "dev": logout.end_session_endpoint "http://localhost:3000/logout": )",
           kLoopbackNeedsOption)},
      {"RefusesLoopbackIpv4HttpWithoutTheOption",
       R"pb(name: "dev"
            strategy: "samlp"
            logout { sign_out_endpoint: "http://127.0.0.1/slo" })pb",
       false,
       absl::StrCat(R"(connection "dev": logout.sign_out_endpoint "http://127.0.0.1/slo": )",
                    kLoopbackNeedsOption)},
      {"RefusesRelativeEndSessionEndpoint", R"pb(name: "corp"
                                                 strategy: "oidc"
                                                 logout { end_session_endpoint: "/logout" })pb",
       false,
       absl::StrCat(R"(connection "corp": logout.end_session_endpoint "/logout": )", kNotHttps)},
      {"RefusesSchemeWithoutSlashes",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https:idp.example.com/logout" })pb",
       false,
       absl::StrCat(
           R"(connection "corp": logout.end_session_endpoint "https:idp.example.com/logout": )",
           kNotHttps)},
      {"RefusesJavascriptUrl", R"pb(name: "corp"
                                    strategy: "x"
                                    logout { logout_url: "javascript:alert(1)" })pb",
       false,
       absl::StrCat("connection \"corp\": logout.logout_url \"javascript:alert(1)\": ", kNotHttps)},
      {"RefusesUserinfo",
       R"pb(name: "corp"
            strategy: "x"
            logout { logout_url: "https://user:pw@idp.example.com/x" })pb",
       false,
       absl::StrCat(R"(connection "corp": logout.logout_url "https://user:pw@idp.example.com/x": )",
                    kUserinfo)},
      {"RefusesBareAtSign",
       R"pb(name: "corp"
            strategy: "oidc"
            logout { end_session_endpoint: "https://@idp.example.com/x" })pb",
       false,
       absl::StrCat(
           R"(connection "corp": logout.end_session_endpoint "https://@idp.example.com/x": )",
           kUserinfo)},
      {"RefusesFragment",
       R"pb(name: "corp"
            strategy: "samlp"
            logout { sign_out_endpoint: "https://idp.example.com/slo#top" })pb",
       false,
       "connection \"corp\": logout.sign_out_endpoint \"https://idp.example.com/slo#top\": must "
       "not have a fragment"},
      {"RefusesEmptyFragment", R"pb(name: "corp"
                                    strategy: "x"
                                    logout { logout_url: "https://idp.example.com/x#" })pb",
       false,
       "connection \"corp\": logout.logout_url \"https://idp.example.com/x#\": must not have a "
       "fragment"},
      {"RefusesSpaces", R"pb(name: "corp"
                             strategy: "x"
                             logout { logout_url: " https://idp.example.com/x" })pb",
       false,
       "connection \"corp\": logout.logout_url \" https://idp.example.com/x\": must not contain "
       "spaces or control characters"},
      {"RefusesUnparsableUrl", R"pb(name: "corp"
                                    strategy: "x"
                                    logout { logout_url: "https://[::1/x" })pb",
       false, R"(connection "corp": logout.logout_url "https://[::1/x": is not a valid URL)"},
      {"RefusesUrlOver2048BytesQuotingItShortened",
       absl::StrCat(R"pb(name: "corp"
                         strategy: "x"
                         logout { logout_url: ")pb",
                    long_url, "\" }"),
       false,
       absl::StrCat(R"(connection "corp": logout.logout_url ")", long_url.substr(0, 128),
                    "\"...: must be at most 2048 bytes")},
      // Templates.
      {"RefusesBadTemplateSyntax", Tpl("https://idp.example.com/logout{?returnTo"), false,
       TplError("https://idp.example.com/logout{?returnTo",
                "uri template: offset 30: unclosed expression (at \"{?returnTo\")")},
      {"RefusesTemplateWithReservedOperatorSyntax", Tpl("https://idp.example.com/{=x}"), false,
       TplError("https://idp.example.com/{=x}",
                "uri template: offset 25: operator '=' is reserved by RFC 6570 and not supported "
                "(at \"=x}\")")},
      {"RefusesTemplateThatIsOnlyAReservedReturnTo", Tpl("{+returnTo}"), false,
       TplError("{+returnTo}", kNoLiteralHost)},
      {"RefusesTemplateWithoutScheme", Tpl("idp.example.com/logout{?returnTo}"), false,
       TplError("idp.example.com/logout{?returnTo}", kNoLiteralHost)},
      {"RefusesTemplateWhoseHostIsAVariable", Tpl("https://{host}/logout"), false,
       TplError("https://{host}/logout", kNotLiteral)},
      {"RefusesTemplateWhoseHostIsAReservedVariable", Tpl("https://{+upstream_client_id}/x"), false,
       TplError("https://{+upstream_client_id}/x", kNotLiteral)},
      {"RefusesTemplateWithVariableLabelInTheHost", Tpl("https://idp.{region}.example.com/x"),
       false, TplError("https://idp.{region}.example.com/x", kNotLiteral)},
      {"RefusesTemplateThatExtendsTheHost", Tpl("https://idp.example.com{.tld}/logout"), false,
       TplError("https://idp.example.com{.tld}/logout", kNotLiteral)},
      {"RefusesTemplateWithVariablePort", Tpl("https://idp.example.com:{port}/logout"), false,
       TplError("https://idp.example.com:{port}/logout", kNotLiteral)},
      {"RefusesLiteralHostTextAfterAnEmptyableExpression",
       Tpl("https://idp.example.com{?a}.evil.example/"), false,
       TplError("https://idp.example.com{?a}.evil.example/", kNotLiteral)},
      {"RefusesSimpleExpressionAfterAnEmptyablePathExpression",
       Tpl("https://idp.example.com{/a}{b}"), false,
       TplError("https://idp.example.com{/a}{b}", kNotLiteral)},
      {"RefusesHttpTemplate", Tpl("http://idp.example.com/logout{?returnTo}"), false,
       TplError("http://idp.example.com/logout{?returnTo}", kNotHttps)},
      {"RefusesLoopbackHttpTemplateWithoutTheOption",
       Tpl("http://localhost:3000/logout{?returnTo}"), false,
       TplError("http://localhost:3000/logout{?returnTo}", kLoopbackNeedsOption)},
      {"RefusesTemplateWithUserinfo", Tpl("https://user@idp.example.com/logout{?returnTo}"), false,
       TplError("https://user@idp.example.com/logout{?returnTo}", kUserinfo)},
      {"RefusesReservedExpansionOfReturnTo",
       Tpl("https://idp.example.com/logout?returnTo={+returnTo}"), false,
       TplError("https://idp.example.com/logout?returnTo={+returnTo}", ReservedError("returnTo"))},
      {"RefusesFragmentExpansionOfState", Tpl("https://idp.example.com/logout{#state}"), false,
       TplError("https://idp.example.com/logout{#state}", ReservedError("state"))},
      {"RefusesTemplateWithALiteralFragmentAfterAnExpression",
       Tpl("https://idp.example.com/logout{?returnTo}#{state}"), false,
       TplError("https://idp.example.com/logout{?returnTo}#{state}",
                "must not have a fragment (a literal '#')")},
      {"RefusesTemplateWithALiteralFragment", Tpl("https://idp.example.com/logout{?returnTo}#frag"),
       false,
       TplError("https://idp.example.com/logout{?returnTo}#frag",
                "must not have a fragment (a literal '#')")},
      {"RefusesTemplateWithAFragmentInItsLiteralPrefix",
       Tpl("https://idp.example.com/#/logout{?returnTo}"), false,
       TplError("https://idp.example.com/#/logout{?returnTo}",
                "must not have a fragment (a literal '#')")},
      {"RefusesFragmentExpansionOfTheTrustedVariable",
       Tpl("https://idp.example.com/logout{#upstream_client_id}"), false,
       TplError("https://idp.example.com/logout{#upstream_client_id}",
                "must not have a fragment (a \"{#...}\" expression)")},
      {"RefusesUpstreamClientIdWithHashUnderReservedExpansion",
       R"pb(name: "corp"
            strategy: "x"
            logout {
              logout_url_template: "https://idp.example.com/{+upstream_client_id}/logout"
              upstream_client_id: "tenant#x"
            })pb",
       false,
       "connection \"corp\": logout.upstream_client_id \"tenant#x\": must not contain '#' when "
       "logout.logout_url_template expands it with \"{+upstream_client_id}\" (it would start a "
       "fragment)"},
      {"RefusesReservedExpansionOfAQueryVariable", Tpl("https://idp.example.com/{+next}"), false,
       TplError("https://idp.example.com/{+next}", ReservedError("next"))},
      {"RefusesReservedExpansionOfIdTokenHint",
       Tpl("https://idp.example.com/logout?h={+id_token_hint}"), false,
       TplError("https://idp.example.com/logout?h={+id_token_hint}",
                ReservedError("id_token_hint"))},
      {"RefusesReservedExpansionOfClientIdNextToUpstreamClientId",
       Tpl("https://idp.example.com/{+upstream_client_id,client_id}"), false,
       TplError("https://idp.example.com/{+upstream_client_id,client_id}",
                ReservedError("client_id"))},
      // Other fields.
      {"RefusesReturnToParamWithSpace", R"pb(name: "corp"
                                             strategy: "x"
                                             logout { return_to_param: "return to" })pb",
       false,
       "connection \"corp\": logout.return_to_param \"return to\": must be 1-64 characters of "
       "[A-Za-z0-9_.-]"},
      {"RefusesReturnToParamWithAmpersand", R"pb(name: "corp"
                                                 strategy: "x"
                                                 logout { return_to_param: "a&b=c" })pb",
       false,
       "connection \"corp\": logout.return_to_param \"a&b=c\": must be 1-64 characters of "
       "[A-Za-z0-9_.-]"},
      {"RefusesReturnToParamOver64Characters",
       absl::StrCat(R"pb(name: "corp"
                         strategy: "x"
                         logout { return_to_param: ")pb",
                    std::string(65, 'p'), "\" }"),
       false,
       absl::StrCat(R"(connection "corp": logout.return_to_param ")", std::string(65, 'p'),
                    "\": must be 1-64 characters of [A-Za-z0-9_.-]")},
      {"RefusesUpstreamClientIdWithControlCharacter",
       R"pb(name: "corp"
            strategy: "x"
            logout { upstream_client_id: "a\tb" })pb",
       false,
       "connection \"corp\": logout.upstream_client_id \"a\\tb\": must be at most 256 bytes of "
       "UTF-8 without control characters"},
      {"RefusesUpstreamClientIdThatIsNotUtf8", R"pb(name: "corp"
                                                    strategy: "x"
                                                    logout { upstream_client_id: "a\377" })pb",
       false,
       "connection \"corp\": logout.upstream_client_id \"a\\377\": must be at most 256 bytes of "
       "UTF-8 without control characters"},
  };
}

class RefuseTest : public ::testing::TestWithParam<RefuseCase> {};

TEST_P(RefuseTest, RefusesWithTheExactMessage) {
  const RefuseCase& c = GetParam();
  absl::StatusOr<CompiledConnection> compiled = CompiledConnection::Compile(
      ParseConnection(c.connection), {.allow_http_loopback = c.allow_http_loopback});
  ASSERT_FALSE(compiled.ok()) << Summary(*compiled);
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(compiled.status().message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(Connections, RefuseTest, ::testing::ValuesIn(RefuseCases()),
                         [](const ::testing::TestParamInfo<RefuseCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace logout::federation
