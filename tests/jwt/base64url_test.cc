#include "service/jwt/base64url.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logout::jwt {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    const std::string encoded = Base64UrlEncode(data);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(encoded), data);
    data.push_back(static_cast<char>(i * 37));
  }
}

struct RejectCase {
  std::string name;
  std::string input;
};

class Base64UrlRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(Base64UrlRejectTest, Rejects) { EXPECT_EQ(Base64UrlDecode(GetParam().input), std::nullopt); }

INSTANTIATE_TEST_SUITE_P(
    Strict, Base64UrlRejectTest,
    ::testing::ValuesIn(std::vector<RejectCase>{
        {"Padding", "YQ=="},
        {"StandardAlphabetPlus", "a+b_"},
        {"StandardAlphabetSlash", "a/b_"},
        {"Whitespace", "YW Jj"},
        {"Newline", "YWJj\n"},
        {"LengthOneModFour", "YWJjZ"},
        {"NonCanonicalTrailingBits", "YR"},    // "YQ" is the canonical encoding of "a"
        {"NonCanonicalTrailingBits2", "YWJ"},  // "YWI" is the canonical encoding of "ab"
        {"NulByte", std::string("YW\0j", 4)},
    }),
    [](const ::testing::TestParamInfo<RejectCase>& info) { return info.param.name; });

}  // namespace
}  // namespace logout::jwt
