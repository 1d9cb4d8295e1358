// Back-Channel Logout initiator names (Auth0's `backchannel_logout_initiators` vocabulary).
//
//   std::optional<v1::LogoutInitiator> i = InitiatorFromName("rp-logout");
#ifndef SERVICE_POLICY_INITIATOR_H_
#define SERVICE_POLICY_INITIATOR_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "logout/v1/logout.pb.h"

namespace logout::policy {

// InitiatorFromName maps "rp-logout", "idp-logout", "password-changed", "session-expired",
// "session-revoked", "account-deleted", "email-identifier-changed", "mfa-phone-unenrolled" and
// "account-deactivated" to the enum (case-sensitive); std::nullopt for anything else.
std::optional<v1::LogoutInitiator> InitiatorFromName(absl::string_view name);
// InitiatorName is the name of `initiator`, or "" for LOGOUT_INITIATOR_UNSPECIFIED / unknown.
absl::string_view InitiatorName(v1::LogoutInitiator initiator);

}  // namespace logout::policy

#endif  // SERVICE_POLICY_INITIATOR_H_
