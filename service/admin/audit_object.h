// The `object` of an audit event: what a write was about, as a path whose names are
// percent-encoded so that no name can read as another object ("tenant/acme%2Fclient%2Fx" is
// the tenant "acme/client/x", never a client of "acme").
//
//   std::string o = AuditObject("acme", "client", "web");   // "tenant/acme/client/web"
//   std::optional<std::string> t = AuditObjectTenant(o);    // "acme"
#ifndef SERVICE_ADMIN_AUDIT_OBJECT_H_
#define SERVICE_ADMIN_AUDIT_OBJECT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace logout::admin {

// AuditObject is "tenant/<tenant>", or with `kind` ("client" or "connection") and `name`
// "tenant/<tenant>/<kind>/<name>"; '%' and '/' in names are written %25 and %2F.
std::string AuditObject(absl::string_view tenant, absl::string_view kind = "",
                        absl::string_view name = "");

// AuditObjectTenant is the tenant an object belongs to. nullopt for "policy" (policy-wide) and
// for an object that does not read unambiguously as one of the shapes above (e.g. written
// before names were encoded, with a '/' in a name): such events are shown only to
// credentials for every tenant.
std::optional<std::string> AuditObjectTenant(absl::string_view object);

}  // namespace logout::admin

#endif  // SERVICE_ADMIN_AUDIT_OBJECT_H_
