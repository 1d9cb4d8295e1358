#include "service/policy/reason.h"

namespace logout::policy {

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
    case v1::REASON_ID_TOKEN_HINT_NOT_SUPPORTED:
      return "id_token_hint_not_supported";
    case v1::REASON_ID_TOKEN_HINT_REQUIRED:
      return "id_token_hint_required";
    case v1::REASON_REDIRECT_URI_REQUIRED:
      return "redirect_uri_required";
    case v1::REASON_CLIENT_REQUIRED:
      return "client_required";
    default:
      return "unspecified";
  }
}

}  // namespace logout::policy
