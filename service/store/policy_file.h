// Reads a declarative policy file: JSON (proto3 JSON mapping) or protobuf text format.
//
//   absl::StatusOr<v1::PolicyConfig> config = ReadPolicyFile("deploy/examples/policy.json");
#ifndef SERVICE_STORE_POLICY_FILE_H_
#define SERVICE_STORE_POLICY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/policy.pb.h"

namespace logout::store {

// Maximum policy file size accepted.
inline constexpr size_t kMaxPolicyFileBytes = size_t{256} * 1024 * 1024;

// ParsePolicyText parses `text` as JSON when its first non-space character is '{', else as
// text format. Unknown fields are errors. Returns InvalidArgumentError with the parser's message.
absl::StatusOr<v1::PolicyConfig> ParsePolicyText(absl::string_view text);

// ReadPolicyFile reads and parses `path`. Returns NotFoundError / PermissionDeniedError /
// InvalidArgumentError (too large, unparsable). It does not validate the policy's content:
// CompiledPolicy::Build does.
absl::StatusOr<v1::PolicyConfig> ReadPolicyFile(const std::string& path);

}  // namespace logout::store

#endif  // SERVICE_STORE_POLICY_FILE_H_
