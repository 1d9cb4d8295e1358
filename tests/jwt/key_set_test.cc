#include "service/jwt/key_set.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/jwt_minter.h"

namespace logout::jwt {
namespace {

using testing::TestKey;

absl::Status CreateOne(const v1::Jwk& jwk) {
  v1::Jwks jwks;
  *jwks.add_keys() = jwk;
  return KeySet::Create(jwks).status();
}

void ExpectRefused(const v1::Jwk& jwk, const std::string& message) {
  const absl::Status s = CreateOne(jwk);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(message), std::string::npos) << s;
  EXPECT_NE(s.message().find("jwks.keys[0]"), std::string::npos) << s;
}

TEST(KeySetTest, AcceptsEveryFamily) {
  for (KeyFamily f :
       {KeyFamily::kRsa, KeyFamily::kEcP256, KeyFamily::kEcP384, KeyFamily::kEd25519}) {
    EXPECT_TRUE(CreateOne(TestKey::Generate(f).ToJwk("k")).ok());
  }
}

TEST(KeySetTest, RefusesEcPointNotOnCurve) {
  v1::Jwk jwk = TestKey::Generate(KeyFamily::kEcP256).ToJwk("k");
  std::string y = *Base64UrlDecode(jwk.y());
  y.back() ^= 1;
  jwk.set_y(Base64UrlEncode(y));
  ExpectRefused(jwk, "not on P-256");
}

TEST(KeySetTest, RefusesWrongCoordinateSize) {
  v1::Jwk jwk = TestKey::Generate(KeyFamily::kEcP384).ToJwk("k");
  jwk.set_crv("P-256");
  ExpectRefused(jwk, "32 bytes");
}

TEST(KeySetTest, RefusesSmallRsaModulus) {
  v1::Jwk jwk = TestKey::Generate(KeyFamily::kRsa).ToJwk("k");
  jwk.set_n(Base64UrlEncode(std::string(128, '\xff')));
  ExpectRefused(jwk, "at least 2048");
}

TEST(KeySetTest, RefusesBadBase64) {
  v1::Jwk jwk = TestKey::Generate(KeyFamily::kRsa).ToJwk("k");
  jwk.set_e("AQAB=");
  ExpectRefused(jwk, "\"e\" is not strict base64url");
}

TEST(KeySetTest, RefusesUnknownKtyAndCurve) {
  v1::Jwk jwk;
  jwk.set_kty("oct");
  ExpectRefused(jwk, "unsupported kty");
  jwk.set_kty("EC");
  jwk.set_crv("secp256k1");
  ExpectRefused(jwk, "unsupported curve");
}

TEST(KeySetTest, RefusesEncryptionKeysAndMismatchedAlg) {
  v1::Jwk jwk = TestKey::Generate(KeyFamily::kRsa).ToJwk("k");
  jwk.set_use("enc");
  ExpectRefused(jwk, "\"use\" must be \"sig\"");
  jwk.set_use("sig");
  jwk.set_alg("ES256");
  ExpectRefused(jwk, "does not fit");
  jwk.set_alg("HS256");
  ExpectRefused(jwk, "does not fit");
}

TEST(KeySetTest, CandidatesFollowFamilyAlgAndKid) {
  v1::Jwks jwks;
  *jwks.add_keys() = TestKey::Generate(KeyFamily::kRsa).ToJwk("r1");
  v1::Jwk pinned = TestKey::Generate(KeyFamily::kRsa).ToJwk("r2");
  pinned.set_alg("PS256");
  *jwks.add_keys() = pinned;
  *jwks.add_keys() = TestKey::Generate(KeyFamily::kEcP256).ToJwk("e1");
  auto set = *KeySet::Create(jwks);
  EXPECT_EQ(set->Candidates(Algorithm::kRS256, "").size(), 1u);
  EXPECT_EQ(set->Candidates(Algorithm::kPS256, "").size(), 2u);
  EXPECT_EQ(set->Candidates(Algorithm::kPS256, "r2").size(), 1u);
  EXPECT_EQ(set->Candidates(Algorithm::kES256, "r1").size(), 0u);
  EXPECT_EQ(set->Candidates(Algorithm::kES384, "").size(), 0u);
}

}  // namespace
}  // namespace logout::jwt
