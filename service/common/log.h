// Structured logs: one JSON object per line on stderr. Never pass tokens, secrets or full query
// strings as field values.
//
//   LogEvent(LogLevel::kInfo, "serving", {{"address", "0.0.0.0:50051"}, {"port", "50051"}});
#ifndef SERVICE_COMMON_LOG_H_
#define SERVICE_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace logout::common {

enum class LogLevel { kInfo, kWarning, kError };

struct LogField {
  absl::string_view key;
  std::string value;
  bool raw_number = false;  // emit unquoted
};

// LogEvent writes {"ts":..., "level":..., "msg":..., fields...} as one line to stderr.
// Thread-safe (one write(2) per line).
void LogEvent(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields = {});

// JsonEscape returns `s` as the body of a JSON string (without quotes).
std::string JsonEscape(absl::string_view s);

}  // namespace logout::common

#endif  // SERVICE_COMMON_LOG_H_
