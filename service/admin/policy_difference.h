// What an ImportPolicy changes: the difference between two policy documents by tenant, client
// and connection name, with allow-list URLs added/removed per tenant and client. Secrets are
// only ever named as changed fields, never copied into the difference.
//
//   v1::PolicyDifference d = DiffPolicies(stored, imported);
//   if (HasRemovals(d)) return absl::FailedPreconditionError(DescribeRemovals(d));
#ifndef SERVICE_ADMIN_POLICY_DIFFERENCE_H_
#define SERVICE_ADMIN_POLICY_DIFFERENCE_H_

#include <string>

#include "logout/v1/admin.pb.h"
#include "logout/v1/policy.pb.h"

namespace logout::admin {

// DiffPolicies compares `before` and `after`. Tenants are matched by name, clients by
// client_id, connections by name; lists are in `after`'s order (removals in `before`'s). A
// tenant is in tenants_changed when anything in it differs, even only the order of a list.
// Names are assumed unique within their parent (the policy compiler enforces it). Pure.
v1::PolicyDifference DiffPolicies(const v1::PolicyConfig& before, const v1::PolicyConfig& after);

// HasRemovals is true when `d` removes a tenant, a client or a connection.
bool HasRemovals(const v1::PolicyDifference& d);

// DescribeRemovals names what `d` removes ("tenant \"globex\", client \"acme/web\", connection
// \"acme/corp\""), at most `limit` names and then "and N more".
std::string DescribeRemovals(const v1::PolicyDifference& d, int limit = 20);

// IsEmpty is true when `d` changes nothing.
bool IsEmpty(const v1::PolicyDifference& d);

}  // namespace logout::admin

#endif  // SERVICE_ADMIN_POLICY_DIFFERENCE_H_
