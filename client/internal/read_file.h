// ReadFileLimited: reads a small local file (a certificate, a token, a policy) whole, refusing
// files larger than a limit so a wrong path cannot make a tool read gigabytes.
//
//   absl::StatusOr<std::string> pem = ReadFileLimited("/etc/logoutd/ca.pem", 1 << 20);
#ifndef CLIENT_INTERNAL_READ_FILE_H_
#define CLIENT_INTERNAL_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace logout::client_internal {

// ReadFileLimited returns the content of `path`. NOT_FOUND when it cannot be opened,
// INVALID_ARGUMENT when it is larger than `max_bytes`, UNKNOWN on a read error. Messages name
// the path, never the content.
absl::StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

// TrimToken returns `content` without surrounding whitespace (token files end with a newline).
absl::string_view TrimToken(absl::string_view content);

}  // namespace logout::client_internal

#endif  // CLIENT_INTERNAL_READ_FILE_H_
