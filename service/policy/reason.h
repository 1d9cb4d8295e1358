// Stable strings for decision reasons: one per logout.v1.Reason value, used in the response
// (`reason_code`), metric labels and log lines.
//
//   absl::string_view code = logout::policy::ReasonCode(logout::v1::REASON_TARGET_NOT_ALLOWED);
//   // code == "target_not_allowed"
#ifndef SERVICE_POLICY_REASON_H_
#define SERVICE_POLICY_REASON_H_

#include "absl/strings/string_view.h"
#include "logout/v1/logout.pb.h"

namespace logout::policy {

// ReasonCode returns the stable snake_case string of `reason` ("unspecified" for unknown
// values). Thread-safe; the view points at static storage.
absl::string_view ReasonCode(v1::Reason reason);

// DecisionCode returns the metric label and log spelling of `decision`: "allow", "deny",
// "require_confirmation" ("unspecified" for unknown values). Thread-safe; static storage.
absl::string_view DecisionCode(v1::Decision decision);

}  // namespace logout::policy

#endif  // SERVICE_POLICY_REASON_H_
