// The id_token_hint rules of DESIGN.md §2.2 through the decision engine, with tokens minted at
// run time and a fixed clock: one named test per rule, per algorithm and per attack.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "service/policy/engine.h"
#include "tests/testing/jwt_minter.h"

namespace logout::policy {
namespace {

using testing::TestKey;

constexpr int64_t kNowSeconds = 1700000000;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);
constexpr char kIssuer[] = "https://acme.example.com/";
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Fixture {
  TestKey rsa = TestKey::Generate(jwt::KeyFamily::kRsa);
  TestKey rsa_next = TestKey::Generate(jwt::KeyFamily::kRsa);  // rotation: a second active key
  TestKey p256 = TestKey::Generate(jwt::KeyFamily::kEcP256);
  TestKey p384 = TestKey::Generate(jwt::KeyFamily::kEcP384);
  TestKey ed = TestKey::Generate(jwt::KeyFamily::kEd25519);
  TestKey stranger = TestKey::Generate(jwt::KeyFamily::kRsa);  // not in the JWKS
  std::shared_ptr<const CompiledPolicy> policy;

  Fixture() {
    v1::PolicyConfig config;
    v1::Tenant* t = config.add_tenants();
    t->set_name("acme");
    t->set_issuer(kIssuer);
    t->add_allowed_logout_urls("https://acme.example.com/bye");
    t->mutable_max_hint_age()->set_seconds(86400);
    t->mutable_clock_skew()->set_seconds(30);
    *t->mutable_jwks()->add_keys() = rsa.ToJwk("rsa-1");
    *t->mutable_jwks()->add_keys() = rsa_next.ToJwk("rsa-2");
    *t->mutable_jwks()->add_keys() = p256.ToJwk("ec-1");
    *t->mutable_jwks()->add_keys() = p384.ToJwk("ec-2");
    *t->mutable_jwks()->add_keys() = ed.ToJwk("ed-1");
    const auto add_client = [&](const std::string& id, const std::string& alg) {
      v1::Client* c = t->add_clients();
      c->set_client_id(id);
      c->add_allowed_logout_urls("https://" + id + ".example.com/bye");
      c->set_id_token_signed_response_alg(alg);
      return c;
    };
    add_client("web", "");  // RS256 by default
    for (const char* alg :
         {"RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}) {
      add_client(absl::AsciiStrToLower(alg), alg);
    }
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
      add_client(absl::AsciiStrToLower(alg), alg)->set_client_secret(kSecret);
    }
    v1::Client* expired = add_client("expired", "HS256");
    expired->set_client_secret(kSecret);
    expired->mutable_client_secret_expires_at()->set_seconds(kNowSeconds - 1);
    add_client("other", "");

    v1::Tenant* strict = config.add_tenants();
    *strict = *t;
    strict->set_name("strict");
    strict->set_oidc_profile(v1::OIDC_PROFILE_STRICT);
    v1::Tenant* noissuer = config.add_tenants();
    *noissuer = *t;
    noissuer->set_name("noissuer");
    noissuer->clear_issuer();
    policy = *CompiledPolicy::Build(config, 9);
  }

  const TestKey& KeyFor(absl::string_view alg) const {
    if (alg == "ES256") return p256;
    if (alg == "ES384") return p384;
    if (alg == "EdDSA") return ed;
    return rsa;
  }
  static std::string KidFor(absl::string_view alg) {
    if (alg == "ES256") return "ec-1";
    if (alg == "ES384") return "ec-2";
    if (alg == "EdDSA") return "ed-1";
    return "rsa-1";
  }
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

// Claims of a valid hint for client `aud`, with overrides applied by simple text replacement.
std::string Claims(const std::string& aud = "web", const std::string& extra = "") {
  return absl::StrCat(R"({"iss":")", kIssuer, R"(","sub":"user-1","aud":")", aud,
                      R"(","sid":"sid-1","iat":)", kNowSeconds - 60, R"(,"exp":)",
                      kNowSeconds + 3600, extra, "}");
}

std::string Mint(const std::string& alg, const std::string& claims, const std::string& kid = "") {
  const std::string k = kid.empty() ? Fixture::KidFor(alg) : kid;
  const std::string header = absl::StrCat(R"({"alg":")", alg, R"(","kid":")", k, R"("})");
  if (alg[0] == 'H') return TestKey::MintHmac(alg, header, claims, kSecret);
  return F().KeyFor(alg).Mint(alg, header, claims);
}

v1::ValidateLogoutResponse Decide(const std::string& hint, const std::string& target = "",
                                  const std::string& session = "",
                                  const std::string& client_id = "",
                                  const std::string& logout_hint = "",
                                  const std::string& tenant = "acme") {
  v1::ValidateLogoutRequest req;
  req.set_tenant(tenant);
  req.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
  req.set_session_id(session);
  v1::LogoutParams* p = req.mutable_params();
  p->set_id_token_hint(hint);
  p->set_post_logout_redirect_uri(target);
  p->set_client_id(client_id);
  p->set_logout_hint(logout_hint);
  v1::ValidateLogoutResponse resp;
  const absl::Status s = policy::Decide(*F().policy, req, kNow, &resp);
  EXPECT_TRUE(s.ok()) << s;
  // The server reuses response messages: the same decision made into one response shared by
  // every test, whatever was decided into it before, comes out byte for byte the same.
  static auto* const reused = new v1::ValidateLogoutResponse();
  EXPECT_TRUE(policy::Decide(*F().policy, req, kNow, reused).ok());
  EXPECT_EQ(reused->SerializeAsString(), resp.SerializeAsString());
  return resp;
}

void ExpectDenied(const v1::ValidateLogoutResponse& r, v1::Reason reason) {
  EXPECT_EQ(r.decision(), v1::DECISION_DENY) << r.DebugString();
  EXPECT_EQ(r.reason(), reason) << r.DebugString();
  EXPECT_EQ(r.http_status(), 400);
  // A hint that fails is never used for anything.
  EXPECT_TRUE(r.redirect_url().empty());
  EXPECT_TRUE(r.client_id().empty());
  EXPECT_FALSE(r.has_session());
}

// A valid hint whose target is refused: the client is known (and reported), nothing redirects.
void ExpectTargetDenied(const v1::ValidateLogoutResponse& r, const std::string& client) {
  EXPECT_EQ(r.decision(), v1::DECISION_DENY) << r.DebugString();
  EXPECT_EQ(r.reason(), v1::REASON_TARGET_NOT_ALLOWED);
  EXPECT_TRUE(r.redirect_url().empty());
  EXPECT_EQ(r.client_id(), client);
  EXPECT_EQ(r.client_source(), v1::CLIENT_SOURCE_ID_TOKEN_HINT);
}

// --- Per algorithm: the client's configured algorithm verifies and picks its list.
class HintAlgorithmTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HintAlgorithmTest, ValidHintSelectsClientAndSession) {
  const std::string alg = GetParam();
  const std::string client = alg == "RS256" ? "web" : absl::AsciiStrToLower(alg);
  const auto r =
      Decide(Mint(alg, Claims(client)), "https://" + client + ".example.com/bye", "sid-1");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
  EXPECT_EQ(r.reason(), v1::REASON_REDIRECT_ALLOWED);
  EXPECT_EQ(r.redirect_url(), "https://" + client + ".example.com/bye");
  EXPECT_EQ(r.client_id(), client);
  EXPECT_EQ(r.client_source(), v1::CLIENT_SOURCE_ID_TOKEN_HINT);
  EXPECT_EQ(r.session().sid(), "sid-1");
  EXPECT_EQ(r.session().sub(), "user-1");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, HintAlgorithmTest,
                         ::testing::Values("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                           "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// --- Time rules.
TEST(IdTokenHintTest, ExpiredHintIsAccepted) {
  const std::string claims = absl::StrReplaceAll(
      Claims(), {{absl::StrCat(kNowSeconds + 3600), absl::StrCat(kNowSeconds - 3000)}});
  const auto r = Decide(Mint("RS256", claims), "https://web.example.com/bye", "sid-1");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
}

TEST(IdTokenHintTest, IatInFutureBeyondSkewDenied) {
  const std::string claims = absl::StrReplaceAll(
      Claims(), {{absl::StrCat(kNowSeconds - 60), absl::StrCat(kNowSeconds + 31)}});
  ExpectDenied(Decide(Mint("RS256", claims)), v1::REASON_ID_TOKEN_HINT_NOT_YET_VALID);
}

TEST(IdTokenHintTest, IatInFutureWithinSkewAccepted) {
  const std::string claims = absl::StrReplaceAll(
      Claims(), {{absl::StrCat(kNowSeconds - 60), absl::StrCat(kNowSeconds + 30)}});
  EXPECT_EQ(Decide(Mint("RS256", claims)).decision(), v1::DECISION_ALLOW);
}

TEST(IdTokenHintTest, NbfNotReachedDenied) {
  ExpectDenied(Decide(Mint("RS256", Claims("web", absl::StrCat(R"(,"nbf":)", kNowSeconds + 120)))),
               v1::REASON_ID_TOKEN_HINT_NOT_YET_VALID);
}

TEST(IdTokenHintTest, IatOlderThanMaxHintAgeDenied) {
  const std::string claims = absl::StrReplaceAll(
      Claims(), {{absl::StrCat(kNowSeconds - 60), absl::StrCat(kNowSeconds - 86401)}});
  ExpectDenied(Decide(Mint("RS256", claims)), v1::REASON_ID_TOKEN_HINT_TOO_OLD);
}

TEST(IdTokenHintTest, MissingIatDenied) {
  const std::string claims =
      absl::StrReplaceAll(Claims(), {{absl::StrCat(R"("iat":)", kNowSeconds - 60, ","), ""}});
  ExpectDenied(Decide(Mint("RS256", claims)), v1::REASON_ID_TOKEN_HINT_INVALID);
}

// --- Issuer, type, audience.
TEST(IdTokenHintTest, WrongIssuerDenied) {
  const std::string claims = absl::StrReplaceAll(Claims(), {{kIssuer, "https://evil.example/"}});
  ExpectDenied(Decide(Mint("RS256", claims)), v1::REASON_ID_TOKEN_HINT_WRONG_ISSUER);
}

TEST(IdTokenHintTest, TenantWithoutIssuerAcceptsNoHint) {
  ExpectDenied(Decide(Mint("RS256", Claims()), "", "", "", "", "noissuer"),
               v1::REASON_ID_TOKEN_HINT_WRONG_ISSUER);
}

TEST(IdTokenHintTest, AccessTokenIsNotAHint) {
  const std::string claims = Claims();
  const std::string header = R"({"alg":"RS256","kid":"rsa-1","typ":"at+jwt"})";
  ExpectDenied(Decide(F().rsa.Mint("RS256", header, claims)),
               v1::REASON_ID_TOKEN_HINT_NOT_ID_TOKEN);
}

TEST(IdTokenHintTest, LogoutTokenIsNotAHint) {
  const std::string header = R"({"alg":"RS256","kid":"rsa-1","typ":"logout+jwt"})";
  ExpectDenied(Decide(F().rsa.Mint("RS256", header, Claims())),
               v1::REASON_ID_TOKEN_HINT_NOT_ID_TOKEN);
  const std::string events =
      Claims("web", R"(,"events":{"http://schemas.openid.net/event/backchannel-logout":{}})");
  ExpectDenied(Decide(Mint("RS256", events)), v1::REASON_ID_TOKEN_HINT_NOT_ID_TOKEN);
}

TEST(IdTokenHintTest, ApplicationJwtTypIsAnIdToken) {
  const std::string header = R"({"alg":"RS256","kid":"rsa-1","typ":"application/JWT"})";
  EXPECT_EQ(Decide(F().rsa.Mint("RS256", header, Claims())).decision(), v1::DECISION_ALLOW);
}

TEST(IdTokenHintTest, UnknownAudienceDenied) {
  ExpectDenied(Decide(Mint("RS256", Claims("nobody"))), v1::REASON_ID_TOKEN_HINT_UNKNOWN_AUDIENCE);
}

TEST(IdTokenHintTest, FirstRegisteredAudienceIsTheClient) {
  std::string claims =
      absl::StrReplaceAll(Claims(), {{R"("aud":"web")", R"("aud":["nobody","web","other"])"}});
  const auto r = Decide(Mint("RS256", claims), "https://web.example.com/bye");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
  EXPECT_EQ(r.client_id(), "web");
}

TEST(IdTokenHintTest, RegisteredAzpWinsOverAud) {
  const auto r =
      Decide(Mint("RS256", Claims("web", R"(,"azp":"other")")), "https://other.example.com/bye");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
  EXPECT_EQ(r.client_id(), "other");
}

// --- The hint's client scopes the allow-list.
TEST(IdTokenHintTest, HintClientListOnly) {
  ExpectTargetDenied(Decide(Mint("RS256", Claims()), "https://acme.example.com/bye"), "web");
  ExpectTargetDenied(Decide(Mint("RS256", Claims()), "https://other.example.com/bye"), "web");
}

TEST(IdTokenHintTest, NoTargetRedirectsToHintClientsFirstEntry) {
  const auto r = Decide(Mint("RS256", Claims()));
  EXPECT_EQ(r.reason(), v1::REASON_DEFAULT_REDIRECT);
  EXPECT_EQ(r.redirect_url(), "https://web.example.com/bye");
}

TEST(IdTokenHintTest, ClientIdMismatchDenied) {
  ExpectDenied(Decide(Mint("RS256", Claims()), "", "", "other"), v1::REASON_CLIENT_ID_MISMATCH);
}

TEST(IdTokenHintTest, ClientIdMatchAccepted) {
  EXPECT_EQ(Decide(Mint("RS256", Claims()), "", "", "web").decision(), v1::DECISION_ALLOW);
}

// --- logout_hint and confirmation.
TEST(IdTokenHintTest, LogoutHintMustEqualSid) {
  ExpectDenied(Decide(Mint("RS256", Claims()), "", "sid-1", "", "sid-2"),
               v1::REASON_LOGOUT_HINT_MISMATCH);
  EXPECT_EQ(Decide(Mint("RS256", Claims()), "", "sid-1", "", "sid-1").decision(),
            v1::DECISION_ALLOW);
}

TEST(IdTokenHintTest, HintForAnotherSessionNeedsConfirmation) {
  const auto r = Decide(Mint("RS256", Claims()), "https://web.example.com/bye", "sid-9");
  EXPECT_EQ(r.decision(), v1::DECISION_REQUIRE_CONFIRMATION);
  EXPECT_EQ(r.reason(), v1::REASON_CONFIRMATION_REQUIRED);
  EXPECT_EQ(r.redirect_url(), "https://web.example.com/bye");
  EXPECT_EQ(r.session().sid(), "sid-9");
  // The hint's user is not known to own sid-9: the session to end carries no sub (single-logout
  // tokens are built from this pair).
  EXPECT_EQ(r.session().sub(), "");
}

TEST(IdTokenHintTest, HintSubDescribesTheSessionOnlyWhenProvenOrWithoutSession) {
  EXPECT_EQ(Decide(Mint("RS256", Claims()), "", "sid-1").session().sub(), "user-1");
  EXPECT_EQ(Decide(Mint("RS256", Claims())).session().sub(), "user-1");
  const std::string no_sid = absl::StrReplaceAll(Claims(), {{R"("sid":"sid-1",)", ""}});
  EXPECT_EQ(Decide(Mint("RS256", no_sid), "", "sid-1").session().sub(), "");
}

TEST(IdTokenHintTest, HintWithoutSidNeedsConfirmationWhenSessionExists) {
  const std::string claims = absl::StrReplaceAll(Claims(), {{R"("sid":"sid-1",)", ""}});
  EXPECT_EQ(Decide(Mint("RS256", claims), "", "sid-1").decision(),
            v1::DECISION_REQUIRE_CONFIRMATION);
}

TEST(IdTokenHintTest, HintForCurrentSessionSkipsConfirmation) {
  EXPECT_EQ(Decide(Mint("RS256", Claims()), "", "sid-1").decision(), v1::DECISION_ALLOW);
}

TEST(IdTokenHintTest, NoSessionNothingToConfirm) {
  EXPECT_EQ(Decide(Mint("RS256", Claims())).decision(), v1::DECISION_ALLOW);
}

// --- STRICT profile.
TEST(IdTokenHintTest, StrictAllowsExactTargetWithHint) {
  const auto r =
      Decide(Mint("RS256", Claims()), "https://web.example.com/bye", "", "", "", "strict");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
}

TEST(IdTokenHintTest, StrictMatchesExactly) {
  ExpectTargetDenied(
      Decide(Mint("RS256", Claims()), "https://WEB.example.com/bye", "", "", "", "strict"), "web");
}

TEST(IdTokenHintTest, StrictRequiresRedirectUri) {
  ExpectDenied(Decide(Mint("RS256", Claims()), "", "", "", "", "strict"),
               v1::REASON_REDIRECT_URI_REQUIRED);
}

// --- Algorithms and keys.
TEST(IdTokenHintTest, AlgorithmDowngradeDenied) {
  // Client "es256" registered ES256; an RS256 token from a tenant key is still refused.
  ExpectDenied(Decide(Mint("RS256", Claims("es256"))), v1::REASON_ID_TOKEN_HINT_INVALID);
  // Client "web" (RS256) refuses a valid EdDSA token.
  ExpectDenied(Decide(Mint("EdDSA", Claims("web"))), v1::REASON_ID_TOKEN_HINT_INVALID);
}

TEST(IdTokenHintTest, Hs256SignedWithRsaPublicKeyDenied) {
  const std::string header = R"({"alg":"HS256","kid":"rsa-1"})";
  const std::string token = TestKey::MintHmac("HS256", header, Claims(), F().rsa.PublicKeyDer());
  ExpectDenied(Decide(token), v1::REASON_ID_TOKEN_HINT_INVALID);
  // Even for a client that is registered for HS256, the RSA public key is not its secret.
  const std::string token2 =
      TestKey::MintHmac("HS256", header, Claims("hs256"), F().rsa.PublicKeyDer());
  ExpectDenied(Decide(token2), v1::REASON_ID_TOKEN_HINT_INVALID);
}

TEST(IdTokenHintTest, ExpiredClientSecretDenied) {
  ExpectDenied(Decide(Mint("HS256", Claims("expired"))), v1::REASON_CLIENT_SECRET_EXPIRED);
}

TEST(IdTokenHintTest, UnknownSigningKeyDenied) {
  const std::string token =
      F().stranger.Mint("RS256", R"({"alg":"RS256","kid":"rsa-1"})", Claims());
  ExpectDenied(Decide(token), v1::REASON_ID_TOKEN_HINT_INVALID);
}

TEST(IdTokenHintTest, RotatedKeyByKidAndWithoutKid) {
  const std::string claims = Claims();
  EXPECT_EQ(
      Decide(F().rsa_next.Mint("RS256", R"({"alg":"RS256","kid":"rsa-2"})", claims)).decision(),
      v1::DECISION_ALLOW);
  EXPECT_EQ(Decide(F().rsa_next.Mint("RS256", R"({"alg":"RS256"})", claims)).decision(),
            v1::DECISION_ALLOW);
}

TEST(IdTokenHintTest, ForgedClaimsWithValidHeaderDenied) {
  const std::string token = Mint("RS256", Claims());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  const std::string forged = absl::StrCat(
      token.substr(0, dot1 + 1), jwt::Base64UrlEncode(Claims("other")), token.substr(dot2));
  ExpectDenied(Decide(forged), v1::REASON_ID_TOKEN_HINT_INVALID);
}

TEST(IdTokenHintTest, DescriptionNeverEchoesTheToken) {
  const auto r = Decide(Mint("RS256", Claims("nobody")));
  EXPECT_EQ(r.error_description().find("eyJ"), std::string::npos);
  EXPECT_EQ(r.DebugString().find("user-1"), std::string::npos);
}

}  // namespace
}  // namespace logout::policy
