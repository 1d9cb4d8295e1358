#include "service/store/tenant_rows.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/common/deterministic_bytes.h"

namespace logout::store {
namespace {

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s.substr(0, 256)), "\"");
}

}  // namespace

std::string SerializeTenant(const v1::Tenant& tenant) { return common::DeterministicBytes(tenant); }

absl::StatusOr<v1::Tenant> ParseTenant(absl::string_view body, absl::string_view name) {
  v1::Tenant tenant;
  if (!tenant.ParseFromArray(body.data(), static_cast<int>(body.size())) || tenant.name() != name) {
    return absl::DataLossError(
        absl::StrCat("the stored tenant ", Quote(name), " is not a valid logout.v1.Tenant"));
  }
  return tenant;
}

absl::StatusOr<std::vector<RowChange>> TenantWriteRows(const std::string& name, bool existed,
                                                       const v1::PolicyConfig& after) {
  std::vector<RowChange> rows;
  if (after.tenants_size() > 1 || (after.tenants_size() == 1 && after.tenants(0).name() != name)) {
    return absl::InternalError(
        absl::StrCat("a write to tenant ", Quote(name), " may change only that tenant"));
  }
  if (after.tenants_size() == 1) {
    rows.push_back({name, SerializeTenant(after.tenants(0))});
  } else if (existed) {
    rows.push_back({name, std::nullopt});
  }
  return rows;
}

absl::StatusOr<std::vector<RowChange>> PolicyWriteRows(
    const absl::flat_hash_map<std::string, std::string>& before, const v1::PolicyConfig& after) {
  std::vector<RowChange> rows;
  absl::flat_hash_set<std::string> kept;
  for (const v1::Tenant& t : after.tenants()) {
    if (!kept.insert(t.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant ", Quote(t.name()), ": duplicate name"));
    }
    std::string body = SerializeTenant(t);
    const auto it = before.find(t.name());
    if (it == before.end() || it->second != body) rows.push_back({t.name(), std::move(body)});
  }
  for (const auto& [name, body] : before) {
    if (!kept.contains(name)) rows.push_back({name, std::nullopt});
  }
  // Deterministic order (row locks and the change log), by name.
  std::sort(rows.begin(), rows.end(),
            [](const RowChange& a, const RowChange& b) { return a.name < b.name; });
  return rows;
}

}  // namespace logout::store
