#include "service/admin/audit_object.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace logout::admin {
namespace {

std::string Encode(absl::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> Decode(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    const absl::string_view escape = segment.substr(i, 3);
    if (escape == "%25") {
      out += '%';
    } else if (escape == "%2F") {
      out += '/';
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

}  // namespace

std::string AuditObject(absl::string_view tenant, absl::string_view kind, absl::string_view name) {
  std::string out = absl::StrCat("tenant/", Encode(tenant));
  if (!kind.empty()) absl::StrAppend(&out, "/", kind, "/", Encode(name));
  return out;
}

std::optional<std::string> AuditObjectTenant(absl::string_view object) {
  if (!absl::ConsumePrefix(&object, "tenant/")) return std::nullopt;
  const std::vector<absl::string_view> parts = absl::StrSplit(object, '/');
  if (parts.size() != 1 &&
      !(parts.size() == 3 && (parts[1] == "client" || parts[1] == "connection"))) {
    return std::nullopt;
  }
  if (parts[0].empty()) return std::nullopt;
  return Decode(parts[0]);
}

}  // namespace logout::admin
