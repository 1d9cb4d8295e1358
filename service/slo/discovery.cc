#include "service/slo/discovery.h"

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"

namespace logout::slo {

namespace {

// The tenant a metadata request names: InvalidArgument / NotFound as documented.
absl::StatusOr<const policy::CompiledTenant*> RequestedTenant(const policy::CompiledPolicy& policy,
                                                              const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("tenant is required");
  if (name.size() > 256) return absl::InvalidArgumentError("tenant is longer than 256 bytes");
  const policy::CompiledTenant* tenant = policy.FindTenant(name);
  if (tenant == nullptr) return absl::NotFoundError("tenant not found");
  return tenant;
}

}  // namespace

absl::Status SsfConfiguration(const policy::CompiledPolicy& policy,
                              const v1::GetSsfConfigurationRequest& request,
                              v1::GetSsfConfigurationResponse* response) {
  response->Clear();
  absl::StatusOr<const policy::CompiledTenant*> found = RequestedTenant(policy, request.tenant());
  if (!found.ok()) return found.status();
  const policy::CompiledTenant* tenant = *found;
  if (tenant->ssf_jwks_uri.empty()) {
    return absl::FailedPreconditionError(
        "the tenant transmits no Shared Signals (shared_signals.jwks_uri is not set)");
  }
  response->set_issuer(tenant->issuer);
  response->set_jwks_uri(tenant->ssf_jwks_uri);
  response->add_delivery_methods_supported("urn:ietf:rfc:8935");
  response->set_spec_version("1_0");
  response->set_policy_version(policy.version());
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["spec_version"] = "1_0";
  if (!tenant->issuer.empty()) j["issuer"] = tenant->issuer;
  j["jwks_uri"] = tenant->ssf_jwks_uri;
  j["delivery_methods_supported"] = nlohmann::ordered_json::array({"urn:ietf:rfc:8935"});
  try {
    response->set_configuration_json(j.dump());
  } catch (const nlohmann::ordered_json::exception&) {
    return absl::InternalError("SSF configuration is not valid UTF-8");
  }
  return absl::OkStatus();
}

absl::Status DiscoveryMetadata(const policy::CompiledPolicy& policy,
                               const v1::GetDiscoveryMetadataRequest& request,
                               v1::GetDiscoveryMetadataResponse* response) {
  response->Clear();
  absl::StatusOr<const policy::CompiledTenant*> found = RequestedTenant(policy, request.tenant());
  if (!found.ok()) return found.status();
  const policy::CompiledTenant* tenant = *found;
  bool front = false;
  bool back = false;
  for (const auto& [id, client] : tenant->clients) {
    front = front || !client.frontchannel_logout_uri.empty();
    back = back || !client.backchannel_logout_uri.empty();
  }
  response->set_issuer(tenant->issuer);
  response->set_end_session_endpoint(tenant->end_session_endpoint);
  response->set_frontchannel_logout_supported(front);
  response->set_frontchannel_logout_session_supported(front);
  response->set_backchannel_logout_supported(back);
  response->set_backchannel_logout_session_supported(back);
  response->set_policy_version(policy.version());

  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!tenant->issuer.empty()) j["issuer"] = tenant->issuer;
  if (!tenant->end_session_endpoint.empty()) {
    j["end_session_endpoint"] = tenant->end_session_endpoint;
  }
  j["frontchannel_logout_supported"] = front;
  j["frontchannel_logout_session_supported"] = front;
  j["backchannel_logout_supported"] = back;
  j["backchannel_logout_session_supported"] = back;
  try {
    response->set_metadata_json(j.dump());
  } catch (const nlohmann::ordered_json::exception&) {
    return absl::InternalError("discovery metadata is not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace logout::slo
