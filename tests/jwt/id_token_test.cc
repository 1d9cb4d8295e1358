// Decoding and verification of compact JWS ID tokens: one test per algorithm, per attack.
#include "service/jwt/id_token.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/status_matchers.h"

namespace logout::jwt {
namespace {

using ::logout::testing::StatusIs;

using testing::TestKey;

constexpr char kClaims[] =
    R"({"iss":"https://issuer.example/","sub":"user-1","aud":"web","sid":"s-1","iat":1700000000,"exp":1700003600})";

std::string Header(absl::string_view alg, absl::string_view kid = "k1") {
  return absl::StrCat(R"({"alg":")", alg, R"(","kid":")", kid, R"(","typ":"JWT"})");
}

struct Keys {
  TestKey rsa = TestKey::Generate(KeyFamily::kRsa);
  TestKey p256 = TestKey::Generate(KeyFamily::kEcP256);
  TestKey p384 = TestKey::Generate(KeyFamily::kEcP384);
  TestKey ed = TestKey::Generate(KeyFamily::kEd25519);
  std::unique_ptr<KeySet> set;
  Keys() {
    v1::Jwks jwks;
    *jwks.add_keys() = rsa.ToJwk("k1");
    *jwks.add_keys() = p256.ToJwk("k1");
    *jwks.add_keys() = p384.ToJwk("k1");
    *jwks.add_keys() = ed.ToJwk("k1");
    set = *KeySet::Create(jwks);
  }
  const TestKey& For(absl::string_view alg) const {
    if (alg == "ES256") return p256;
    if (alg == "ES384") return p384;
    if (alg == "EdDSA") return ed;
    return rsa;
  }
};

const Keys& SharedKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

class AlgorithmTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AlgorithmTest, VerifiesOwnSignatureAndRejectsTampering) {
  const std::string alg = GetParam();
  const Keys& keys = SharedKeys();
  const std::string token = keys.For(alg).Mint(alg, Header(alg), kClaims);
  absl::StatusOr<IdToken> decoded = DecodeIdToken(token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(AlgorithmName(decoded->alg), alg);
  EXPECT_EQ(decoded->iss, "https://issuer.example/");
  EXPECT_EQ(decoded->sub, "user-1");
  EXPECT_EQ(decoded->sid, "s-1");
  EXPECT_EQ(decoded->aud, std::vector<std::string>{"web"});
  EXPECT_EQ(decoded->iat, 1700000000);
  EXPECT_TRUE(VerifyWithKeys(*decoded, *keys.set).ok());

  // Same header and signature over a different payload.
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  const std::string forged = absl::StrCat(
      parts[0], ".", Base64UrlEncode(R"({"iss":"https://issuer.example/","sub":"admin"})"), ".",
      parts[2]);
  absl::StatusOr<IdToken> forged_decoded = DecodeIdToken(forged);
  ASSERT_TRUE(forged_decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*forged_decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Asymmetric, AlgorithmTest,
                         ::testing::Values("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                           "ES256", "ES384", "EdDSA"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// Verification reuses prepared OpenSSL contexts per key and algorithm (PreparedVerifiers): from
// several threads at once, interleaving algorithms on one RSA key and forged tokens (whose
// contexts are dropped), every genuine token verifies and every forged one fails.
TEST(PreparedVerifiersTest, ConcurrentVerificationsAcrossAlgorithmsStayExact) {
  const Keys& keys = SharedKeys();
  struct Pair {
    IdToken genuine;
    IdToken forged;
  };
  std::vector<Pair> pairs;
  for (const std::string alg : {"RS256", "PS256", "RS512", "ES256", "ES384", "EdDSA"}) {
    const std::string token = keys.For(alg).Mint(alg, Header(alg), kClaims);
    Pair p{*DecodeIdToken(token), *DecodeIdToken(token)};
    p.forged.signing_input.back() ^= 1;  // one bit of the payload changed
    pairs.push_back(std::move(p));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        const Pair& p = pairs[static_cast<size_t>(i + t) % pairs.size()];
        if (!VerifyWithKeys(p.genuine, *keys.set).ok()) ++wrong;
        if (VerifyWithKeys(p.forged, *keys.set).code() != absl::StatusCode::kInvalidArgument) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

class HmacTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HmacTest, VerifiesWithSecretInConstantTimeCompare) {
  const std::string alg = GetParam();
  const std::string secret(64, 'k');
  const std::string token = TestKey::MintHmac(alg, Header(alg), kClaims, secret);
  absl::StatusOr<IdToken> decoded = DecodeIdToken(token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(VerifyWithSecret(*decoded, secret).ok());
  EXPECT_EQ(VerifyWithSecret(*decoded, std::string(64, 'j')).code(),
            absl::StatusCode::kInvalidArgument);
  // HMAC tokens never verify against the tenant's public keys.
  EXPECT_EQ(VerifyWithKeys(*decoded, *SharedKeys().set).code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Symmetric, HmacTest, ::testing::Values("HS256", "HS384", "HS512"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(IdTokenAttackTest, RejectsAlgNone) {
  const std::string token = absl::StrCat(TestKey::SigningInput(R"({"alg":"none"})", kClaims), ".");
  EXPECT_EQ(DecodeIdToken(token).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string with_sig =
      absl::StrCat(TestKey::SigningInput(R"({"alg":"none"})", kClaims), ".AAAA");
  EXPECT_EQ(DecodeIdToken(with_sig).status().code(), absl::StatusCode::kInvalidArgument);
  const std::string upper =
      absl::StrCat(TestKey::SigningInput(R"({"alg":"NONE"})", kClaims), ".AAAA");
  EXPECT_EQ(DecodeIdToken(upper).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdTokenAttackTest, RejectsHs256SignedWithRsaPublicKey) {
  const Keys& keys = SharedKeys();
  const std::string token =
      TestKey::MintHmac("HS256", Header("HS256"), kClaims, keys.rsa.PublicKeyDer());
  absl::StatusOr<IdToken> decoded = DecodeIdToken(token);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdTokenAttackTest, SwappedKidFailsEvenIfOtherKeyWouldVerify) {
  TestKey a = TestKey::Generate(KeyFamily::kEcP256);
  TestKey b = TestKey::Generate(KeyFamily::kEcP256);
  v1::Jwks jwks;
  *jwks.add_keys() = a.ToJwk("a");
  *jwks.add_keys() = b.ToJwk("b");
  auto set = *KeySet::Create(jwks);
  // Signed by a, but claims to be b: only b is tried.
  auto decoded = DecodeIdToken(a.Mint("ES256", Header("ES256", "b"), kClaims));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *set).code(), absl::StatusCode::kInvalidArgument);
  // Unknown kid: nothing to try.
  decoded = DecodeIdToken(a.Mint("ES256", Header("ES256", "zzz"), kClaims));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *set).code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdTokenAttackTest, WithoutKidEveryKeyOfTheFamilyIsTried) {
  TestKey a = TestKey::Generate(KeyFamily::kEcP256);
  TestKey b = TestKey::Generate(KeyFamily::kEcP256);
  v1::Jwks jwks;
  *jwks.add_keys() = a.ToJwk("a");
  *jwks.add_keys() = b.ToJwk("b");
  auto set = *KeySet::Create(jwks);
  auto decoded = DecodeIdToken(b.Mint("ES256", R"({"alg":"ES256"})", kClaims));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(VerifyWithKeys(*decoded, *set).ok());
}

TEST(IdTokenAttackTest, RejectsTruncatedSignature) {
  const Keys& keys = SharedKeys();
  for (const char* alg : {"RS256", "ES256", "EdDSA"}) {
    const std::string token = keys.For(alg).Mint(alg, Header(alg), kClaims);
    const std::vector<std::string> parts = absl::StrSplit(token, '.');
    std::string sig = *Base64UrlDecode(parts[2]);
    sig.pop_back();
    auto decoded = DecodeIdToken(absl::StrCat(parts[0], ".", parts[1], ".", Base64UrlEncode(sig)));
    ASSERT_TRUE(decoded.ok()) << alg;
    EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument)
        << alg;
  }
}

TEST(IdTokenAttackTest, RejectsReEncodedSignature) {
  const std::string token = SharedKeys().rsa.Mint("RS256", Header("RS256"), kClaims);
  // Standard base64 with padding instead of base64url.
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_THAT(DecodeIdToken(absl::StrCat(token, "=")),
              StatusIs(absl::StatusCode::kInvalidArgument, ""));
  std::string std_alphabet = parts[2];
  for (char& c : std_alphabet) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_alphabet != parts[2]) {
    EXPECT_THAT(DecodeIdToken(absl::StrCat(parts[0], ".", parts[1], ".", std_alphabet)),
                StatusIs(absl::StatusCode::kInvalidArgument, ""));
  }
}

TEST(IdTokenAttackTest, RejectsDerEcdsaSignature) {
  const Keys& keys = SharedKeys();
  const std::string input = TestKey::SigningInput(Header("ES256"), kClaims);
  // A DER signature (what OpenSSL produces) is not a JWS ES256 signature.
  std::string der_sig;
  {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, keys.p256.pkey());
    size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    der_sig.resize(len);
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der_sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    der_sig.resize(len);
  }
  auto decoded = DecodeIdToken(absl::StrCat(input, ".", Base64UrlEncode(der_sig)));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdTokenAttackTest, RejectsWrongCurve) {
  // ES256 header, signed by the P-384 key (and padded to ES256's length): no P-256 key verifies.
  const Keys& keys = SharedKeys();
  const std::string input = TestKey::SigningInput(Header("ES256"), kClaims);
  const std::string sig384 = keys.p384.Sign("ES384", input);
  auto decoded = DecodeIdToken(absl::StrCat(input, ".", Base64UrlEncode(sig384)));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
  // ES384 header signed with the P-256 key.
  const std::string input384 = TestKey::SigningInput(Header("ES384"), kClaims);
  decoded = DecodeIdToken(
      absl::StrCat(input384, ".", Base64UrlEncode(keys.p256.Sign("ES256", input384))));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdTokenAttackTest, RsaKeyDoesNotVerifyPssWhenHeaderSaysRs) {
  const Keys& keys = SharedKeys();
  const std::string input = TestKey::SigningInput(Header("RS256"), kClaims);
  auto decoded =
      DecodeIdToken(absl::StrCat(input, ".", Base64UrlEncode(keys.rsa.Sign("PS256", input))));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(VerifyWithKeys(*decoded, *keys.set).code(), absl::StatusCode::kInvalidArgument);
}

struct DecodeCase {
  std::string name;
  std::string header;
  std::string payload;
};

class DecodeRejectTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeRejectTest, Rejects) {
  const std::string token = SharedKeys().rsa.Mint("RS256", GetParam().header, GetParam().payload);
  const absl::StatusOr<IdToken> decoded = DecodeIdToken(token);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(decoded.status().message()).find("user-1"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, DecodeRejectTest,
    ::testing::ValuesIn(std::vector<DecodeCase>{
        {"DuplicateHeaderAlg", R"({"alg":"RS256","alg":"HS256"})", kClaims},
        {"DuplicateClaim", R"({"alg":"RS256"})", R"({"sub":"user-1","sub":"admin","iat":1})"},
        {"DuplicateNestedKey", R"({"alg":"RS256"})", R"({"sub":"user-1","x":{"a":1,"a":2}})"},
        {"HugeHeader", absl::StrCat(R"({"alg":"RS256","x":")", std::string(3000, 'a'), R"("})"),
         kClaims},
        {"CritHeader", R"({"alg":"RS256","crit":["b64"],"b64":false})", kClaims},
        {"MissingAlg", R"({"kid":"k1"})", kClaims},
        {"AlgNotString", R"({"alg":1})", kClaims},
        {"UnknownAlg", R"({"alg":"RS1"})", kClaims},
        {"HeaderNotObject", R"(["RS256"])", kClaims},
        {"PayloadNotObject", R"({"alg":"RS256"})", R"("user-1")"},
        {"PayloadNotJson", R"({"alg":"RS256"})", "user-1"},
        {"AudWrongType", R"({"alg":"RS256"})", R"({"sub":"user-1","aud":5})"},
        {"AudArrayWrongType", R"({"alg":"RS256"})", R"({"sub":"user-1","aud":["a",1]})"},
        {"IatString", R"({"alg":"RS256"})", R"({"sub":"user-1","iat":"1700000000"})"},
        {"IssNotString", R"({"alg":"RS256"})", R"({"sub":"user-1","iss":["a"]})"},
        {"TooDeep", R"({"alg":"RS256"})",
         absl::StrCat(R"({"sub":"user-1","x":)", std::string(40, '['), std::string(40, ']'), "}")},
    }),
    [](const ::testing::TestParamInfo<DecodeCase>& info) { return info.param.name; });

TEST(IdTokenDecodeTest, RejectsWrongSegmentCounts) {
  EXPECT_THAT(DecodeIdToken("a.b"), StatusIs(absl::StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(DecodeIdToken("a.b.c.d"), StatusIs(absl::StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(DecodeIdToken(""), StatusIs(absl::StatusCode::kInvalidArgument, ""));
  EXPECT_THAT(DecodeIdToken(std::string(kMaxTokenBytes + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, ""));
}

TEST(IdTokenDecodeTest, AcceptsAudArrayAndFractionalDates) {
  const std::string token = SharedKeys().rsa.Mint(
      "RS256", R"({"alg":"RS256"})", R"({"sub":"u","aud":["a","b"],"iat":1700000000.9,"nbf":5})");
  auto decoded = DecodeIdToken(token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->aud, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(decoded->iat, 1700000000);
  EXPECT_EQ(decoded->nbf, 5);
  EXPECT_FALSE(decoded->has_events);
}

}  // namespace
}  // namespace logout::jwt
