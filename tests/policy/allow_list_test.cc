#include "service/policy/allow_list.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace logout::policy {
namespace {

using ::logout::testing::StatusIs;

struct EntryCase {
  std::string name;
  std::string entry;
  AllowList::Mode mode;
  std::string expected_error;  // substring; empty = valid
};

class EntryValidationTest : public ::testing::TestWithParam<EntryCase> {};

TEST_P(EntryValidationTest, ValidatesAtLoad) {
  const EntryCase& c = GetParam();
  auto list = AllowList::Create({c.entry}, c.mode);
  if (c.expected_error.empty()) {
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ((*list)->size(), 1u);
  } else {
    ASSERT_FALSE(list.ok());
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(list.status().message().find(c.expected_error), std::string::npos) << list.status();
    EXPECT_NE(list.status().message().find("allowed_logout_urls[0]"), std::string::npos);
  }
}

constexpr AllowList::Mode kAuth0 = AllowList::Mode::kAuth0;
constexpr AllowList::Mode kExact = AllowList::Mode::kExact;

INSTANTIATE_TEST_SUITE_P(
    Entries, EntryValidationTest,
    ::testing::ValuesIn(std::vector<EntryCase>{
        {"AcceptsPlainHttps", "https://app.example.com/bye", kAuth0, ""},
        {"AcceptsHttpLocalhost", "http://localhost:3000/", kAuth0, ""},
        {"AcceptsQueryInEntry", "https://app.example.com/bye?x=1", kAuth0, ""},
        {"AcceptsWildcard", "https://*.example.com", kAuth0, ""},
        {"AcceptsWildcardWithPrefixAndSuffix", "https://pr-*-x.example.com/bye", kAuth0, ""},
        {"AcceptsStarInPathAsLiteral", "https://app.example.com/a*b", kAuth0, ""},
        {"RejectsMissingScheme", "*.example.com", kAuth0, "not an absolute URL"},
        {"RejectsHostOnly", "app.example.com/bye", kAuth0, "not an absolute URL"},
        {"RejectsWildcardOverTld", "https://*.com", kAuth0, "at least two labels"},
        {"RejectsWildcardGluedToTld", "https://*example.com", kAuth0, "at least two labels"},
        {"RejectsWildcardInInnerLabel", "https://a.*.example.com", kAuth0, "left-most host label"},
        {"RejectsTwoWildcards", "https://*.*.example.com", kAuth0, "at most one"},
        {"RejectsWildcardInPort", "https://app.example.com:*/", kAuth0, "in the host"},
        {"RejectsWildcardWithNonLdhLabel", "https://a_*.example.com", kAuth0, "letters, digits"},
        {"RejectsWildcardInExactMode", "https://*.example.com", kExact, "not allowed with EXACT"},
        {"RejectsWildcardWithoutHttpScheme", "ftp://*.example.com", kAuth0, "http:// or https://"},
        {"RejectsFragment", "https://app.example.com/bye#x", kAuth0, "fragment"},
        {"RejectsUserinfo", "https://user@app.example.com/", kAuth0, "userinfo"},
        {"RejectsEmptyUserinfo", "https://@app.example.com/", kAuth0, "userinfo"},
        {"RejectsJavascriptScheme", "javascript://app.example.com/%0aalert(1)", kAuth0,
         "only http and https"},
        {"RejectsFtpScheme", "ftp://files.example.com/", kAuth0, "only http and https"},
        {"RejectsSpace", "https://app.example.com/a b", kAuth0, "spaces"},
        {"RejectsTab", "https://app.example.com/\tx", kAuth0, "control"},
        {"RejectsEmptyEntry", "", kAuth0, "empty entry"},
        {"RejectsInvalidHost", "https://exa%00mple.com/", kAuth0, "not a valid absolute URL"},
        {"RejectsWildcardOverIpv4", "https://*.0.0.1/", kAuth0, "not a valid absolute URL"},
        {"RejectsOversizeEntry", "https://app.example.com/" + std::string(2040, 'a'), kAuth0,
         "2048"},
    }),
    [](const ::testing::TestParamInfo<EntryCase>& info) { return info.param.name; });

struct MatchCase {
  std::string name;
  std::vector<std::string> entries;
  AllowList::Mode mode;
  std::string target;
  std::optional<size_t> expected;
};

class MatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(MatchTest, MatchesOnComponents) {
  const MatchCase& c = GetParam();
  auto list = AllowList::Create(c.entries, c.mode);
  ASSERT_TRUE(list.ok()) << list.status();
  auto target = url::Url::Parse(c.target);
  ASSERT_TRUE(target.ok()) << c.target;
  EXPECT_EQ((*list)->Match(*target, c.target), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Matching, MatchTest,
    ::testing::ValuesIn(std::vector<MatchCase>{
        {"ExactHit", {"https://a.example.com/bye"}, kAuth0, "https://a.example.com/bye", 0},
        {"EntryWithoutPathIsSlash", {"https://a.example.com"}, kAuth0, "https://a.example.com/", 0},
        {"NoPrefixMatchOnPath",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://a.example.com/bye/x",
         std::nullopt},
        {"NoPrefixMatchOnRoot",
         {"https://a.example.com"},
         kAuth0,
         "https://a.example.com/x",
         std::nullopt},
        {"PathIsCaseSensitive",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://a.example.com/BYE",
         std::nullopt},
        {"HostIsCaseInsensitive",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://A.EXAMPLE.com/bye",
         0},
        {"DefaultPortElided",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://a.example.com:443/bye",
         0},
        {"ExplicitDefaultPortInEntry",
         {"https://a.example.com:443/bye"},
         kAuth0,
         "https://a.example.com/bye",
         0},
        {"OtherPortMisses",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://a.example.com:8443/bye",
         std::nullopt},
        {"SchemeMustBeEqual",
         {"https://a.example.com/bye"},
         kAuth0,
         "http://a.example.com/bye",
         std::nullopt},
        {"QueryAndFragmentIgnored",
         {"https://a.example.com/bye"},
         kAuth0,
         "https://a.example.com/bye?x=1#f",
         0},
        {"FirstOfSeveralMatchesWins",
         {"https://*.example.com/", "https://a.example.com/"},
         kAuth0,
         "https://a.example.com/",
         0},
        {"ExactBeforeLaterWildcard",
         {"https://a.example.com/", "https://*.example.com/"},
         kAuth0,
         "https://a.example.com/",
         0},
        {"WildcardMatchesOneLabel",
         {"https://other.example.com/", "https://*.example.com"},
         kAuth0,
         "https://a.example.com/",
         1},
        {"WildcardDoesNotMatchTwoLabels",
         {"https://*.example.com"},
         kAuth0,
         "https://a.b.example.com/",
         std::nullopt},
        {"WildcardDoesNotMatchApex",
         {"https://*.example.com"},
         kAuth0,
         "https://example.com/",
         std::nullopt},
        {"WildcardDoesNotMatchSuffixDomain",
         {"https://*.example.com"},
         kAuth0,
         "https://a.example.com.evil.com/",
         std::nullopt},
        {"WildcardDoesNotMatchNonLdhLabel",
         {"https://*.example.com"},
         kAuth0,
         "https://a_b.example.com/",
         std::nullopt},
        {"WildcardPrefixSuffix",
         {"https://pr-*-x.example.com"},
         kAuth0,
         "https://pr-42-x.example.com/",
         0},
        {"WildcardPrefixSuffixNeedsOneChar",
         {"https://pr-*-x.example.com"},
         kAuth0,
         "https://pr--x.example.com/",
         std::nullopt},
        {"WildcardPrefixMismatch",
         {"https://pr-*-x.example.com"},
         kAuth0,
         "https://qr-42-x.example.com/",
         std::nullopt},
        {"WildcardChecksPath",
         {"https://*.example.com/bye"},
         kAuth0,
         "https://a.example.com/",
         std::nullopt},
        {"WildcardChecksPort",
         {"https://*.example.com"},
         kAuth0,
         "https://a.example.com:444/",
         std::nullopt},
        {"WildcardChecksScheme",
         {"https://*.example.com"},
         kAuth0,
         "http://a.example.com/",
         std::nullopt},
        {"WildcardMatchesPunycodeLabel",
         {"https://*.example.com"},
         kAuth0,
         "https://b\xC3\xBC"
         "cher.example.com/",
         0},
        {"StarInPathIsLiteral",
         {"https://a.example.com/*"},
         kAuth0,
         "https://a.example.com/anything",
         std::nullopt},
        {"StarInPathMatchesItself",
         {"https://a.example.com/*"},
         kAuth0,
         "https://a.example.com/*",
         0},
        {"IdnEntryMatchesPunycodeTarget",
         {"https://b\xC3\xBC"
          "cher.example/"},
         kAuth0,
         "https://xn--bcher-kva.example/",
         0},
        {"Ipv4CanonicalForms", {"http://127.0.0.1/cb"}, kAuth0, "http://0x7f.1/cb", 0},
        {"Ipv6CanonicalForms", {"https://[::1]:8443/x"}, kAuth0, "https://[0:0::1]:8443/x", 0},
        {"TrailingDotIsAnotherHost",
         {"https://a.example.com/"},
         kAuth0,
         "https://a.example.com./",
         std::nullopt},
        {"ExactModeByteIdentical",
         {"https://a.example.com/cb?x=1"},
         kExact,
         "https://a.example.com/cb?x=1",
         0},
        {"ExactModeNoCaseFolding",
         {"https://a.example.com/cb"},
         kExact,
         "https://A.example.com/cb",
         std::nullopt},
        {"ExactModeNoDefaultPort",
         {"https://a.example.com/cb"},
         kExact,
         "https://a.example.com:443/cb",
         std::nullopt},
        {"ExactModeQueryMatters",
         {"https://a.example.com/cb"},
         kExact,
         "https://a.example.com/cb?x",
         std::nullopt},
        {"ExactModeTrailingSlashMatters",
         {"https://a.example.com"},
         kExact,
         "https://a.example.com/",
         std::nullopt},
    }),
    [](const ::testing::TestParamInfo<MatchCase>& info) { return info.param.name; });

TEST(AllowListTest, DefaultEntryIsFirstNonWildcard) {
  auto list = AllowList::Create(
      {"https://*.example.com/", "https://b.example.com/", "https://c.example.com/"},
      AllowList::Mode::kAuth0);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)->DefaultEntry(), 1u);
}

TEST(AllowListTest, NoDefaultEntryWhenOnlyWildcards) {
  auto list = AllowList::Create({"https://*.example.com/"}, AllowList::Mode::kAuth0);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)->DefaultEntry(), std::nullopt);
}

TEST(AllowListTest, ErrorNamesTheFailingIndex) {
  auto list =
      AllowList::Create({"https://ok.example.com/", "https://*.com"}, AllowList::Mode::kAuth0);
  EXPECT_THAT(list, StatusIs(absl::StatusCode::kInvalidArgument,
                             "allowed_logout_urls[1] \"https://*.com\""));
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("allowed_logout_urls[1] \"https://*.com\""),
            std::string::npos)
      << list.status();
}

}  // namespace
}  // namespace logout::policy
