// Extracts the logout parameters a given endpoint recognises, from either a raw query string
// (GET query or POST form body, application/x-www-form-urlencoded) or pre-parsed params, and
// applies the input checks that come before any URL parsing: duplicates, size limits, control
// characters and UTF-8 validity. GET and POST are parsed identically.
//
//   ParamsOutcome out = ExtractParams(v1::ENDPOINT_V2_LOGOUT, request);
//   if (out.denied()) { /* out.reason, out.description */ }
#ifndef SERVICE_POLICY_REQUEST_PARAMS_H_
#define SERVICE_POLICY_REQUEST_PARAMS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "logout/v1/logout.pb.h"

namespace logout::policy {

// Size limits, in bytes of the decoded value.
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxHintBytes = size_t{16} * 1024;
inline constexpr size_t kMaxStateBytes = 2048;
inline constexpr size_t kMaxClientIdBytes = 256;
inline constexpr size_t kMaxLocalesBytes = 256;
inline constexpr size_t kMaxFederatedBytes = 16;
inline constexpr size_t kMaxRawQueryBytes = size_t{32} * 1024;

// LogoutRequestParams holds the parameters recognised on one endpoint, decoded. An empty
// string means absent (the protocol treats empty values as absent), except `federated`.
struct LogoutRequestParams {
  std::string target;  // returnTo (v2) or post_logout_redirect_uri (OIDC)
  std::string client_id;
  std::string id_token_hint;  // OIDC only
  std::string logout_hint;    // OIDC only
  std::string state;          // OIDC only
  std::string ui_locales;     // OIDC only
  bool federated_present = false;
  std::string federated;
};

// ParamsOutcome is either the extracted params or a denial with its reason and a description
// that names the parameter and never echoes its value.
struct ParamsOutcome {
  LogoutRequestParams params;
  v1::Reason deny_reason = v1::REASON_UNSPECIFIED;
  std::string description;
  bool denied() const { return deny_reason != v1::REASON_UNSPECIFIED; }
};

// TargetParamName is the wire name of the redirect target parameter on `endpoint`.
absl::string_view TargetParamName(v1::Endpoint endpoint);

// ExtractParams reads the parameters of `request` recognised on `endpoint` (which must be
// V2_LOGOUT or OIDC_LOGOUT). Unknown parameters are ignored. A recognised parameter given
// twice, a value over its limit, or a value with a C0/C1 control character, DEL or invalid
// UTF-8 yields a denial. Thread-safe (pure function).
ParamsOutcome ExtractParams(v1::Endpoint endpoint, const v1::ValidateLogoutRequest& request);

// ExtractParamsInto is ExtractParams writing into `out`, which it first empties: a caller that
// keeps one ParamsOutcome per thread reuses its strings' capacity, so a request whose values fit
// allocates nothing.
void ExtractParamsInto(v1::Endpoint endpoint, const v1::ValidateLogoutRequest& request,
                       ParamsOutcome* out);

// FormUrlDecode decodes one application/x-www-form-urlencoded component ('+' is a space,
// invalid percent escapes are kept literally).
std::string FormUrlDecode(absl::string_view in);
// FormUrlDecodeTo is FormUrlDecode replacing the contents of `out` (its capacity is kept).
void FormUrlDecodeTo(absl::string_view in, std::string* out);
// FormNameIs is FormUrlDecode(encoded) == name, without a buffer.
bool FormNameIs(absl::string_view encoded, absl::string_view name);

// HasForbiddenCharacters is true when `value` contains a C0 control, DEL, a C1 control
// (U+0080..U+009F) or is not valid UTF-8.
bool HasForbiddenCharacters(absl::string_view value);

}  // namespace logout::policy

#endif  // SERVICE_POLICY_REQUEST_PARAMS_H_
