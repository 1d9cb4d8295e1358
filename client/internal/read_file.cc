#include "client/internal/read_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace logout::client_internal {

absl::StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open \"", path, "\": ", std::strerror(errno)));
  }
  std::string content;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    if (content.size() + n > max_bytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" is larger than ", max_bytes, " bytes"));
    }
    content.append(buf, n);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::UnknownError(absl::StrCat("cannot read \"", path, "\""));
  return content;
}

absl::string_view TrimToken(absl::string_view content) {
  return absl::StripAsciiWhitespace(content);
}

}  // namespace logout::client_internal
