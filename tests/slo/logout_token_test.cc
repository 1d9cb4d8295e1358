// Logout tokens: header, exact claims, signatures that the project's own verifier accepts.
#include "service/slo/logout_token.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/jwt/base64url.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"
#include "tests/testing/slo_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace logout::slo {
namespace {

using ::logout::testing::StatusIs;

using nlohmann::json;
using testing::SigningKeyOf;
using testing::TestKey;

constexpr char kSecret[] = "an-hs256-client-secret-of-32-bytes!!";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

struct Decoded {
  json header;
  json claims;
};

Decoded DecodeParts(const std::string& token) {
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_EQ(parts.size(), 3u);
  Decoded d;
  d.header = json::parse(*jwt::Base64UrlDecode(parts[0]));
  d.claims = json::parse(*jwt::Base64UrlDecode(parts[1]));
  return d;
}

// One tenant with an RS256, an ES256 and an EdDSA key; one client per algorithm.
class LogoutTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new std::vector<TestKey>{
        TestKey::Generate(jwt::KeyFamily::kRsa), TestKey::Generate(jwt::KeyFamily::kEcP256),
        TestKey::Generate(jwt::KeyFamily::kEd25519), TestKey::Generate(jwt::KeyFamily::kRsa)};
  }
  static void TearDownTestSuite() { delete keys_; }

  LogoutTokenTest() {
    v1::PolicyConfig config;
    v1::Tenant* t = config.add_tenants();
    t->set_name("acme");
    t->set_issuer("https://acme.example.com/");
    *t->add_signing_keys() = SigningKeyOf("rsa-1", "RS256", testing::PrivateKeyPem((*keys_)[0]));
    *t->add_signing_keys() = SigningKeyOf("ec-1", "ES256", testing::PrivateKeyPem((*keys_)[1]));
    *t->add_signing_keys() = SigningKeyOf("ed-1", "EdDSA", testing::PrivateKeyPem((*keys_)[2]));
    *t->add_signing_keys() = SigningKeyOf("pss-1", "PS256", testing::PrivateKeyPem((*keys_)[3]));
    for (const auto& [id, alg] :
         std::vector<std::pair<std::string, std::string>>{{"rs", "RS256"},
                                                          {"es", "ES256"},
                                                          {"ed", "EdDSA"},
                                                          {"ps", "PS256"},
                                                          {"hs", "HS256"},
                                                          {"es384", "ES384"}}) {
      v1::Client* c = t->add_clients();
      c->set_client_id(id);
      c->set_id_token_signed_response_alg(alg);
      if (alg == "HS256") c->set_client_secret(kSecret);
    }
    auto built = policy::CompiledPolicy::Build(config, 1);
    EXPECT_TRUE(built.ok()) << built.status();
    policy_ = *built;
    tenant_ = policy_->FindTenant("acme");
    v1::Jwks jwks;
    *jwks.add_keys() = (*keys_)[0].ToJwk("rsa-1");
    *jwks.add_keys() = (*keys_)[1].ToJwk("ec-1");
    *jwks.add_keys() = (*keys_)[2].ToJwk("ed-1");
    *jwks.add_keys() = (*keys_)[3].ToJwk("pss-1");
    public_keys_ = *jwt::KeySet::Create(jwks);
  }

  SignedLogoutToken Mint(const std::string& client_id, LogoutTokenInput in = {}) {
    if (in.iss.empty()) in.iss = tenant_->issuer;
    if (in.aud.empty()) in.aud = client_id;
    if (in.sub.empty() && in.sid.empty()) {
      in.sub = "user-1";
      in.sid = "sid-1";
    }
    absl::StatusOr<SignedLogoutToken> t =
        MintLogoutToken(*tenant_, *tenant_->FindClient(client_id), in, kNow);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : SignedLogoutToken{};
  }

  static std::vector<TestKey>* keys_;
  std::shared_ptr<const policy::CompiledPolicy> policy_;
  const policy::CompiledTenant* tenant_ = nullptr;
  std::unique_ptr<jwt::KeySet> public_keys_;
};
std::vector<TestKey>* LogoutTokenTest::keys_ = nullptr;

TEST_F(LogoutTokenTest, ClaimsAreExact) {
  const SignedLogoutToken t = Mint("rs", {.sub = "user-1", .sid = "sid-1"});
  const Decoded d = DecodeParts(t.token);
  const json expected = {
      {"iss", "https://acme.example.com/"},
      {"aud", "rs"},
      {"iat", 1700000000},
      {"exp", 1700000120},
      {"jti", t.jti},
      {"events", {{"http://schemas.openid.net/event/backchannel-logout", json::object()}}},
      {"sub", "user-1"},
      {"sid", "sid-1"}};
  EXPECT_EQ(d.claims, expected) << d.claims.dump();
  EXPECT_EQ(t.expires_at, kNow + absl::Seconds(120));
}

TEST_F(LogoutTokenTest, LifetimeIsAtMostTwoMinutes) {
  const Decoded d = DecodeParts(Mint("es").token);
  EXPECT_LE(d.claims["exp"].get<int64_t>() - d.claims["iat"].get<int64_t>(), 120);
  EXPECT_GT(d.claims["exp"].get<int64_t>(), d.claims["iat"].get<int64_t>());
}

TEST_F(LogoutTokenTest, NeverCarriesNonce) {
  for (const char* id : {"rs", "es", "ed", "ps", "hs"}) {
    const Decoded d = DecodeParts(Mint(id).token);
    EXPECT_FALSE(d.claims.contains("nonce")) << id;
  }
}

TEST_F(LogoutTokenTest, EventsMemberIsExactlyTheBackchannelEvent) {
  const Decoded d = DecodeParts(Mint("ed").token);
  EXPECT_EQ(d.claims["events"].dump(),
            R"({"http://schemas.openid.net/event/backchannel-logout":{}})");
}

TEST_F(LogoutTokenTest, SidOnlyAndSubOnly) {
  Decoded d = DecodeParts(Mint("rs", {.sid = "only-sid"}).token);
  EXPECT_EQ(d.claims["sid"], "only-sid");
  EXPECT_FALSE(d.claims.contains("sub"));
  d = DecodeParts(Mint("rs", {.sub = "only-sub"}).token);
  EXPECT_EQ(d.claims["sub"], "only-sub");
  EXPECT_FALSE(d.claims.contains("sid"));
}

TEST_F(LogoutTokenTest, NeitherSubNorSidIsInvalidArgument) {
  LogoutTokenInput in{.iss = "https://acme.example.com/", .aud = "rs"};
  EXPECT_EQ(MintLogoutToken(*tenant_, *tenant_->FindClient("rs"), in, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LogoutTokenTest, JtiIsUniqueAcrossCallsAndAtLeast128Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const SignedLogoutToken t = Mint("hs");
    EXPECT_EQ(jwt::Base64UrlDecode(t.jti)->size(), 16u);
    EXPECT_EQ(DecodeParts(t.token).claims["jti"], t.jti);
    EXPECT_TRUE(seen.insert(t.jti).second) << "duplicate jti " << t.jti;
  }
}

TEST_F(LogoutTokenTest, JtiSourceIsInjectable) {
  absl::StatusOr<SignedLogoutToken> t =
      MintLogoutToken(*tenant_, *tenant_->FindClient("rs"),
                      {.iss = "https://acme.example.com/", .aud = "rs", .sub = "u"}, kNow,
                      [] { return absl::StatusOr<std::string>("fixed-jti"); });
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->jti, "fixed-jti");
  EXPECT_EQ(DecodeParts(t->token).claims["jti"], "fixed-jti");
}

struct AlgCase {
  std::string client;
  std::string alg;
  std::string kid;  // empty: no kid header
};

class LogoutTokenAlgTest : public LogoutTokenTest, public ::testing::WithParamInterface<AlgCase> {};

TEST_P(LogoutTokenAlgTest, HeaderAndSignatureVerifyWithTheExistingVerifier) {
  const SignedLogoutToken t = Mint(GetParam().client);
  const Decoded d = DecodeParts(t.token);
  json expected = {{"alg", GetParam().alg}, {"typ", "logout+jwt"}};
  if (!GetParam().kid.empty()) expected["kid"] = GetParam().kid;
  EXPECT_EQ(d.header, expected) << d.header.dump();

  absl::StatusOr<jwt::IdToken> decoded = jwt::DecodeIdToken(t.token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->typ, "logout+jwt");
  EXPECT_TRUE(decoded->has_events);
  const absl::Status verified = GetParam().kid.empty()
                                    ? jwt::VerifyWithSecret(*decoded, kSecret)
                                    : jwt::VerifyWithKeys(*decoded, *public_keys_);
  EXPECT_TRUE(verified.ok()) << verified;

  // A flipped payload byte no longer verifies.
  std::string tampered = t.token;
  const size_t dot = tampered.find('.');
  tampered[dot + 2] = tampered[dot + 2] == 'A' ? 'B' : 'A';
  absl::StatusOr<jwt::IdToken> bad = jwt::DecodeIdToken(tampered);
  if (bad.ok()) {
    const absl::Status s = GetParam().kid.empty() ? jwt::VerifyWithSecret(*bad, kSecret)
                                                  : jwt::VerifyWithKeys(*bad, *public_keys_);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, ""));
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, LogoutTokenAlgTest,
                         ::testing::Values(AlgCase{"rs", "RS256", "rsa-1"},
                                           AlgCase{"es", "ES256", "ec-1"},
                                           AlgCase{"ed", "EdDSA", "ed-1"},
                                           AlgCase{"ps", "PS256", "pss-1"},
                                           AlgCase{"hs", "HS256", ""}),
                         [](const auto& info) { return info.param.alg; });

TEST_F(LogoutTokenTest, NoKeyForTheClientAlgIsFailedPrecondition) {
  // The compiler refuses back-channel clients without a key; a client without a back-channel
  // URI can still be asked (the planner maps this to NO_SIGNING_KEY).
  absl::StatusOr<SignedLogoutToken> t =
      MintLogoutToken(*tenant_, *tenant_->FindClient("es384"),
                      {.iss = "https://acme.example.com/", .aud = "es384", .sub = "u"}, kNow);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(t.status().message(), "tenant has no signing key for ES384");
}

TEST_F(LogoutTokenTest, ExpiredClientSecretIsFailedPrecondition) {
  v1::PolicyConfig config;
  v1::Tenant* t = config.add_tenants();
  t->set_name("acme");
  t->set_issuer("https://acme.example.com/");
  v1::Client* c = t->add_clients();
  c->set_client_id("hs");
  c->set_id_token_signed_response_alg("HS256");
  c->set_client_secret(kSecret);
  c->mutable_client_secret_expires_at()->set_seconds(absl::ToUnixSeconds(kNow) - 1);
  auto built = policy::CompiledPolicy::Build(config, 1);
  ASSERT_TRUE(built.ok()) << built.status();
  const policy::CompiledTenant* tenant = (*built)->FindTenant("acme");
  EXPECT_EQ(MintLogoutToken(*tenant, *tenant->FindClient("hs"),
                            {.iss = "https://acme.example.com/", .aud = "hs", .sub = "u"}, kNow)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---- Shared Signals: the CAEP session-revoked SET ----

TEST_F(LogoutTokenTest, SessionRevokedSetIsExactAndVerifies) {
  policy::CompiledStream stream;
  stream.stream_id = "siem";
  stream.audience = "https://siem.example.com/";
  stream.alg = jwt::Algorithm::kES256;
  absl::StatusOr<SignedSet> set = MintSessionRevokedSet(*tenant_, stream,
                                                        {.iss = "https://acme.example.com/",
                                                         .sid = "sid-1",
                                                         .sub = "user-1",
                                                         .event_time = kNow - absl::Seconds(3),
                                                         .initiating_entity = "user"},
                                                        kNow);
  ASSERT_TRUE(set.ok()) << set.status();
  const Decoded d = DecodeParts(set->token);
  EXPECT_EQ(d.header, json({{"alg", "ES256"}, {"typ", "secevent+jwt"}, {"kid", "ec-1"}}));
  const json expected = {
      {"iss", "https://acme.example.com/"},
      {"aud", "https://siem.example.com/"},
      {"iat", 1700000000},
      {"jti", set->jti},
      {"sub_id",
       {{"format", "complex"},
        {"session", {{"format", "opaque"}, {"id", "sid-1"}}},
        {"user",
         {{"format", "iss_sub"}, {"iss", "https://acme.example.com/"}, {"sub", "user-1"}}}}},
      {"events",
       {{"https://schemas.openid.net/secevent/caep/event-type/session-revoked",
         {{"event_timestamp", 1699999997}, {"initiating_entity", "user"}}}}}};
  EXPECT_EQ(d.claims, expected) << d.claims.dump();
  absl::StatusOr<jwt::IdToken> decoded = jwt::DecodeIdToken(set->token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(jwt::VerifyWithKeys(*decoded, *public_keys_).ok());
  // A fresh jti each time.
  absl::StatusOr<SignedSet> again = MintSessionRevokedSet(
      *tenant_, stream, {.iss = "https://acme.example.com/", .sid = "sid-1"}, kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->jti, set->jti);
  EXPECT_EQ(DecodeParts(again->token).claims["sub_id"],
            json({{"format", "complex"}, {"session", {{"format", "opaque"}, {"id", "sid-1"}}}}));
}

TEST_F(LogoutTokenTest, SessionRevokedSetNeedsASubjectAndAKey) {
  policy::CompiledStream stream;
  stream.audience = "aud";
  EXPECT_THAT(
      MintSessionRevokedSet(*tenant_, stream, {.iss = "https://acme.example.com/"}, kNow).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "needs a session or a user"));
  stream.alg = jwt::Algorithm::kES384;
  EXPECT_THAT(MintSessionRevokedSet(*tenant_, stream,
                                    {.iss = "https://acme.example.com/", .sid = "s"}, kNow)
                  .status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "no signing key for ES384"));
}

TEST(InitiatingEntityTest, MapsEveryInitiator) {
  EXPECT_EQ(InitiatingEntityOf("rp-logout"), "user");
  EXPECT_EQ(InitiatingEntityOf("idp-logout"), "user");
  EXPECT_EQ(InitiatingEntityOf("password-changed"), "user");
  EXPECT_EQ(InitiatingEntityOf("email-identifier-changed"), "user");
  EXPECT_EQ(InitiatingEntityOf("mfa-phone-unenrolled"), "user");
  EXPECT_EQ(InitiatingEntityOf("session-expired"), "policy");
  EXPECT_EQ(InitiatingEntityOf("session-revoked"), "admin");
  EXPECT_EQ(InitiatingEntityOf("account-deleted"), "admin");
  EXPECT_EQ(InitiatingEntityOf("account-deactivated"), "admin");
  EXPECT_EQ(InitiatingEntityOf(""), "system");
}

}  // namespace
}  // namespace logout::slo
