// The result types of DecisionClient: which status codes fail over to the fail mode, and what a
// web tier does with each outcome and decision.
#include "client/decision_client.h"

#include <string>

#include "gtest/gtest.h"

namespace logout {
namespace {

TEST(IsAvailabilityFailureTest, OnlyAvailabilityCodes) {
  EXPECT_TRUE(IsAvailabilityFailure(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsAvailabilityFailure(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(IsAvailabilityFailure(absl::StatusCode::kResourceExhausted));
  for (const absl::StatusCode code :
       {absl::StatusCode::kOk, absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kUnimplemented, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kUnauthenticated, absl::StatusCode::kInternal, absl::StatusCode::kUnknown,
        absl::StatusCode::kCancelled}) {
    EXPECT_FALSE(IsAvailabilityFailure(code)) << absl::StatusCodeToString(code);
  }
}

TEST(OutcomeNameTest, StableNames) {
  EXPECT_EQ(OutcomeName(Outcome::kDecided), "decided");
  EXPECT_EQ(OutcomeName(Outcome::kError), "error");
  EXPECT_EQ(OutcomeName(Outcome::kFailedClosed), "failed_closed");
  EXPECT_EQ(OutcomeName(Outcome::kFailedOpen), "failed_open");
}

struct ActionCase {
  std::string name;
  Outcome outcome;
  v1::Decision decision;
  std::string redirect_url;
  LogoutAction expected;
};

class ActionForTest : public ::testing::TestWithParam<ActionCase> {};

TEST_P(ActionForTest, MapsOutcomeAndDecision) {
  const ActionCase& c = GetParam();
  DecisionResult<v1::ValidateLogoutResponse> r;
  r.outcome = c.outcome;
  r.response.set_decision(c.decision);
  r.response.set_redirect_url(c.redirect_url);
  EXPECT_EQ(ActionFor(r), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ActionForTest,
    ::testing::Values(
        ActionCase{"AllowWithTargetRedirects", Outcome::kDecided, v1::DECISION_ALLOW,
                   "https://app.example/bye", LogoutAction::kRedirect},
        ActionCase{"AllowWithoutTargetShowsLoggedOutPage", Outcome::kDecided, v1::DECISION_ALLOW,
                   "", LogoutAction::kShowLoggedOutPage},
        ActionCase{"ConfirmationAsks", Outcome::kDecided, v1::DECISION_REQUIRE_CONFIRMATION,
                   "https://app.example/bye", LogoutAction::kAskConfirmation},
        ActionCase{"DenyShowsError", Outcome::kDecided, v1::DECISION_DENY, "",
                   LogoutAction::kShowError},
        ActionCase{"UnspecifiedDecisionShowsError", Outcome::kDecided, v1::DECISION_UNSPECIFIED,
                   "https://app.example/bye", LogoutAction::kShowError},
        ActionCase{"ErrorShowsError", Outcome::kError, v1::DECISION_UNSPECIFIED, "",
                   LogoutAction::kShowError},
        ActionCase{"FailedClosedShowsError", Outcome::kFailedClosed, v1::DECISION_UNSPECIFIED, "",
                   LogoutAction::kShowError},
        // Fail-open never redirects, even if a response somehow carried a URL.
        ActionCase{"FailedOpenLogsOutWithoutRedirect", Outcome::kFailedOpen, v1::DECISION_ALLOW,
                   "https://evil.example/", LogoutAction::kShowLoggedOutPage}),
    [](const ::testing::TestParamInfo<ActionCase>& info) { return info.param.name; });

}  // namespace
}  // namespace logout
