#include "service/rpc/admin_auth.h"

#include <string>

#include "gtest/gtest.h"

namespace logout::rpc {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

constexpr char kToken[] = "s3cr3t-admin-token-0123456789";

TEST(AdminAuthenticatorTest, AcceptsMatchingBearerToken) {
  auto auth = AdminAuthenticator::FromToken(kToken);
  ASSERT_TRUE(auth.ok());
  const std::string value = std::string("Bearer ") + kToken;
  const absl::StatusOr<std::string> actor = (*auth)->Authorize(Metadata{{"authorization", value}});
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->substr(0, 6), "token:");
  EXPECT_EQ(actor->size(), 18u);
  EXPECT_EQ(actor->find("s3cr3t"), std::string::npos);
  const std::string lower = std::string("bearer ") + kToken;
  EXPECT_TRUE((*auth)->Authorize(Metadata{{"authorization", lower}}).ok());
}

TEST(AdminAuthenticatorTest, MissingCredentialIsUnauthenticated) {
  auto auth = AdminAuthenticator::FromToken(kToken);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ((*auth)->Authorize(Metadata{}).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authorize(Metadata{{"authorization", "Basic abc"}}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authorize(Metadata{{"authorization", "Bearer "}}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AdminAuthenticatorTest, WrongTokenIsPermissionDeniedWithoutEcho) {
  auto auth = AdminAuthenticator::FromToken(kToken);
  ASSERT_TRUE(auth.ok());
  const absl::Status s =
      (*auth)
          ->Authorize(Metadata{{"authorization", "Bearer s3cr3t-admin-token-0123456780"}})
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(s.message()).find("s3cr3t"), std::string::npos);
  EXPECT_EQ((*auth)
                ->Authorize(Metadata{{"authorization", std::string("Bearer ") + kToken + "x"}})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AdminAuthenticatorTest, DuplicateAuthorizationIsUnauthenticated) {
  auto auth = AdminAuthenticator::FromToken(kToken);
  ASSERT_TRUE(auth.ok());
  const std::string value = std::string("Bearer ") + kToken;
  EXPECT_EQ((*auth)
                ->Authorize(Metadata{{"authorization", value}, {"authorization", value}})
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AdminAuthenticatorTest, DisabledRefusesEveryToken) {
  auto auth = AdminAuthenticator::Disabled();
  EXPECT_EQ(
      auth->Authorize(Metadata{{"authorization", std::string("Bearer ") + kToken}}).status().code(),
      absl::StatusCode::kPermissionDenied);
}

TEST(AdminAuthenticatorTest, RefusesWeakTokens) {
  EXPECT_EQ(AdminAuthenticator::FromToken("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AdminAuthenticator::FromToken("has a space in the token").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AdminAuthenticator::FromTokenFile("/nonexistent/token").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AdminAuthenticatorTest, TrimsTrailingNewlineOfTokenFile) {
  auto auth = AdminAuthenticator::FromToken(std::string(kToken) + "\n");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(
      (*auth)->Authorize(Metadata{{"authorization", std::string("Bearer ") + kToken}}).ok());
}

}  // namespace
}  // namespace logout::rpc
