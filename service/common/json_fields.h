// protobuf's JSON parser takes a field under its proto name and its JSON name alike
// ("allowed_logout_urls" and "allowedLogoutUrls") and quietly merges or overwrites when both
// appear. CheckEachFieldOnce refuses a document that names one field twice that way, so what
// was written is what is read.
//
//   LOGOUT_RETURN_IF_ERROR(CheckStrictJson(text));                       // syntax first
//   LOGOUT_RETURN_IF_ERROR(CheckEachFieldOnce(text, *v1::PolicyConfig::descriptor()));
#ifndef SERVICE_COMMON_JSON_FIELDS_H_
#define SERVICE_COMMON_JSON_FIELDS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace logout::common {

// CheckEachFieldOnce walks `json` (already known to be valid JSON) as the proto3 JSON form of
// `type` and returns InvalidArgumentError naming the path and both spellings when an object
// gives one field twice, e.g. `tenants[0].clients[1]: field "allowed_logout_urls" is given
// twice ("allowed_logout_urls" and "allowedLogoutUrls")`. Free-form values (Struct, Value,
// Any, ...) and keys that name no field (protobuf refuses those itself) are not checked.
absl::Status CheckEachFieldOnce(absl::string_view json, const google::protobuf::Descriptor& type);

}  // namespace logout::common

#endif  // SERVICE_COMMON_JSON_FIELDS_H_
