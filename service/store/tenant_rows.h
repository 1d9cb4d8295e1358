// What both stores share about tenant rows: the row body (a deterministic logout.v1.Tenant),
// and which rows a write changes, checked the same way on SQLite and PostgreSQL.
//
//   LOGOUT_ASSIGN_OR_RETURN(std::vector<RowChange> rows, TenantWriteRows("acme", existed, after));
//   for (const RowChange& row : rows) { row.body ? upsert(row.name, *row.body) : del(row.name); }
#ifndef SERVICE_STORE_TENANT_ROWS_H_
#define SERVICE_STORE_TENANT_ROWS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/policy.pb.h"

namespace logout::store {

// A tenant row to write (`body` set) or to delete (`body` empty).
struct RowChange {
  std::string name;
  std::optional<std::string> body;
};

// SerializeTenant is the stored body of a tenant row.
std::string SerializeTenant(const v1::Tenant& tenant);

// ParseTenant reads a stored body; DataLossError naming the tenant when it does not parse.
absl::StatusOr<v1::Tenant> ParseTenant(absl::string_view body, absl::string_view name);

// TenantWriteRows checks the result of a mutation scoped to tenant `name` (`existed`: whether
// its row existed) and returns the row to write or delete. InternalError when the mutation
// left another tenant or two of them. No rows when it neither existed nor exists.
absl::StatusOr<std::vector<RowChange>> TenantWriteRows(const std::string& name, bool existed,
                                                       const v1::PolicyConfig& after);

// PolicyWriteRows returns the rows a policy-wide write changes: tenants of `after` whose body
// differs from `before` (name -> stored body), and deletions of the tenants it no longer has.
// InvalidArgumentError for a duplicate tenant name.
absl::StatusOr<std::vector<RowChange>> PolicyWriteRows(
    const absl::flat_hash_map<std::string, std::string>& before, const v1::PolicyConfig& after);

}  // namespace logout::store

#endif  // SERVICE_STORE_TENANT_ROWS_H_
