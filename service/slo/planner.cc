#include "service/slo/planner.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/timestamp.pb.h"
#include "service/policy/initiator.h"
#include "service/url/url.h"

namespace logout::slo {
namespace {

constexpr size_t kMaxTenantBytes = 256;

bool HasControl(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  if (id.size() > kMaxClientIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", kMaxClientIdBytes, " bytes"));
  }
  if (HasControl(id)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " contains control characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const PlanInput& r) {
  if (r.tenant.empty()) return absl::InvalidArgumentError("tenant is required");
  if (r.tenant.size() > kMaxTenantBytes) {
    return absl::InvalidArgumentError("tenant is longer than 256 bytes");
  }
  if (r.initiator == v1::LOGOUT_INITIATOR_UNSPECIFIED ||
      policy::InitiatorName(r.initiator).empty()) {
    return absl::InvalidArgumentError("initiator is required");
  }
  if (r.sid.empty() && r.sub.empty()) {
    return absl::InvalidArgumentError("sid or sub is required");
  }
  if (r.sid.size() > kMaxSidBytes || r.sub.size() > kMaxSubBytes) {
    return absl::InvalidArgumentError("sid and sub must be at most 1024 bytes");
  }
  if (HasControl(r.sid) || HasControl(r.sub)) {
    return absl::InvalidArgumentError("sid and sub must not contain control characters");
  }
  if (static_cast<size_t>(r.session_client_ids.size()) > kMaxSessionClients) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxSessionClients, " session_client_ids"));
  }
  for (size_t i = 0; i < r.session_client_ids.size(); ++i) {
    if (absl::Status s =
            CheckId(absl::StrCat("session_client_ids[", i, "]"), r.session_client_ids[i]);
        !s.ok()) {
      return s;
    }
  }
  if (!r.initiating_client_id.empty()) {
    if (absl::Status s = CheckId("initiating_client_id", r.initiating_client_id); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void SetSkip(v1::ClientNotification& n, v1::NotificationSkipReason reason) {
  if (n.skip_reason() == v1::NOTIFICATION_SKIP_REASON_UNSPECIFIED) n.set_skip_reason(reason);
}

absl::Status PlanClient(const policy::CompiledTenant& tenant, absl::string_view client_id,
                        const PlanInput& r, absl::Time now, const JtiSource& jti_source,
                        v1::ClientNotification& n) {
  n.set_client_id(std::string(client_id));
  const policy::CompiledClient* c = tenant.FindClient(client_id);
  if (c == nullptr) {
    n.set_skip_reason(v1::NOTIFICATION_SKIP_REASON_UNKNOWN_CLIENT);
    return absl::OkStatus();
  }
  if (c->frontchannel_logout_uri.empty() && c->backchannel_logout_uri.empty()) {
    n.set_skip_reason(v1::NOTIFICATION_SKIP_REASON_NOT_REGISTERED);
    return absl::OkStatus();
  }
  if (!c->frontchannel_logout_uri.empty()) {
    if (c->frontchannel_logout_session_required && r.sid.empty()) {
      SetSkip(n, v1::NOTIFICATION_SKIP_REASON_SID_REQUIRED);
    } else {
      n.mutable_frontchannel()->set_url(
          FrontChannelUrl(*c, tenant.issuer, r.sid, c->frontchannel_logout_session_required));
    }
  }
  if (!c->backchannel_logout_uri.empty()) {
    if (!c->backchannel_all_initiators &&
        !c->backchannel_initiators.contains(static_cast<int>(r.initiator))) {
      SetSkip(n, v1::NOTIFICATION_SKIP_REASON_INITIATOR_EXCLUDED);
    } else if (c->backchannel_logout_session_required && r.sid.empty()) {
      SetSkip(n, v1::NOTIFICATION_SKIP_REASON_SID_REQUIRED);
    } else {
      LogoutTokenInput in;
      in.iss = tenant.issuer;
      in.aud = c->client_id;
      in.sub = std::string(r.sub);
      in.sid = std::string(r.sid);
      absl::StatusOr<SignedLogoutToken> token = MintLogoutToken(tenant, *c, in, now, jti_source);
      if (absl::IsFailedPrecondition(token.status())) {
        SetSkip(n, v1::NOTIFICATION_SKIP_REASON_NO_SIGNING_KEY);
      } else if (!token.ok()) {
        return token.status();
      } else {
        v1::BackChannelJob* job = n.mutable_backchannel();
        job->set_uri(c->backchannel_logout_uri);
        job->set_logout_token(std::move(token->token));
        job->set_jti(std::move(token->jti));
        job->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(token->expires_at));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string FrontChannelUrl(const policy::CompiledClient& client, absl::string_view iss,
                            absl::string_view sid, bool add_session) {
  absl::StatusOr<url::Url> u = url::Url::Parse(client.frontchannel_logout_uri);
  if (!u.ok()) return client.frontchannel_logout_uri;  // validated at compile time
  if (!add_session) return std::string(u->href());
  std::vector<absl::string_view> kept;
  if (u->has_query()) {
    for (absl::string_view pair : absl::StrSplit(u->query(), '&')) {
      const absl::string_view name = pair.substr(0, pair.find('='));
      if (name == "iss" || name == "sid") continue;
      kept.push_back(pair);
    }
  }
  std::string query = absl::StrJoin(kept, "&");
  absl::StrAppend(&query, query.empty() ? "" : "&", "iss=");
  url::AppendComponentEncoded(iss, &query);
  query += "&sid=";
  url::AppendComponentEncoded(sid, &query);
  return std::string(u->WithQuery(query).href());
}

absl::Status PlanLogout(const policy::CompiledPolicy& policy, const PlanInput& input,
                        absl::Time now, v1::LogoutNotificationPlan* plan,
                        const JtiSource& jti_source) {
  plan->Clear();
  if (absl::Status s = CheckRequest(input); !s.ok()) return s;
  const policy::CompiledTenant* tenant = policy.FindTenant(input.tenant);
  if (tenant == nullptr) return absl::NotFoundError("tenant not found");
  plan->set_iss(tenant->issuer);
  absl::flat_hash_set<absl::string_view> seen;
  std::vector<absl::string_view> order;
  for (absl::string_view id : input.session_client_ids) {
    if (seen.insert(id).second) order.push_back(id);
  }
  if (!input.initiating_client_id.empty() && seen.insert(input.initiating_client_id).second) {
    order.push_back(input.initiating_client_id);
  }
  const JtiSource& source = jti_source ? jti_source : JtiSource(RandomJti);
  for (absl::string_view id : order) {
    if (absl::Status s = PlanClient(*tenant, id, input, now, source, *plan->add_clients());
        !s.ok()) {
      plan->Clear();
      return s;
    }
  }
  return absl::OkStatus();
}

PlanInput PlanInputOf(const v1::PlanLogoutNotificationsRequest& request) {
  return PlanInput{.tenant = request.tenant(),
                   .sid = request.sid(),
                   .sub = request.sub(),
                   .session_client_ids = {request.session_client_ids().begin(),
                                          request.session_client_ids().end()},
                   .initiator = request.initiator(),
                   .initiating_client_id = request.initiating_client_id()};
}

std::optional<PlanInput> PlanInputAfterDecision(const v1::ValidateLogoutRequest& request,
                                                const v1::ValidateLogoutResponse& response) {
  if (!request.plan_notifications() || response.decision() != v1::DECISION_ALLOW) {
    return std::nullopt;
  }
  // Nothing to tell without an OP session: a hint alone names a user, not a session, and a
  // sub-only logout token would end every session of that user at each RP.
  if (response.session().sid().empty()) return std::nullopt;
  return PlanInput{.tenant = request.tenant(),
                   .sid = response.session().sid(),
                   .sub = response.session().sub(),
                   .session_client_ids = {request.session_client_ids().begin(),
                                          request.session_client_ids().end()},
                   .initiator = v1::LOGOUT_INITIATOR_RP_LOGOUT,
                   .initiating_client_id = response.client_id()};
}

absl::Status PlanLogout(const policy::CompiledPolicy& policy,
                        const v1::PlanLogoutNotificationsRequest& request, absl::Time now,
                        v1::PlanLogoutNotificationsResponse* response,
                        const JtiSource& jti_source) {
  response->Clear();
  if (absl::Status s =
          PlanLogout(policy, PlanInputOf(request), now, response->mutable_plan(), jti_source);
      !s.ok()) {
    response->Clear();
    return s;
  }
  response->set_policy_version(policy.version());
  return absl::OkStatus();
}

absl::Status AttachPlan(const policy::CompiledPolicy& policy,
                        const v1::ValidateLogoutRequest& request, absl::Time now,
                        v1::ValidateLogoutResponse* response) {
  const std::optional<PlanInput> input = PlanInputAfterDecision(request, *response);
  if (!input.has_value()) return absl::OkStatus();
  absl::Status s = PlanLogout(policy, *input, now, response->mutable_notifications());
  if (!s.ok()) response->clear_notifications();
  return s;
}

}  // namespace logout::slo
