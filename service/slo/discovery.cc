#include "service/slo/discovery.h"

#include <nlohmann/json.hpp>

namespace logout::slo {

absl::Status DiscoveryMetadata(const policy::CompiledPolicy& policy,
                               const v1::GetDiscoveryMetadataRequest& request,
                               v1::GetDiscoveryMetadataResponse* response) {
  response->Clear();
  if (request.tenant().empty()) return absl::InvalidArgumentError("tenant is required");
  if (request.tenant().size() > 256) {
    return absl::InvalidArgumentError("tenant is longer than 256 bytes");
  }
  const policy::CompiledTenant* tenant = policy.FindTenant(request.tenant());
  if (tenant == nullptr) return absl::NotFoundError("tenant not found");
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
