// The logout members of a tenant's OpenID Provider metadata (RP-Initiated Logout 1.0 §3,
// Front-Channel Logout 1.0 §3, Back-Channel Logout 1.0 §2.1), reflecting its configuration.
//
//   v1::GetDiscoveryMetadataResponse resp;
//   absl::Status s = DiscoveryMetadata(*snapshot, request, &resp);
#ifndef SERVICE_SLO_DISCOVERY_H_
#define SERVICE_SLO_DISCOVERY_H_

#include "absl/status/status.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/compiled_policy.h"

namespace logout::slo {

// DiscoveryMetadata fills `response`:
//  - issuer; end_session_endpoint (the tenant's, else issuer + "oidc/logout");
//  - frontchannel_logout_supported: some client of the tenant registered a front-channel URI;
//  - backchannel_logout_supported: some client registered a back-channel URI (the policy
//    compiler refuses such a client without a key that can sign its tokens);
//  - *_session_supported: equal to *_supported (logoutd can always add `sid`, and does so
//    whenever a session id is known);
//  - metadata_json: the same members as one JSON object (end_session_endpoint and issuer
//    omitted when empty).
// Returns InvalidArgumentError without a tenant, NotFoundError for an unknown one. Thread-safe.
absl::Status DiscoveryMetadata(const policy::CompiledPolicy& policy,
                               const v1::GetDiscoveryMetadataRequest& request,
                               v1::GetDiscoveryMetadataResponse* response);

// SsfConfiguration fills `response` with the tenant's Shared Signals transmitter metadata:
// issuer, jwks_uri (shared_signals.jwks_uri), delivery_methods_supported
// ["urn:ietf:rfc:8935"], spec_version "1_0", and configuration_json. Returns
// InvalidArgumentError without a tenant, NotFoundError for an unknown one,
// FailedPreconditionError when the tenant has no shared_signals.jwks_uri (it transmits
// nothing). Thread-safe.
absl::Status SsfConfiguration(const policy::CompiledPolicy& policy,
                              const v1::GetSsfConfigurationRequest& request,
                              v1::GetSsfConfigurationResponse* response);

}  // namespace logout::slo

#endif  // SERVICE_SLO_DISCOVERY_H_
