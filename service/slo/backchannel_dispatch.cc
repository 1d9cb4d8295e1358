#include "service/slo/backchannel_dispatch.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/policy/initiator.h"
#include "service/slo/backchannel_delivery.h"
#include "service/slo/logout_token.h"

namespace logout::slo {
namespace {

constexpr char kFormType[] = "application/x-www-form-urlencoded";
// The planned token is sent first only while it has this much life left.
constexpr absl::Duration kFirstTokenMargin = absl::Seconds(10);

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace

v1::DeliveryState DeliveryStateOf(const store::OutboxJob& job) {
  switch (job.state) {
    case store::JobState::kPending:
      return v1::DELIVERY_STATE_PENDING;
    case store::JobState::kDelivered:
      return v1::DELIVERY_STATE_DELIVERED;
    case store::JobState::kRejected:
      return v1::DELIVERY_STATE_REJECTED;
    case store::JobState::kDead:
      return v1::DELIVERY_STATE_DEAD_LETTER;
  }
  return v1::DELIVERY_STATE_UNSPECIFIED;
}

void BackchannelDispatcher::Dispatch(const EndedSession& session, absl::Time wait_until,
                                     v1::LogoutNotificationPlan* plan, Done done) {
  plan->set_backchannel_delivered_by_logoutd(true);
  const absl::Time now = absl::Now();
  std::vector<NewJob> jobs;
  // A job for `target` at `uri`, planned now, with the session's claims.
  auto add_job = [&](const char* kind, const std::string& target,
                     const std::string& uri) -> NewJob& {
    NewJob& j = jobs.emplace_back();
    store::OutboxJob& job = j.job;
    job.kind = kind;
    job.tenant = std::string(session.tenant);
    job.target = target;
    job.uri = uri;
    job.origin = OriginOf(job.uri);
    job.iss = plan->iss();
    job.sub = std::string(session.sub);
    job.sid = std::string(session.sid);
    job.initiator = std::string(policy::InitiatorName(session.initiator));
    job.event_time_micros = absl::ToUnixMicros(now);
    job.created_micros = job.event_time_micros;
    job.due_micros = job.event_time_micros;
    job.expires_micros = absl::ToUnixMicros(now + horizon_);
    return j;
  };
  std::vector<int> entries;  // plan entry of each back-channel job
  for (int i = 0; i < plan->clients_size(); ++i) {
    const v1::ClientNotification& entry = plan->clients(i);
    if (!entry.has_backchannel() || entry.backchannel().uri().empty()) continue;
    NewJob& j = add_job(store::kJobKindBackchannel, entry.client_id(), entry.backchannel().uri());
    if (!entry.backchannel().logout_token().empty()) {
      j.first = {"", kFormType,
                 absl::StrCat("logout_token=", FormEncode(entry.backchannel().logout_token())), ""};
      j.first_usable_until = TimeOf(entry.backchannel().expires_at()) - kFirstTokenMargin;
    }
    entries.push_back(i);
  }
  const size_t backchannel_jobs = jobs.size();
  if (session.compiled != nullptr) {
    for (const policy::CompiledStream& stream : session.compiled->ssf_streams) {
      if (!stream.session_revoked) continue;
      add_job(store::kJobKindSet, stream.stream_id, stream.endpoint_url);
      plan->add_streams()->set_stream_id(stream.stream_id);
    }
  }
  if (jobs.empty()) {
    done(absl::OkStatus());
    return;
  }
  deliverer_->Enqueue(
      std::move(jobs), wait_until,
      [plan, entries = std::move(entries), backchannel_jobs, done = std::move(done)](
          absl::Status committed, std::vector<store::OutboxJob> states) {
        if (!committed.ok()) {
          done(std::move(committed));
          return;
        }
        for (size_t k = 0; k < states.size(); ++k) {
          const store::OutboxJob& s = states[k];
          v1::DeliveryStatus* d =
              k < backchannel_jobs ? plan->mutable_clients(entries[k])->mutable_delivery()
                                   : plan->mutable_streams(static_cast<int>(k - backchannel_jobs))
                                         ->mutable_delivery();
          d->set_job_id(s.id);
          d->set_state(DeliveryStateOf(s));
          d->set_attempts(static_cast<uint32_t>(s.attempts));
          d->set_http_status(static_cast<uint32_t>(s.http_status));
          d->set_detail(s.detail);
        }
        done(absl::OkStatus());
      });
}

Preparer BackchannelPreparer(const store::SnapshotHolder* holder) {
  return [holder](const store::OutboxJob& job) -> absl::StatusOr<PreparedRequest> {
    std::shared_ptr<const policy::CompiledPolicy> live = holder->Get();
    if (live == nullptr) return absl::UnavailableError("no policy installed");
    const policy::CompiledTenant* tenant = live->FindTenant(job.tenant);
    if (job.kind == store::kJobKindSet) {
      const policy::CompiledStream* stream =
          tenant == nullptr ? nullptr : tenant->FindStream(job.target);
      if (stream == nullptr || !stream->session_revoked) {
        return absl::NotFoundError("the stream is gone or no longer asks for session-revoked");
      }
      SessionRevokedInput in;
      in.iss = job.iss;
      in.sid = job.sid;
      in.sub = job.sub;
      in.event_time = absl::FromUnixMicros(job.event_time_micros);
      in.initiating_entity = InitiatingEntityOf(job.initiator);
      absl::StatusOr<SignedSet> set = MintSessionRevokedSet(*tenant, *stream, in, absl::Now());
      if (!set.ok()) return set.status();
      return PreparedRequest{stream->endpoint_url, "application/secevent+jwt",
                             std::move(set->token), stream->authorization_header};
    }
    const policy::CompiledClient* client =
        tenant == nullptr ? nullptr : tenant->FindClient(job.target);
    if (client == nullptr || client->backchannel_logout_uri.empty()) {
      return absl::NotFoundError("the client or its back-channel URI is gone");
    }
    LogoutTokenInput in;
    in.iss = job.iss;
    in.aud = job.target;
    in.sub = job.sub;
    in.sid = job.sid;
    absl::StatusOr<SignedLogoutToken> token = MintLogoutToken(*tenant, *client, in, absl::Now());
    if (!token.ok()) return token.status();
    return PreparedRequest{client->backchannel_logout_uri, kFormType,
                           absl::StrCat("logout_token=", FormEncode(token->token)), ""};
  };
}

}  // namespace logout::slo
