#include "client/decision_client.h"

namespace logout {

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDecided:
      return "decided";
    case Outcome::kError:
      return "error";
    case Outcome::kFailedClosed:
      return "failed_closed";
    case Outcome::kFailedOpen:
      return "failed_open";
  }
  return "error";
}

bool IsAvailabilityFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted;
}

LogoutAction ActionFor(const DecisionResult<v1::ValidateLogoutResponse>& result) {
  switch (result.outcome) {
    case Outcome::kDecided:
      break;
    case Outcome::kFailedOpen:
      return LogoutAction::kShowLoggedOutPage;
    case Outcome::kFailedClosed:
    case Outcome::kError:
      return LogoutAction::kShowError;
  }
  switch (result.response.decision()) {
    case v1::DECISION_ALLOW:
      return result.response.redirect_url().empty() ? LogoutAction::kShowLoggedOutPage
                                                    : LogoutAction::kRedirect;
    case v1::DECISION_REQUIRE_CONFIRMATION:
      return LogoutAction::kAskConfirmation;
    default:
      // DENY, and anything this client does not know: fail closed.
      return LogoutAction::kShowError;
  }
}

}  // namespace logout
