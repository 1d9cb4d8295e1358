#include "service/store/policy_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "service/common/json_fields.h"
#include "service/common/strict_json.h"

namespace logout::store {
namespace {

// Collects text-format parse errors into one message.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (message_.empty())
      message_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

absl::StatusOr<v1::PolicyConfig> ParsePolicyText(absl::string_view text) {
  v1::PolicyConfig config;
  const absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(text);
  if (!trimmed.empty() && trimmed.front() == '{') {
    // protobuf's JSON parser is lenient (single quotes, trailing commas, repeated keys): the
    // text must be strict RFC 8259 JSON first, so a typo is refused instead of half-read.
    if (absl::Status s = common::CheckStrictJson(text); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("policy JSON: ", s.message()));
    }
    if (absl::Status s = common::CheckEachFieldOnce(text, *v1::PolicyConfig::descriptor());
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("policy JSON: ", s.message()));
    }
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(text.data(), text.size()), &config, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy JSON: ", status.message().as_string()));
    }
    return config;
  }
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat("policy text format: ", errors.message()));
  }
  return config;
}

absl::StatusOr<v1::PolicyConfig> ReadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string what =
        absl::StrCat("cannot open policy file ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(what);
    if (err == EACCES) return absl::PermissionDeniedError(what);
    return absl::InvalidArgumentError(what);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  if (text.size() > kMaxPolicyFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("policy file ", path, " is too large"));
  }
  absl::StatusOr<v1::PolicyConfig> config = ParsePolicyText(text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace logout::store
