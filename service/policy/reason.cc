#include "service/policy/reason.h"

namespace logout::policy {

absl::string_view DecisionCode(v1::Decision decision) {
  switch (decision) {
    case v1::DECISION_ALLOW:
      return "allow";
    case v1::DECISION_DENY:
      return "deny";
    case v1::DECISION_REQUIRE_CONFIRMATION:
      return "require_confirmation";
    default:
      return "unspecified";
  }
}

absl::string_view ReasonCode(v1::Reason reason) {
  switch (reason) {
    case v1::REASON_REDIRECT_ALLOWED:
      return "redirect_allowed";
    case v1::REASON_DEFAULT_REDIRECT:
      return "default_redirect";
    case v1::REASON_LOGGED_OUT_PAGE:
      return "logged_out_page";
    case v1::REASON_CONFIRMATION_REQUIRED:
      return "confirmation_required";
    case v1::REASON_DUPLICATE_PARAMETER:
      return "duplicate_parameter";
    case v1::REASON_INVALID_CHARACTERS:
      return "invalid_characters";
    case v1::REASON_PARAMETER_TOO_LONG:
      return "parameter_too_long";
    case v1::REASON_INVALID_FEDERATED:
      return "invalid_federated";
    case v1::REASON_TARGET_INVALID_URL:
      return "target_invalid_url";
    case v1::REASON_TARGET_SCHEME_NOT_ALLOWED:
      return "target_scheme_not_allowed";
    case v1::REASON_TARGET_HAS_USERINFO:
      return "target_has_userinfo";
    case v1::REASON_TARGET_NOT_ALLOWED:
      return "target_not_allowed";
    case v1::REASON_ALLOW_LIST_EMPTY:
      return "allow_list_empty";
    case v1::REASON_UNKNOWN_CLIENT:
      return "unknown_client";
    case v1::REASON_UNSUPPORTED_LOCALE:
      return "unsupported_locale";
    case v1::REASON_ID_TOKEN_HINT_REQUIRED:
      return "id_token_hint_required";
    case v1::REASON_REDIRECT_URI_REQUIRED:
      return "redirect_uri_required";
    case v1::REASON_CLIENT_REQUIRED:
      return "client_required";
    case v1::REASON_ID_TOKEN_HINT_INVALID:
      return "id_token_hint_invalid";
    case v1::REASON_ID_TOKEN_HINT_WRONG_ISSUER:
      return "id_token_hint_wrong_issuer";
    case v1::REASON_ID_TOKEN_HINT_NOT_YET_VALID:
      return "id_token_hint_not_yet_valid";
    case v1::REASON_ID_TOKEN_HINT_TOO_OLD:
      return "id_token_hint_too_old";
    case v1::REASON_ID_TOKEN_HINT_NOT_ID_TOKEN:
      return "id_token_hint_not_id_token";
    case v1::REASON_ID_TOKEN_HINT_UNKNOWN_AUDIENCE:
      return "id_token_hint_unknown_audience";
    case v1::REASON_CLIENT_ID_MISMATCH:
      return "client_id_mismatch";
    case v1::REASON_LOGOUT_HINT_MISMATCH:
      return "logout_hint_mismatch";
    case v1::REASON_CLIENT_SECRET_EXPIRED:
      return "client_secret_expired";
    default:
      return "unspecified";
  }
}

}  // namespace logout::policy
