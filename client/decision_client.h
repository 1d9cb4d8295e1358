// DecisionClient: what a web tier calls to ask logoutd for logout decisions. Every result says
// who decided: logoutd (an allow, a confirmation or a deny inside `response`), or nobody because
// logoutd could not be reached (failed closed / failed open), or nobody because the request was
// refused (an error). A failure is never dressed up as a logoutd ALLOW or DENY.
//
//   DecisionResult<v1::ValidateLogoutResponse> r = client->ValidateLogout(request);
//   switch (ActionFor(r)) { case LogoutAction::kRedirect: ...; }
#ifndef CLIENT_DECISION_CLIENT_H_
#define CLIENT_DECISION_CLIENT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "logout/v1/logout.pb.h"

namespace logout {

// Outcome is who produced a DecisionResult.
enum class Outcome {
  // logoutd answered with an OK status; `response` holds its decision (which may be a DENY).
  kDecided,
  // The request was refused and retrying it unchanged will not help: INVALID_ARGUMENT (also
  // raised by the client itself for an oversized request), NOT_FOUND (unknown tenant),
  // UNIMPLEMENTED, PERMISSION_DENIED, INTERNAL, ... Treat like a deny (error page, no logout).
  kError,
  // logoutd was unavailable (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED after the
  // retries) and the client is in fail-closed mode (the default): show an error page, do not log
  // the user out.
  kFailedClosed,
  // As kFailedClosed, but the client is in fail-open mode: log the user out locally and show the
  // logged-out page — never redirect anywhere (no target was validated).
  kFailedOpen,
};

// OutcomeName returns a stable lower-case name: "decided", "error", "failed_closed",
// "failed_open".
absl::string_view OutcomeName(Outcome outcome);

// FailMode is what a DecisionClient reports when logoutd is unavailable.
enum class FailMode {
  kClosed,  // Outcome::kFailedClosed (the default).
  kOpen,    // Outcome::kFailedOpen.
};

// IsAvailabilityFailure is true for the status codes that mean "logoutd could not be asked"
// rather than "logoutd refused the request": UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED
// (logoutd sheds load beyond --max_concurrent_rpcs with it; the client refuses oversized requests
// itself with INVALID_ARGUMENT before sending, so a caller cannot trigger this one by input size).
bool IsAvailabilityFailure(absl::StatusCode code);

// DecisionResult is the result of one DecisionClient call.
template <typename Response>
struct DecisionResult {
  Outcome outcome = Outcome::kError;
  // OK exactly when outcome == kDecided; otherwise the final gRPC status (codes and messages
  // as gRPC reported them; absl and gRPC status codes share their numeric values).
  absl::Status status;
  // logoutd's answer when outcome == kDecided; a default (empty) message otherwise, so its
  // decision is DECISION_UNSPECIFIED and it carries no URL.
  Response response;

  bool decided() const { return outcome == Outcome::kDecided; }
};

// LogoutAction is what a web tier does with a ValidateLogout result.
enum class LogoutAction {
  // End the session and redirect (302) to response.redirect_url(), which logoutd validated.
  kRedirect,
  // End the session and show the logged-out page (200). No redirect. Also the action for
  // Outcome::kFailedOpen.
  kShowLoggedOutPage,
  // Ask the user to confirm; response.redirect_url() (maybe empty) is where to go once they do.
  kAskConfirmation,
  // Do not end the session; show an error page: 400 for a DENY (response.error_description() is
  // safe to show), 503 for kFailedClosed, 400/500 for kError.
  kShowError,
};

// ActionFor maps a ValidateLogout result to the one thing the web tier should do.
LogoutAction ActionFor(const DecisionResult<v1::ValidateLogoutResponse>& result);

// DecisionClient asks logoutd for decisions. Implementations are thread-safe: one client is
// shared by all request threads. Every call has a deadline and never throws.
//
// What each method's fail-open outcome means for the caller:
//   ValidateLogout           log out locally, logged-out page, no redirect (ActionFor).
//   BuildFederatedLogoutUrl  log out locally only; no upstream IdP redirect.
//   PlanLogoutNotifications  send no single-logout notifications.
//   GetDiscoveryMetadata     publish no logout members.
class DecisionClient {
 public:
  virtual ~DecisionClient() = default;

  virtual DecisionResult<v1::ValidateLogoutResponse> ValidateLogout(
      const v1::ValidateLogoutRequest& request) = 0;
  virtual DecisionResult<v1::BuildFederatedLogoutUrlResponse> BuildFederatedLogoutUrl(
      const v1::BuildFederatedLogoutUrlRequest& request) = 0;
  virtual DecisionResult<v1::PlanLogoutNotificationsResponse> PlanLogoutNotifications(
      const v1::PlanLogoutNotificationsRequest& request) = 0;
  virtual DecisionResult<v1::GetDiscoveryMetadataResponse> GetDiscoveryMetadata(
      const v1::GetDiscoveryMetadataRequest& request) = 0;
};

}  // namespace logout

#endif  // CLIENT_DECISION_CLIENT_H_
