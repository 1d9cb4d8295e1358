#include "service/policy/request_params.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace logout::policy {
namespace {

TEST(FormUrlDecodeTest, DecodesPlusAndPercent) {
  EXPECT_EQ(FormUrlDecode("a+b%20c%2Bd"), "a b c+d");
  EXPECT_EQ(FormUrlDecode("%e2%82%ac"), "\xE2\x82\xAC");
}

TEST(FormUrlDecodeTest, KeepsInvalidEscapesLiterally) {
  EXPECT_EQ(FormUrlDecode("%"), "%");
  EXPECT_EQ(FormUrlDecode("%4"), "%4");
  EXPECT_EQ(FormUrlDecode("%zz%4g"), "%zz%4g");
  EXPECT_EQ(FormUrlDecode("a%"), "a%");
}

// FormUrlDecode copies runs without '+' or '%' in one go: on random strings of the characters
// that matter it gives what decoding one character at a time gives.
TEST(FormUrlDecodeTest, AgreesWithCharacterByCharacterDecoding) {
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const auto reference = [&](const std::string& in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out.push_back(' ');
      } else if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
        i += 2;
      } else {
        out.push_back(in[i]);
      }
    }
    return out;
  };
  const std::string alphabet = "%%++aZ09fFgG.";
  std::mt19937 rng(7);
  std::string reused;
  for (int n = 0; n < 20000; ++n) {
    std::string in(rng() % 12, ' ');
    for (char& c : in) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(FormUrlDecode(in), reference(in)) << in;
    FormUrlDecodeTo(in, &reused);
    ASSERT_EQ(reused, reference(in)) << in;
  }
}

struct CharCase {
  std::string name;
  std::string value;
  bool forbidden;
};

class ForbiddenCharactersTest : public ::testing::TestWithParam<CharCase> {};

TEST_P(ForbiddenCharactersTest, Classifies) {
  EXPECT_EQ(HasForbiddenCharacters(GetParam().value), GetParam().forbidden);
}

INSTANTIATE_TEST_SUITE_P(Values, ForbiddenCharactersTest,
                         ::testing::ValuesIn(std::vector<CharCase>{
                             {"Ascii", "https://a.example/x?y=1", false},
                             {"Utf8", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", false},
                             {"Nul", std::string("a\0b", 3), true},
                             {"Tab", "a\tb", true},
                             {"Newline", "a\nb", true},
                             {"Del", "a\x7f", true},
                             {"C1Nel", "a\xC2\x85", true},
                             {"LoneContinuation", "a\x80", true},
                             {"TruncatedSequence", "a\xE2\x82", true},
                             {"OverlongSlash", "\xC0\xAF", true},
                             {"Surrogate", "\xED\xA0\x80", true},
                             {"AboveMax", "\xF4\x90\x80\x80", true},
                             {"InvalidLeadByte", "\xFF", true},
                         }),
                         [](const ::testing::TestParamInfo<CharCase>& info) {
                           return info.param.name;
                         });

v1::ValidateLogoutRequest Raw(const std::string& q) {
  v1::ValidateLogoutRequest r;
  r.set_raw_query(q);
  return r;
}

TEST(ExtractParamsTest, V2RecognisesOnlyItsParameters) {
  const ParamsOutcome out = ExtractParams(
      v1::ENDPOINT_V2_LOGOUT, Raw("returnTo=https%3A%2F%2Fa&client_id=c&state=s&id_token_hint=h"));
  ASSERT_FALSE(out.denied());
  EXPECT_EQ(out.params.target, "https://a");
  EXPECT_EQ(out.params.client_id, "c");
  EXPECT_EQ(out.params.state, "");
  EXPECT_EQ(out.params.id_token_hint, "");
}

TEST(ExtractParamsTest, OidcRecognisesItsParameters) {
  const ParamsOutcome out = ExtractParams(
      v1::ENDPOINT_OIDC_LOGOUT,
      Raw("post_logout_redirect_uri=u&client_id=c&state=s&id_token_hint=h&logout_hint=l"
          "&ui_locales=en&federated&returnTo=ignored"));
  ASSERT_FALSE(out.denied());
  EXPECT_EQ(out.params.target, "u");
  EXPECT_EQ(out.params.state, "s");
  EXPECT_EQ(out.params.id_token_hint, "h");
  EXPECT_EQ(out.params.logout_hint, "l");
  EXPECT_EQ(out.params.ui_locales, "en");
  EXPECT_TRUE(out.params.federated_present);
  EXPECT_EQ(out.params.federated, "");
}

TEST(ExtractParamsTest, NamesAreCaseSensitive) {
  const ParamsOutcome out = ExtractParams(v1::ENDPOINT_V2_LOGOUT, Raw("returnto=x&RETURNTO=y"));
  ASSERT_FALSE(out.denied());
  EXPECT_EQ(out.params.target, "");
}

TEST(ExtractParamsTest, DuplicateNamesTheParameter) {
  const ParamsOutcome out = ExtractParams(v1::ENDPOINT_OIDC_LOGOUT, Raw("state=a&state=b"));
  EXPECT_EQ(out.deny_reason, v1::REASON_DUPLICATE_PARAMETER);
  EXPECT_EQ(out.description, "'state' parameter must not be provided twice");
}

TEST(ExtractParamsTest, HugeEncodedValueDeniedBeforeDecoding) {
  std::string q = "state=";
  for (int i = 0; i < 2100; ++i) q += "%41";
  const ParamsOutcome out = ExtractParams(v1::ENDPOINT_OIDC_LOGOUT, Raw(q));
  EXPECT_EQ(out.deny_reason, v1::REASON_PARAMETER_TOO_LONG);
  EXPECT_EQ(out.description, "'state' parameter exceeds 2048 bytes");
}

TEST(ExtractParamsTest, DecodedLengthCounts) {
  std::string q = "id_token_hint=";
  q += std::string(16 * 1024, 'a') + "%41";
  const ParamsOutcome out = ExtractParams(v1::ENDPOINT_OIDC_LOGOUT, Raw(q));
  EXPECT_EQ(out.deny_reason, v1::REASON_PARAMETER_TOO_LONG);
  EXPECT_EQ(out.description, "'id_token_hint' parameter exceeds 16384 bytes");
}

TEST(ExtractParamsTest, NoInputMeansNoParameters) {
  v1::ValidateLogoutRequest r;
  const ParamsOutcome out = ExtractParams(v1::ENDPOINT_OIDC_LOGOUT, r);
  EXPECT_FALSE(out.denied());
  EXPECT_FALSE(out.params.federated_present);
}

}  // namespace
}  // namespace logout::policy
