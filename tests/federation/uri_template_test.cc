// Tests for service/federation/uri_template: the whole RFC 6570 conformance suite
// (uritemplate-test, read in place from URITEMPLATE_DIR) and named, table-driven cases for
// logout URL templates: translations of Auth0 getLogoutUrl scripts, reserved expansion, UTF-8
// prefixes, limits and precise parse errors.
#include "service/federation/uri_template.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace logout::federation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
// ordered_json keeps the members of an object in file order, which is the order in which an
// associative array is expanded.
using Json = nlohmann::ordered_json;

// IsCleanOutput: every byte printable ASCII other than space (what Expand promises).
bool IsCleanOutput(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b > 0x20 && b < 0x7F;
  });
}

// ---------------------------------------------------------------------------------------------
// The conformance suite.

// Scalar renders a JSON string or number as the suite means it: numbers as their JSON text.
std::optional<std::string> Scalar(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  return std::nullopt;
}

// ToValue converts one variable of the suite; nullopt for shapes the suite does not use.
std::optional<TemplateValue> ToValue(const Json& j) {
  if (j.is_null()) return TemplateValue::Undefined();
  if (std::optional<std::string> s = Scalar(j)) return TemplateValue::String(*std::move(s));
  if (j.is_array()) {
    std::vector<std::string> items;
    for (const Json& item : j) {
      std::optional<std::string> s = Scalar(item);
      if (!s) return std::nullopt;
      items.push_back(*std::move(s));
    }
    return TemplateValue::List(std::move(items));
  }
  if (j.is_object()) {
    std::vector<TemplateValue::Pair> pairs;
    for (const auto& [key, value] : j.items()) {
      std::optional<std::string> s = Scalar(value);
      if (!s) return std::nullopt;
      pairs.emplace_back(key, *std::move(s));
    }
    return TemplateValue::Assoc(std::move(pairs));
  }
  return std::nullopt;
}

struct FileResult {
  std::string name;  // without ".json"
  int passed = 0;
  int total = 0;
  int rejected_by_parse = 0;   // `false` cases that Parse refused
  int rejected_by_expand = 0;  // `false` cases that Parse accepted and Expand refused
};

// RunCase runs one [template, expected] case; returns "" when it passes, else what went wrong.
std::string RunCase(const std::string& text, const Json& expected, const TemplateVariables& vars,
                    FileResult* result) {
  absl::StatusOr<UriTemplate> t = UriTemplate::Parse(text);
  if (expected.is_boolean() && !expected.get<bool>()) {
    if (!t.ok()) {
      if (t.status().code() != absl::StatusCode::kInvalidArgument) {
        return absl::StrCat("Parse failed with the wrong code: ", t.status().ToString());
      }
      ++result->rejected_by_parse;
      return "";
    }
    absl::StatusOr<std::string> out = t->Expand(vars);
    if (out.ok()) return absl::StrCat("expected a failure, got \"", *out, "\"");
    if (out.status().code() != absl::StatusCode::kInvalidArgument) {
      return absl::StrCat("Expand failed with the wrong code: ", out.status().ToString());
    }
    ++result->rejected_by_expand;
    return "";
  }
  if (!t.ok()) return absl::StrCat("Parse failed: ", t.status().ToString());
  absl::StatusOr<std::string> out = t->Expand(vars);
  if (!out.ok()) return absl::StrCat("Expand failed: ", out.status().ToString());
  if (!IsCleanOutput(*out)) return absl::StrCat("output not clean ASCII: \"", *out, "\"");
  if (expected.is_string()) {
    if (*out == expected.get<std::string>()) return "";
    return absl::StrCat("got \"", *out, "\", want \"", expected.get<std::string>(), "\"");
  }
  if (expected.is_array()) {
    for (const Json& alternative : expected) {
      if (alternative.is_string() && *out == alternative.get<std::string>()) return "";
    }
    return absl::StrCat("got \"", *out, "\", want one of ", expected.dump());
  }
  return absl::StrCat("unsupported expectation ", expected.dump());
}

// RunFile runs every case of one suite file, reporting each failure as a test failure.
FileResult RunFile(const std::filesystem::path& path) {
  FileResult result;
  result.name = path.stem().string();
  std::ifstream file(path);
  const std::string content((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  const Json doc = Json::parse(content, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    ADD_FAILURE() << path << " is not a JSON object";
    return result;
  }
  for (const auto& [group, spec] : doc.items()) {
    TemplateVariables vars;
    bool vars_ok = true;
    const Json variables = spec.value("variables", Json::object());
    const Json testcases = spec.value("testcases", Json::array());
    for (const auto& [name, value] : variables.items()) {
      std::optional<TemplateValue> v = ToValue(value);
      if (!v) {
        ADD_FAILURE() << result.name << " / " << group << ": unsupported variable " << name;
        vars_ok = false;
        continue;
      }
      vars[name] = *std::move(v);
    }
    for (const Json& tc : testcases) {
      ++result.total;
      if (!vars_ok || !tc.is_array() || tc.size() != 2 || !tc[0].is_string()) {
        ADD_FAILURE() << result.name << " / " << group << ": malformed case " << tc.dump();
        continue;
      }
      const std::string text = tc[0].get<std::string>();
      const std::string problem = RunCase(text, tc[1], vars, &result);
      if (problem.empty()) {
        ++result.passed;
      } else {
        ADD_FAILURE() << result.name << " / " << group << " / " << text << ": " << problem;
      }
    }
  }
  return result;
}

TEST(UriTemplateConformanceTest, PassesEveryCaseOfTheRfc6570Suite) {
  const std::filesystem::path dir(URITEMPLATE_DIR);
  // The four files the suite README describes come first, in its order; any further *.json in
  // the directory is run too, so nothing there is silently skipped.
  std::vector<std::string> names = {"spec-examples", "spec-examples-by-section", "extended-tests",
                                    "negative-tests"};
  std::vector<std::string> extra;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() == ".json" &&
        std::find(names.begin(), names.end(), stem) == names.end()) {
      extra.push_back(stem);
    }
  }
  ASSERT_FALSE(ec) << "cannot list " << dir << ": " << ec.message();
  std::sort(extra.begin(), extra.end());
  names.insert(names.end(), extra.begin(), extra.end());

  int passed = 0;
  int total = 0;
  std::vector<std::string> per_file;
  std::vector<std::string> negatives;
  for (const std::string& name : names) {
    const std::filesystem::path path = dir / (name + ".json");
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing";
    const FileResult r = RunFile(path);
    EXPECT_GT(r.total, 0) << path << " has no cases";
    passed += r.passed;
    total += r.total;
    per_file.push_back(absl::StrCat(r.name, " ", r.passed, "/", r.total));
    if (r.rejected_by_parse + r.rejected_by_expand > 0) {
      negatives.push_back(absl::StrCat(r.name, ": ", r.rejected_by_parse, " by Parse, ",
                                       r.rejected_by_expand, " by Expand"));
    }
  }
  std::cout << "RFC 6570 suite: " << passed << "/" << total << " passed ("
            << absl::StrJoin(per_file, ", ") << ")\n"
            << "RFC 6570 suite: invalid templates rejected (" << absl::StrJoin(negatives, "; ")
            << ")" << std::endl;
  EXPECT_EQ(passed, total);
}

// ---------------------------------------------------------------------------------------------
// Logout URL templates: expansions.

TemplateValue S(std::string s) { return TemplateValue::String(std::move(s)); }

struct ExpandCase {
  std::string name;
  std::string text;
  TemplateVariables vars;
  std::string expected;
};

// PrintTo keeps failure messages readable: the case name, not the bytes of the struct.
void PrintTo(const ExpandCase& c, std::ostream* os) { *os << c.name; }

std::vector<ExpandCase> ExpandCases() {
  return {
      // Translations of typical Auth0 getLogoutUrl scripts.
      {"Auth0V2LogoutEncodesReturnToAndClientId",
       "https://idp.example.com/v2/logout{?returnTo,client_id}",
       {{"returnTo", S("https://app.example.com/bye?a=1&b=2")}, {"client_id", S("AbC123")}},
       "https://idp.example.com/v2/logout"
       "?returnTo=https%3A%2F%2Fapp.example.com%2Fbye%3Fa%3D1%26b%3D2&client_id=AbC123"},
      {"AzureAdPostLogoutRedirectUri",
       "https://login.microsoftonline.com/common/oauth2/v2.0/logout{?post_logout_redirect_uri}",
       {{"post_logout_redirect_uri", S("https://app.example.com/signed-out")}},
       "https://login.microsoftonline.com/common/oauth2/v2.0/logout"
       "?post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fsigned-out"},
      {"OidcEndSessionSkipsUndefinedState",
       "https://idp.example.com/logout{?id_token_hint,post_logout_redirect_uri,state}",
       {{"id_token_hint", S("eyJhbGciOi.eyJzdWIi.c2ln-_")},
        {"post_logout_redirect_uri", S("https://app.example.com/")}},
       "https://idp.example.com/logout?id_token_hint=eyJhbGciOi.eyJzdWIi.c2ln-_"
       "&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2F"},
      {"OidcEndSessionWithNoVariablesIsTheBareEndpoint",
       "https://idp.example.com/logout{?id_token_hint,post_logout_redirect_uri,state}",
       {},
       "https://idp.example.com/logout"},
      {"ExistingQueryContinuesWithAmpersand",
       "https://idp.example.com/logout?x=1{&id_token_hint,state}",
       {{"id_token_hint", S("t0k")}, {"state", S("s 1/2")}},
       "https://idp.example.com/logout?x=1&id_token_hint=t0k&state=s%201%2F2"},
      {"ExistingQueryWithNoVariablesIsUnchanged",
       "https://idp.example.com/logout?x=1{&id_token_hint,state}",
       {},
       "https://idp.example.com/logout?x=1"},
      {"ClientIdInLiteralQueryAndOptionalReturnTo",
       "https://login.example.com/oidc/logout?client_id={upstream_client_id}{&returnTo}",
       {{"upstream_client_id", S("abc")}},
       "https://login.example.com/oidc/logout?client_id=abc"},
      {"ClientIdInLiteralQueryAndReturnTo",
       "https://login.example.com/oidc/logout?client_id={upstream_client_id}{&returnTo}",
       {{"upstream_client_id", S("abc")}, {"returnTo", S("https://app.example.com/#x")}},
       "https://login.example.com/oidc/logout?client_id=abc"
       "&returnTo=https%3A%2F%2Fapp.example.com%2F%23x"},
      {"EmptyStringKeepsTheParameterName",
       "https://idp.example.com/logout{?state}",
       {{"state", S("")}},
       "https://idp.example.com/logout?state="},
      {"ExtraVariablesAreIgnored",
       "https://idp.example.com/logout{?state}",
       {{"state", S("s")}, {"unused", S("u")}},
       "https://idp.example.com/logout?state=s"},
      {"NonAsciiValuesArePercentEncodedUtf8",
       "https://idp.example.com/logout{?ui_locales,login_hint}",
       {{"ui_locales", S("de-CH fr")}, {"login_hint", S("j\xC3\xBCrgen@example.de")}},
       "https://idp.example.com/logout?ui_locales=de-CH%20fr&login_hint=j%C3%BCrgen%40example.de"},
      {"SimpleExpansionEncodesEveryReservedCharacter",
       "https://idp.example.com/logout?returnTo={returnTo}",
       {{"returnTo", S("https://a.example/?q=1#frag")}},
       "https://idp.example.com/logout?returnTo=https%3A%2F%2Fa.example%2F%3Fq%3D1%23frag"},
      {"QueryValueCannotInjectAParameter",
       "https://idp.example.com/logout{?state}",
       {{"state", S("x&returnTo=https://evil.example")}},
       "https://idp.example.com/logout?state=x%26returnTo%3Dhttps%3A%2F%2Fevil.example"},
      {"PathSegmentExpansionEncodesSlash",
       "https://idp.example.com/tenants{/tenant}/logout",
       {{"tenant", S("a/../b")}},
       "https://idp.example.com/tenants/a%2F..%2Fb/logout"},
      {"LiteralUnicodeIsPercentEncoded",
       "https://idp.example.com/tsch\xC3\xBCss{?state}",
       {{"state", S("s")}},
       "https://idp.example.com/tsch%C3%BCss?state=s"},
      {"LiteralApostropheIsAllowedPerErratum6937",
       "https://idp.example.com/o'brien{?state}",
       {{"state", S("s")}},
       "https://idp.example.com/o'brien?state=s"},
      {"ListExplodesIntoRepeatedParameters",
       "https://idp.example.com/logout{?scope*}",
       {{"scope", TemplateValue::List({"openid", "email"})}},
       "https://idp.example.com/logout?scope=openid&scope=email"},
      {"ListWithoutExplodeIsCommaJoined",
       "https://idp.example.com/logout{?scope}",
       {{"scope", TemplateValue::List({"openid", "e mail"})}},
       "https://idp.example.com/logout?scope=openid,e%20mail"},
      {"EmptyListIsUndefined",
       "https://idp.example.com/logout{?scope}",
       {{"scope", TemplateValue::List({})}},
       "https://idp.example.com/logout"},
      {"AssocExplodeKeepsInsertionOrder",
       "https://idp.example.com/logout{?extra*}",
       {{"extra", TemplateValue::Assoc({{"z", "1"}, {"a", "b c"}, {"m", ""}})}},
       "https://idp.example.com/logout?z=1&a=b%20c&m="},
      // Reserved expansion: for trusted connection settings only.
      {"ReservedExpansionKeepsAConfiguredBaseUrl",
       "{+issuer}/v2/logout{?client_id}",
       {{"issuer", S("https://tenant.idp.example.com/t/acme")}, {"client_id", S("c1")}},
       "https://tenant.idp.example.com/t/acme/v2/logout?client_id=c1"},
      {"ReservedExpansionLetsAValueRewriteTheAuthority",
       "https://{+host}/logout",
       {{"host", S("evil.example#")}},
       "https://evil.example#/logout"},
      {"ReservedExpansionKeepsTripletsAndEncodesTheRest",
       "{+v}",
       {{"v", S("a%2Fb%zz c\"<>%4")}},
       "a%2Fb%25zz%20c%22%3C%3E%254"},
      {"FragmentExpansionKeepsReservedCharacters",
       "https://idp.example.com/logout{#state}",
       {{"state", S("a/b?c d")}},
       "https://idp.example.com/logout#a/b?c%20d"},
      // Prefixes count code points, not bytes.
      {"Utf8PrefixCountsCodePoints",
       "https://idp.example.com/logout{?hint:3}",
       {{"hint", S("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86\xE3\x82\xAD")}},
       "https://idp.example.com/logout?hint=%E6%97%A5%E6%9C%AC%E8%AA%9E"},
      {"Utf8PrefixKeepsFourByteCharactersWhole",
       "{v:2}",
       {{"v", S("\xF0\x9D\x84\x9E\xF0\x9F\x98\x80x")}},
       "%F0%9D%84%9E%F0%9F%98%80"},
      {"Utf8PrefixCountsACombiningMarkAsItsOwnCodePoint", "{v:1}", {{"v", S("e\xCC\x81")}}, "e"},
      {"ReservedPrefixNeverSplitsATriplet", "{+v:2}", {{"v", S("%41%42%43")}}, "%41%42"},
      {"SimplePrefixCountsPercentAsOneCharacter", "{v:2}", {{"v", S("%41%42")}}, "%254"},
      {"PrefixLongerThanTheValueKeepsItWhole", "{v:9999}", {{"v", S("abc")}}, "abc"},
      {"PrefixOnEmptyListIsSkipped", "x{v:3}", {{"v", TemplateValue::List({})}}, "x"},
      // Limits.
      {"ExpansionOfExactly8192BytesSucceeds",
       "{v}",
       {{"v", S(std::string(8192, 'a'))}},
       std::string(8192, 'a')},
  };
}

class ExpandTest : public ::testing::TestWithParam<ExpandCase> {};

TEST_P(ExpandTest, ExpandsAsExpected) {
  const ExpandCase& c = GetParam();
  absl::StatusOr<UriTemplate> t = UriTemplate::Parse(c.text);
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Expand(c.vars);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, c.expected);
  EXPECT_TRUE(IsCleanOutput(*out));
}

INSTANTIATE_TEST_SUITE_P(Logout, ExpandTest, ::testing::ValuesIn(ExpandCases()),
                         [](const ::testing::TestParamInfo<ExpandCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Expansion-time errors.

struct ExpandErrorCase {
  std::string name;
  std::string text;
  TemplateVariables vars;
  std::string message;     // a substring of the error message
  std::string not_echoed;  // must not appear in the message ("" for no check)
};

// PrintTo keeps failure messages readable: the case name, not the bytes of the struct.
void PrintTo(const ExpandErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<ExpandErrorCase> ExpandErrorCases() {
  return {
      {"PrefixOnAListIsRejected",
       "https://idp.example.com/logout{?scope:3}",
       {{"scope", TemplateValue::List({"openid", "email"})}},
       "variable \"scope\" has a list value; the prefix modifier ':3' applies only to strings",
       ""},
      {"PrefixOnAnAssociativeArrayIsRejected",
       "{+extra:1}",
       {{"extra", TemplateValue::Assoc({{"k", "v"}})}},
       "variable \"extra\" has an associative array value; the prefix modifier ':1' applies "
       "only to strings",
       ""},
      {"InvalidUtf8StringIsRejectedWithoutEchoingIt",
       "https://idp.example.com/logout{?state}",
       {{"state", S("secret\xFF")}},
       "variable \"state\" is not valid UTF-8",
       "secret"},
      {"OverlongUtf8IsRejected", "{v}", {{"v", S("\xC0\xAF")}}, "is not valid UTF-8", ""},
      {"EncodedSurrogateIsRejected", "{v}", {{"v", S("\xED\xA0\x80")}}, "not valid UTF-8", ""},
      {"TruncatedUtf8IsRejectedEvenBeyondThePrefix",
       "{v:1}",
       {{"v", S("ab\xE2\x82")}},
       "not valid UTF-8",
       ""},
      {"InvalidUtf8ListItemIsRejected",
       "{?v*}",
       {{"v", TemplateValue::List({"ok", "\xFE"})}},
       "an item of variable \"v\" is not valid UTF-8",
       ""},
      {"InvalidUtf8AssocKeyIsRejected",
       "{?v*}",
       {{"v", TemplateValue::Assoc({{"\x80", "x"}})}},
       "a key or value of variable \"v\" is not valid UTF-8",
       ""},
      {"ExpansionOf8193BytesIsRejected",
       "{v}",
       {{"v", S(std::string(8193, 'a'))}},
       "the result exceeds 8192 bytes",
       ""},
      {"PercentEncodingGrowthPastTheLimitIsRejected",
       "https://idp.example.com/logout{?state}",
       {{"state", S(std::string(3000, ' '))}},
       "the result exceeds 8192 bytes",
       ""},
      {"HugeValueIsRejected",
       "{?a,b}",
       {{"a", S("x")}, {"b", S(std::string(10 << 20, 'b'))}},
       "the result exceeds 8192 bytes",
       ""},
      {"NameCrossingTheLimitStopsBeforeTheNextValue",
       "{a}{?" + std::string(200, 'n') + "}",
       {{"a", S(std::string(8100, 'a'))}, {std::string(200, 'n'), S(std::string(1 << 20, 'v'))}},
       "the result exceeds 8192 bytes",
       ""},
      {"ManyListItemsPastTheLimitAreRejected",
       "{?v*}",
       {{"v", TemplateValue::List(std::vector<std::string>(2000, "abc"))}},
       "the result exceeds 8192 bytes",
       ""},
  };
}

class ExpandErrorTest : public ::testing::TestWithParam<ExpandErrorCase> {};

TEST_P(ExpandErrorTest, FailsWithInvalidArgument) {
  const ExpandErrorCase& c = GetParam();
  absl::StatusOr<UriTemplate> t = UriTemplate::Parse(c.text);
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<std::string> out = t->Expand(c.vars);
  ASSERT_FALSE(out.ok()) << *out;
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr(c.message));
  if (!c.not_echoed.empty()) {
    EXPECT_THAT(out.status().message(), Not(HasSubstr(c.not_echoed)));
  }
}

INSTANTIATE_TEST_SUITE_P(Logout, ExpandErrorTest, ::testing::ValuesIn(ExpandErrorCases()),
                         [](const ::testing::TestParamInfo<ExpandErrorCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Parse: accepted templates and precise errors.

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

struct ParseCase {
  std::string name;
  std::string text;
  std::string message;  // "" when Parse must succeed; else the exact error message
};

// PrintTo keeps failure messages readable: the case name, not the bytes of the struct.
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

std::vector<ParseCase> ParseCases() {
  const std::string base = "https://idp.example.com/logout";  // 30 bytes
  return {
      {"AcceptsEmptyTemplate", "", ""},
      {"AcceptsPctEncodedVariableNames", "{Stra%C3%9Fe}{a.b.c,_1}", ""},
      {"AcceptsIprivateLiteral", "x\xEE\x80\x80y", ""},
      {"AcceptsEveryOperator", "{a}{+a}{#a}{.a}{/a}{;a}{?a}{&a}", ""},
      {"AcceptsPrefix9999AndExplode", "{a:9999,b*,c:1}", ""},
      {"AcceptsExactly4096Bytes", std::string(4096, 'a'), ""},
      {"AcceptsExactly64Expressions", Repeat("{a}", 64), ""},
      {"RejectsUnclosedExpression", base + "{?state",
       "uri template: offset 30: unclosed expression (at \"{?state\")"},
      {"RejectsStrayClosingBrace", base + "}",
       "uri template: offset 30: '}' outside an expression (at \"}\")"},
      {"RejectsSpaceInLiteral", "https://idp.example.com/log out",
       "uri template: offset 27: byte 0x20 is not allowed outside an expression (at \" out\")"},
      {"RejectsNewlineInLiteral", "https://a/\n{x}",
       "uri template: offset 10: byte 0x0A is not allowed outside an expression (at "
       "\"\\n{x}\")"},
      {"RejectsDoubleQuoteInLiteral", "a\"b",
       R"(uri template: offset 1: '"' is not allowed outside an expression (at "\"b"))"},
      {"RejectsPipeInLiteral", "a|b",
       "uri template: offset 1: '|' is not allowed outside an expression (at \"|b\")"},
      {"RejectsBarePercentInLiteral", "https://a/%zz",
       "uri template: offset 10: '%' must start a %XX triplet (at \"%zz\")"},
      {"RejectsInvalidUtf8InLiteral", "https://a/\xC3(",
       R"(uri template: offset 10: invalid UTF-8 (at "\xc3("))"},
      {"RejectsNoncharacterInLiteral", "a\xEF\xB7\x90",
       R"(uri template: offset 1: U+FDD0 is not allowed in a literal (at "\xef\xb7\x90"))"},
      {"RejectsC1ControlCharacterInLiteral", "a\xC2\x85",
       R"(uri template: offset 1: U+0085 is not allowed in a literal (at "\xc2\x85"))"},
      {"RejectsEmptyExpression", "a{}", "uri template: offset 1: empty expression (at \"{}\")"},
      {"RejectsReservedOperatorEquals", "{=path}",
       "uri template: offset 1: operator '=' is reserved by RFC 6570 and not supported (at "
       "\"=path}\")"},
      {"RejectsReservedOperatorBang", "{!hello}",
       "uri template: offset 1: operator '!' is reserved by RFC 6570 and not supported (at "
       "\"!hello}\")"},
      {"RejectsUnknownOperator", "{$var}",
       "uri template: offset 1: expected a variable name, found '$' (at \"$var}\")"},
      {"RejectsSpaceInVariableName", "{with space}",
       "uri template: offset 5: expected ',' or '}' after a variable, found byte 0x20 (at \" "
       "space}\")"},
      {"RejectsTildeInVariableName", "/people/{~thing}",
       "uri template: offset 9: expected a variable name, found '~' (at \"~thing}\")"},
      {"RejectsHyphenInVariableName", "{default-graph-uri}",
       "uri template: offset 8: expected ',' or '}' after a variable, found '-' (at "
       "\"-graph-uri}\")"},
      {"RejectsTrailingDotInVariableName", "{x.}",
       "uri template: offset 2: '.' in a variable name must be followed by a name character "
       "(at \".}\")"},
      {"RejectsDoubleDotInVariableName", "{x..y}",
       "uri template: offset 2: '.' in a variable name must be followed by a name character "
       "(at \"..y}\")"},
      {"RejectsLeadingDotInVariableName", "{.a,.b}",
       "uri template: offset 4: expected a variable name, found '.' (at \".b}\")"},
      {"RejectsBadTripletInVariableName", "{%2x}",
       "uri template: offset 1: '%' in a variable name must start a %XX triplet (at \"%2x}\")"},
      {"RejectsPrefixZero", "{var:0}",
       "uri template: offset 5: a prefix must be an integer from 1 to 9999 without leading "
       "zeros (at \"0}\")"},
      {"RejectsPrefixWithLeadingZero", "{var:01}",
       "uri template: offset 5: a prefix must be an integer from 1 to 9999 without leading "
       "zeros (at \"01}\")"},
      {"RejectsPrefix10000", "{var:10000}",
       "uri template: offset 5: a prefix must be an integer from 1 to 9999 without leading "
       "zeros (at \"10000}\")"},
      {"RejectsEmptyPrefix", "{var:}",
       "uri template: offset 5: a prefix must be an integer from 1 to 9999 without leading "
       "zeros (at \"}\")"},
      {"RejectsNonNumericPrefix", "{var:prefix}",
       "uri template: offset 5: a prefix must be an integer from 1 to 9999 without leading "
       "zeros (at \"prefix}\")"},
      {"RejectsPrefixAndExplodeTogether", "{hello:2*}",
       "uri template: offset 8: expected ',' or '}' after a variable, found '*' (at \"*}\")"},
      {"RejectsBraceInsideExpression", "{a{b}}",
       "uri template: offset 2: '{' inside an expression (at \"{b}}\")"},
      {"RejectsEmptyVarspecAfterComma", "{a,}",
       "uri template: offset 3: expected a variable name, found '}' (at \"}\")"},
      {"RejectsSpaceAfterComma", "/resolution{?x, y}",
       "uri template: offset 15: expected a variable name, found byte 0x20 (at \" y}\")"},
      {"RejectsUnclosedExpressionAtTheEnd", "{/id*",
       "uri template: offset 0: unclosed expression (at \"{/id*\")"},
      {"RejectsUnclosedPrefixAtTheEnd", "x{a:12",
       "uri template: offset 1: unclosed expression (at \"{a:12\")"},
      {"RejectsTemplateOver4096Bytes", std::string(4097, 'a'),
       "uri template: 4097 bytes; the limit is 4096"},
      {"RejectsMoreThan64Expressions", Repeat("{a}", 65),
       "uri template: offset 192: more than 64 expressions (at \"{a}\")"},
      {"RejectsLiteralTextThatExpandsPast8192Bytes", Repeat("\xF0\x9D\x84\x9E", 700),
       "uri template: the literal text expands to 8400 bytes; the limit is 8192"},
      {"QuotesOnlyAShortSnippetOfALongTemplate",
       std::string(100, 'a') + " " + std::string(3000, 'b'),
       "uri template: offset 100: byte 0x20 is not allowed outside an expression (at \" "
       "bbbbbbbbbbb\"...)"},
  };
}

class ParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTest, AcceptsOrRejectsPrecisely) {
  const ParseCase& c = GetParam();
  absl::StatusOr<UriTemplate> t = UriTemplate::Parse(c.text);
  if (c.message.empty()) {
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->text(), c.text);
    return;
  }
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), c.message);
  EXPECT_LE(t.status().message().size(), 160u);
}

INSTANTIATE_TEST_SUITE_P(Logout, ParseTest, ::testing::ValuesIn(ParseCases()),
                         [](const ::testing::TestParamInfo<ParseCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// API behaviour.

TEST(UriTemplateTest, ListsEachVariableNameOnceInOrderOfFirstAppearance) {
  absl::StatusOr<UriTemplate> t =
      UriTemplate::Parse("https://x/{a,b}{?a,c.d}{+Stra%C3%9Fe:2}{&b*}");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->variable_names(), (std::vector<std::string>{"a", "b", "c.d", "Stra%C3%9Fe"}));
}

TEST(UriTemplateTest, CopiesAndMovesExpandIdentically) {
  absl::StatusOr<UriTemplate> t = UriTemplate::Parse("https://idp.example.com/logout{?state}");
  ASSERT_TRUE(t.ok()) << t.status();
  const TemplateVariables vars = {{"state", S("a b")}};
  const UriTemplate copy = *t;
  const UriTemplate moved = *std::move(t);
  EXPECT_EQ(*copy.Expand(vars), "https://idp.example.com/logout?state=a%20b");
  EXPECT_EQ(*moved.Expand(vars), "https://idp.example.com/logout?state=a%20b");
  EXPECT_EQ(copy.text(), "https://idp.example.com/logout{?state}");
  EXPECT_EQ(copy.variable_names(), std::vector<std::string>{"state"});
}

TEST(UriTemplateTest, ExpandIsSafeToCallConcurrently) {
  absl::StatusOr<UriTemplate> t =
      UriTemplate::Parse("https://idp.example.com/logout{?id_token_hint,state}{&extra*}");
  ASSERT_TRUE(t.ok()) << t.status();
  const TemplateVariables vars = {{"id_token_hint", S("t")},
                                  {"state", S("\xC3\xA9t\xC3\xA9")},
                                  {"extra", TemplateValue::Assoc({{"k", "v"}})}};
  const std::string want = "https://idp.example.com/logout?id_token_hint=t&state=%C3%A9t%C3%A9&k=v";
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 2000; ++k) {
        absl::StatusOr<std::string> out = t->Expand(vars);
        if (!out.ok() || *out != want) ++mismatches;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(TemplateValueTest, KindsAndDefinedness) {
  EXPECT_EQ(TemplateValue().kind(), TemplateValue::Kind::kUndefined);
  EXPECT_FALSE(TemplateValue::Undefined().IsDefined());
  EXPECT_TRUE(S("").IsDefined());
  EXPECT_FALSE(TemplateValue::List({}).IsDefined());
  EXPECT_TRUE(TemplateValue::List({""}).IsDefined());
  EXPECT_FALSE(TemplateValue::Assoc({}).IsDefined());
  EXPECT_TRUE(TemplateValue::Assoc({{"k", ""}}).IsDefined());

  const TemplateValue list = TemplateValue::List({"a", "b"});
  EXPECT_EQ(list.kind(), TemplateValue::Kind::kList);
  EXPECT_EQ(list.list().size(), 2u);
  EXPECT_EQ(list.string_value(), "");
  EXPECT_TRUE(list.assoc().empty());

  const TemplateValue assoc = TemplateValue::Assoc({{"z", "1"}, {"a", "2"}});
  EXPECT_EQ(assoc.kind(), TemplateValue::Kind::kAssoc);
  ASSERT_EQ(assoc.assoc().size(), 2u);
  EXPECT_EQ(assoc.assoc()[0].first, "z");
  EXPECT_TRUE(assoc.list().empty());

  EXPECT_EQ(S("x").string_value(), "x");
}

}  // namespace
}  // namespace logout::federation
