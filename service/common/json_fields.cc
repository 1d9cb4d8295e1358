#include "service/common/json_fields.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace logout::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string Q(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 64)), "\"");
}

bool IsFreeForm(const Descriptor& type) {
  return absl::StartsWith(type.full_name(), "google.protobuf.");
}

// The field `key` names, by proto name or by JSON name (as protobuf's parser accepts both).
const FieldDescriptor* FieldNamed(const Descriptor& type, const std::string& key) {
  if (const FieldDescriptor* f = type.FindFieldByName(key)) return f;
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == key) return type.field(i);
  }
  return nullptr;
}

absl::Status Check(const nlohmann::json& value, const Descriptor& type, const std::string& path,
                   int depth) {
  if (!value.is_object() || IsFreeForm(type) || depth > 64) return absl::OkStatus();
  absl::flat_hash_map<const FieldDescriptor*, std::string> seen;
  for (const auto& [key, child] : value.items()) {
    const FieldDescriptor* field = FieldNamed(type, key);
    if (field == nullptr) continue;
    auto [it, inserted] = seen.emplace(field, key);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(path.empty() ? "" : absl::StrCat(path, ": "), "field ", Q(field->name()),
                       " is given twice (", Q(it->second), " and ", Q(key), ")"));
    }
    if (field->type() != FieldDescriptor::TYPE_MESSAGE || field->is_map()) continue;
    const std::string here = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    if (field->is_repeated()) {
      if (!child.is_array()) continue;
      for (size_t i = 0; i < child.size(); ++i) {
        if (absl::Status s =
                Check(child[i], *field->message_type(), absl::StrCat(here, "[", i, "]"), depth + 1);
            !s.ok()) {
          return s;
        }
      }
    } else if (absl::Status s = Check(child, *field->message_type(), here, depth + 1); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEachFieldOnce(absl::string_view json, const Descriptor& type) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not JSON");
  return Check(doc, type, "", 0);
}

}  // namespace logout::common
