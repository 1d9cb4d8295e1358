#include "service/rpc/credentials.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace logout::rpc {
namespace {

using ::logout::testing::StatusIs;

using ::testing::HasSubstr;

std::string Hex(const std::string& token) {
  const Sha256Digest d = Sha256(token);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d.data()), 32));
}

struct RefuseCase {
  std::string name;
  std::string json;
  std::string message;
};

class CredentialSetRefuses : public ::testing::TestWithParam<RefuseCase> {};

TEST_P(CredentialSetRefuses, NamingTheEntryAndField) {
  const auto parsed = CredentialSet::Parse(GetParam().json);
  EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument, GetParam().message));
}

const std::string kDigest = Hex("a-token-of-sixteen-bytes-or-more");

INSTANTIATE_TEST_SUITE_P(
    Files, CredentialSetRefuses,
    ::testing::Values(
        RefuseCase{"TrailingComma", R"({"credentials": [],})", "not strict JSON: line 1"},
        RefuseCase{"NotAList", R"({"credentials": {}})", "\"credentials\" list"},
        RefuseCase{"UnknownTopLevelField", R"({"credentials": [], "admins": []})",
                   "unknown field \"admins\""},
        RefuseCase{"BadName",
                   R"({"credentials": [{"name": "a b", "token_sha256": ")" + kDigest +
                       R"(", "role": "admin", "tenants": ["*"]}]})",
                   "credentials[0]: name must be 1-64 characters"},
        RefuseCase{"ShortDigest",
                   R"({"credentials": [{"name": "a", "token_sha256": "abc", "role": "admin",
                       "tenants": ["*"]}]})",
                   "credentials[0] (\"a\"): token_sha256 must be the 64 hex digits"},
        RefuseCase{"NoTokenNorIdentity",
                   R"({"credentials": [{"name": "a", "role": "admin", "tenants": ["*"]}]})",
                   "needs a token_sha256 or a client_identity"},
        RefuseCase{"UnknownRole",
                   R"({"credentials": [{"name": "a", "token_sha256": ")" + kDigest +
                       R"(", "role": "owner", "tenants": ["*"]}]})",
                   "role must be \"reader\", \"writer\", \"admin\" or \"planner\""},
        RefuseCase{"NoTenants",
                   R"({"credentials": [{"name": "a", "token_sha256": ")" + kDigest +
                       R"(", "role": "reader", "tenants": []}]})",
                   "tenants must be a non-empty list"},
        RefuseCase{"StarWithNames",
                   R"({"credentials": [{"name": "a", "token_sha256": ")" + kDigest +
                       R"(", "role": "reader", "tenants": ["*", "acme"]}]})",
                   "\"*\" (every tenant) cannot be combined"},
        RefuseCase{"UnknownEntryField",
                   R"({"credentials": [{"name": "a", "token": "x", "token_sha256": ")" + kDigest +
                       R"(", "role": "reader", "tenants": ["acme"]}]})",
                   "unknown field \"token\""},
        RefuseCase{"DuplicateName",
                   R"({"credentials": [{"name": "a", "client_identity": "x", "role": "reader",
                       "tenants": ["acme"]}, {"name": "a", "client_identity": "y",
                       "role": "reader", "tenants": ["acme"]}]})",
                   "credentials[1] (\"a\"): name is used twice"},
        RefuseCase{"SameTokenTwiceOnTheAdminSide",
                   R"({"credentials": [{"name": "a", "token_sha256": ")" + kDigest +
                       R"(", "role": "reader", "tenants": ["acme"]}, {"name": "b",
                       "token_sha256": ")" +
                       kDigest + R"(", "role": "writer", "tenants": ["globex"]}]})",
                   "credentials[1] (\"b\"): token_sha256 is already another credential's"}),
    [](const ::testing::TestParamInfo<RefuseCase>& info) { return info.param.name; });

TEST(CredentialSetTest, ParsesRolesAndScopes) {
  const auto parsed = CredentialSet::Parse(absl::StrCat(
      R"({"credentials": [
        {"name": "root", "token_sha256": ")",
      kDigest, R"(", "role": "admin", "tenants": ["*"]},
        {"name": "ci", "token_sha256": ")",
      absl::AsciiStrToUpper(Hex("ci-token-ci-token-ci-token")),
      R"(", "role": "writer", "tenants": ["globex", "acme"]},
        {"name": "web", "token_sha256": ")",
      kDigest, R"(", "role": "planner", "tenants": ["acme"]},
        {"name": "support", "client_identity": "spiffe://x/support", "role": "reader",
         "tenants": ["acme"]}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const auto& c = (*parsed)->credentials();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_TRUE(c[0].all_tenants);
  EXPECT_EQ(c[0].role, Role::kAdmin);
  EXPECT_EQ(c[1].tenants, (std::vector<std::string>{"acme", "globex"}));
  EXPECT_EQ(*c[1].token_sha256, Sha256("ci-token-ci-token-ci-token"));  // hex in any case
  EXPECT_EQ(c[2].role, Role::kPlanner);  // the same token may plan (the other side)
  EXPECT_EQ(c[3].client_identity, "spiffe://x/support");
}

TEST(CallerTest, RolesAndScopes) {
  const Caller writer{.actor = "ci", .role = Role::kWriter, .tenants = {"acme"}};
  EXPECT_TRUE(writer.MayRead("acme"));
  EXPECT_TRUE(writer.MayWrite("acme"));
  EXPECT_FALSE(writer.MayAdminister("acme"));
  EXPECT_FALSE(writer.MayRead("globex"));
  EXPECT_FALSE(writer.MayPlan("acme"));
  EXPECT_FALSE(writer.IsPolicyAdmin());
  const Caller reader{.actor = "r", .role = Role::kReader, .all_tenants = true, .tenants = {}};
  EXPECT_TRUE(reader.MayRead("anything"));
  EXPECT_FALSE(reader.MayWrite("anything"));
  const Caller admin{.actor = "a", .role = Role::kAdmin, .tenants = {"acme"}};
  EXPECT_TRUE(admin.MayAdminister("acme"));
  EXPECT_FALSE(admin.IsPolicyAdmin());  // import replaces every tenant: "*" only
  const Caller planner{.actor = "p", .role = Role::kPlanner, .all_tenants = true, .tenants = {}};
  EXPECT_TRUE(planner.MayPlan("acme"));
  EXPECT_FALSE(planner.MayRead("acme"));
}

}  // namespace
}  // namespace logout::rpc
