#include "service/policy/initiator.h"

#include <array>
#include <utility>

namespace logout::policy {
namespace {

constexpr std::array<std::pair<absl::string_view, v1::LogoutInitiator>, 9> kNames = {{
    {"rp-logout", v1::LOGOUT_INITIATOR_RP_LOGOUT},
    {"idp-logout", v1::LOGOUT_INITIATOR_IDP_LOGOUT},
    {"password-changed", v1::LOGOUT_INITIATOR_PASSWORD_CHANGED},
    {"session-expired", v1::LOGOUT_INITIATOR_SESSION_EXPIRED},
    {"session-revoked", v1::LOGOUT_INITIATOR_SESSION_REVOKED},
    {"account-deleted", v1::LOGOUT_INITIATOR_ACCOUNT_DELETED},
    {"email-identifier-changed", v1::LOGOUT_INITIATOR_EMAIL_IDENTIFIER_CHANGED},
    {"mfa-phone-unenrolled", v1::LOGOUT_INITIATOR_MFA_PHONE_UNENROLLED},
    {"account-deactivated", v1::LOGOUT_INITIATOR_ACCOUNT_DEACTIVATED},
}};

}  // namespace

std::optional<v1::LogoutInitiator> InitiatorFromName(absl::string_view name) {
  for (const auto& [n, i] : kNames) {
    if (n == name) return i;
  }
  return std::nullopt;
}

absl::string_view InitiatorName(v1::LogoutInitiator initiator) {
  for (const auto& [n, i] : kNames) {
    if (i == initiator) return n;
  }
  return "";
}

}  // namespace logout::policy
