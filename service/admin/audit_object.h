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

// AuditObjectTenant is the tenant an object reads as. nullopt for "policy" (policy-wide) and
// for an object that is not one of the shapes above (e.g. written before names were encoded,
// with more than one '/' in a name). An object written before the encoding about a tenant
// named "acme/client/x" still reads as acme's client "x": the admin service also checks that
// no tenant of the object's whole name exists before showing it to a scoped credential.
std::optional<std::string> AuditObjectTenant(absl::string_view object);

}  // namespace logout::admin

#endif  // SERVICE_ADMIN_AUDIT_OBJECT_H_
