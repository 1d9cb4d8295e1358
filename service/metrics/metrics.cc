#include "service/metrics/metrics.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "service/metrics/internal/grpc_metrics.h"
#include "service/metrics/internal/http_exposer.h"
#include "service/policy/reason.h"

#ifndef LOGOUT_VERSION
#define LOGOUT_VERSION "dev"
#endif

namespace logout::metrics {
namespace {

constexpr int kEndpoints = v1::Endpoint_ARRAYSIZE;
constexpr int kDecisions = v1::Decision_ARRAYSIZE;
constexpr int kReasons = v1::Reason_ARRAYSIZE;
constexpr size_t kDecisionSlots = size_t{kEndpoints} * kDecisions * kReasons;
constexpr size_t kFederatedSlots = size_t{kDecisions} * kReasons;
constexpr int64_t kUnset = std::numeric_limits<int64_t>::min();

// Out-of-range values index slot 0 ("unspecified"). In-range numbers the enum lacks (reserved
// gaps) keep their own slot, created on first use with the label "unspecified": the family
// hands back the same series for the same labels. A range check, not the generated
// *_IsValid (an out-of-line switch), keeps this on the hot path's few nanoseconds.
int NormalEndpoint(v1::Endpoint e) { return static_cast<unsigned>(e) < kEndpoints ? e : 0; }
int NormalDecision(v1::Decision d) { return static_cast<unsigned>(d) < kDecisions ? d : 0; }
int NormalReason(v1::Reason r) { return static_cast<unsigned>(r) < kReasons ? r : 0; }

size_t DecisionIndex(int endpoint, int decision, int reason) {
  return (static_cast<size_t>(endpoint) * kDecisions + decision) * kReasons + reason;
}
size_t FederatedIndex(int decision, int reason) {
  return static_cast<size_t>(decision) * kReasons + reason;
}

// EnumLabel turns ENDPOINT_V2_LOGOUT into "v2_logout" (prefix stripped, lower case).
std::string EnumLabel(const google::protobuf::EnumDescriptor* descriptor, int value,
                      absl::string_view prefix) {
  const google::protobuf::EnumValueDescriptor* v = descriptor->FindValueByNumber(value);
  if (v == nullptr) return "unspecified";
  absl::string_view name = v->name();
  if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string EndpointLabel(int e) { return EnumLabel(v1::Endpoint_descriptor(), e, "ENDPOINT_"); }
std::string DecisionLabel(int d) {
  return std::string(policy::DecisionCode(static_cast<v1::Decision>(d)));
}
std::string ReasonLabel(int r) {
  return std::string(policy::ReasonCode(static_cast<v1::Reason>(r)));
}

// The decision a reason goes with (used only to choose which series exist before first use).
v1::Decision PlausibleDecision(int reason) {
  if (reason >= v1::REASON_REDIRECT_ALLOWED && reason <= v1::REASON_LOGGED_OUT_PAGE) {
    return v1::DECISION_ALLOW;
  }
  if (reason == v1::REASON_CONFIRMATION_REQUIRED) return v1::DECISION_REQUIRE_CONFIRMATION;
  if (reason >= v1::REASON_DUPLICATE_PARAMETER) return v1::DECISION_DENY;
  return v1::DECISION_UNSPECIFIED;
}

}  // namespace

// Produces logoutd_policy_snapshot_age_seconds at scrape time.
class Metrics::PolicyAgeCollectable final : public prometheus::Collectable {
 public:
  explicit PolicyAgeCollectable(const std::function<absl::Time()>* now) : now_(now) {}

  void Set(absl::Time installed_at) {
    installed_unix_nanos_.store(absl::ToUnixNanos(installed_at), std::memory_order_relaxed);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    const int64_t installed = installed_unix_nanos_.load(std::memory_order_relaxed);
    if (installed == kUnset) return {};
    prometheus::MetricFamily family;
    family.name = "logoutd_policy_snapshot_age_seconds";
    family.help = "Seconds since the live policy snapshot was installed (computed at scrape).";
    family.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric sample;
    sample.gauge.value = absl::ToDoubleSeconds((*now_)() - absl::FromUnixNanos(installed));
    family.metric.push_back(std::move(sample));
    return {std::move(family)};
  }

 private:
  const std::function<absl::Time()>* const now_;
  std::atomic<int64_t> installed_unix_nanos_{kUnset};
};

Metrics::Metrics() : Metrics([] { return absl::Now(); }) {}

Metrics::Metrics(std::function<absl::Time()> now)
    : now_(std::move(now)),
      registry_(std::make_shared<prometheus::Registry>()),
      policy_age_(std::make_shared<PolicyAgeCollectable>(&now_)),
      decision_counters_(new std::atomic<prometheus::Counter*>[kDecisionSlots]),
      federated_counters_(new std::atomic<prometheus::Counter*>[kFederatedSlots]) {
  prometheus::Registry& r = *registry_;

  prometheus::BuildGauge()
      .Name("logoutd_build_info")
      .Help("Always 1; the version label identifies the running logoutd build.")
      .Register(r)
      .Add({{"version", LOGOUT_VERSION}})
      .Set(1);

  decisions_ = &prometheus::BuildCounter()
                    .Name("logoutd_decisions_total")
                    .Help("ValidateLogout decisions by endpoint, decision and reason code.")
                    .Register(r);
  for (size_t i = 0; i < kDecisionSlots; ++i) {
    decision_counters_[i].store(nullptr, std::memory_order_relaxed);
  }
  for (const v1::Endpoint e : {v1::ENDPOINT_V2_LOGOUT, v1::ENDPOINT_OIDC_LOGOUT}) {
    for (int reason = 0; reason < kReasons; ++reason) {
      const v1::Decision d = PlausibleDecision(reason);
      if (!v1::Reason_IsValid(reason) || d == v1::DECISION_UNSPECIFIED) continue;
      decision_counters_[DecisionIndex(e, d, reason)].store(
          &decisions_->Add({{"endpoint", EndpointLabel(e)},
                            {"decision", DecisionLabel(d)},
                            {"reason", ReasonLabel(reason)}}),
          std::memory_order_relaxed);
    }
  }

  federated_ = &prometheus::BuildCounter()
                    .Name("logoutd_federated_logout_urls_total")
                    .Help("BuildFederatedLogoutUrl outcomes by decision and reason code.")
                    .Register(r);
  for (size_t i = 0; i < kFederatedSlots; ++i) {
    federated_counters_[i].store(nullptr, std::memory_order_relaxed);
  }
  for (int reason = 0; reason < kReasons; ++reason) {
    if (!v1::Reason_IsValid(reason)) continue;
    const v1::Decision d =
        reason == v1::REASON_UNSPECIFIED ? v1::DECISION_ALLOW : PlausibleDecision(reason);
    if (d != v1::DECISION_ALLOW && d != v1::DECISION_DENY) continue;
    federated_counters_[FederatedIndex(d, reason)].store(
        &federated_->Add({{"decision", DecisionLabel(d)}, {"reason", ReasonLabel(reason)}}),
        std::memory_order_relaxed);
  }

  policy_version_ = &prometheus::BuildGauge()
                         .Name("logoutd_policy_version")
                         .Help("Version of the live policy snapshot (0 before the first one).")
                         .Register(r)
                         .Add({});
  revision_applied_ =
      &prometheus::BuildGauge()
           .Name("logoutd_policy_revision_applied")
           .Help("Store revision this replica has applied every change up to (0: none).")
           .Register(r)
           .Add({});
  revision_store_ = &prometheus::BuildGauge()
                         .Name("logoutd_policy_revision_store")
                         .Help("Newest store revision this replica has heard of.")
                         .Register(r)
                         .Add({});
  revision_lag_ = &prometheus::BuildGauge()
                       .Name("logoutd_policy_revision_lag")
                       .Help("Store revisions this replica has not applied yet (0: caught up).")
                       .Register(r)
                       .Add({});
  policy_installed_ = &prometheus::BuildGauge()
                           .Name("logoutd_policy_installed_timestamp_seconds")
                           .Help("Unix time at which the live policy snapshot was installed.")
                           .Register(r)
                           .Add({});
  reload_failures_ = &prometheus::BuildCounter()
                          .Name("logoutd_policy_reload_failures_total")
                          .Help("Policy reloads that failed; the last good snapshot stayed live.")
                          .Register(r)
                          .Add({});
  credentials_reload_failures_ =
      &prometheus::BuildCounter()
           .Name("logoutd_credentials_reload_failures_total")
           .Help(
               "Changed credentials files that were refused; the last good credentials stayed "
               "in force.")
           .Register(r)
           .Add({});
  store_errors_ =
      MakeFixed(prometheus::BuildCounter()
                    .Name("logoutd_store_errors_total")
                    .Help("Policy store errors by operation.")
                    .Register(r),
                "operation", {"read", "write", "listen", "connect", "notify", "watch", "outbox"});
  backchannel_results_ = MakeFixed(prometheus::BuildCounter()
                                       .Name("logoutd_backchannel_deliveries_total")
                                       .Help("Back-channel logout deliveries by final result.")
                                       .Register(r),
                                   "result", {"delivered", "rejected", "dead"});
  backchannel_attempts_ = &prometheus::BuildCounter()
                               .Name("logoutd_backchannel_delivery_attempts_total")
                               .Help("HTTP attempts made for back-channel logout deliveries.")
                               .Register(r)
                               .Add({});
  {
    auto& attempts = prometheus::BuildCounter()
                         .Name("logoutd_outbox_attempts_total")
                         .Help("Notification outbox HTTP attempts by kind and result.")
                         .Register(r);
    auto& finished = prometheus::BuildCounter()
                         .Name("logoutd_outbox_jobs_finished_total")
                         .Help("Notification outbox jobs that ended, by kind and final result.")
                         .Register(r);
    auto& enqueued = prometheus::BuildCounter()
                         .Name("logoutd_outbox_jobs_enqueued_total")
                         .Help("Notification outbox jobs committed, by kind.")
                         .Register(r);
    auto& latency = prometheus::BuildHistogram()
                        .Name("logoutd_outbox_delivery_latency_seconds")
                        .Help("From planning a notification to its delivery, by kind.")
                        .Register(r);
    for (const char* kind : {"backchannel", "set"}) {
      for (const char* result : {"delivered", "rejected", "retry", "dead"}) {
        const std::string key = absl::StrCat(kind, "/", result);
        outbox_attempts_[key] = &attempts.Add({{"kind", kind}, {"result", result}});
        if (std::string_view(result) != "retry") {
          outbox_finished_[key] = &finished.Add({{"kind", kind}, {"result", result}});
        }
      }
      outbox_enqueued_[kind] = &enqueued.Add({{"kind", kind}});
      outbox_latency_[kind] = &latency.Add(
          {{"kind", kind}},
          prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                  5, 10, 30, 60, 300, 1800, 3600, 21600, 86400});
    }
  }
  outbox_pending_ = &prometheus::BuildGauge()
                         .Name("logoutd_outbox_pending_jobs")
                         .Help("Notification jobs waiting for delivery (every replica's).")
                         .Register(r)
                         .Add({});
  outbox_dead_ = &prometheus::BuildGauge()
                      .Name("logoutd_outbox_dead_letters")
                      .Help(
                          "Notification jobs whose horizon passed undelivered (kept for "
                          "RequeueDeadLetters).")
                      .Register(r)
                      .Add({});
  outbox_oldest_due_ = &prometheus::BuildGauge()
                            .Name("logoutd_outbox_oldest_due_seconds")
                            .Help("How long the oldest due notification job has waited (0: none).")
                            .Register(r)
                            .Add({});
  outbox_takeovers_ = &prometheus::BuildCounter()
                           .Name("logoutd_outbox_lease_takeovers_total")
                           .Help("Jobs claimed after another replica's lease on them expired.")
                           .Register(r)
                           .Add({});
  outbox_lost_leases_ =
      &prometheus::BuildCounter()
           .Name("logoutd_outbox_lost_leases_total")
           .Help(
               "Results recorded after another replica had taken the job over (a possible "
               "duplicate delivery).")
           .Register(r)
           .Add({});
  rejected_ = MakeFixed(prometheus::BuildCounter()
                            .Name("logoutd_rejected_rpcs_total")
                            .Help("RPCs refused before reaching their handler, by reason.")
                            .Register(r),
                        "reason",
                        {"concurrency_limit", "admin_unauthenticated", "admin_unauthorized",
                         "plan_unauthorized", "message_too_large"});

  grpc_ = std::make_unique<internal::GrpcMetrics>(r);
}

Metrics::~Metrics() {
  absl::MutexLock lock(&serve_mu_);
  exposer_.reset();  // stops the HTTP server before anything it renders goes away
}

Metrics::FixedCounters Metrics::MakeFixed(CounterFamily& family, const std::string& label,
                                          const std::vector<std::string>& values) {
  FixedCounters counters;
  for (const std::string& value : values) {
    counters.by_value.emplace(value, &family.Add({{label, value}}));
  }
  counters.other = &family.Add({{label, "other"}});
  return counters;
}

void Metrics::IncrementFixed(const FixedCounters& counters, std::string_view value) {
  // Debian's Abseil has its own string_view type.
  const auto it = counters.by_value.find(absl::string_view(value.data(), value.size()));
  (it == counters.by_value.end() ? counters.other : it->second)->Increment();
}

absl::Status Metrics::Serve(const std::string& listen_address) {
  absl::MutexLock lock(&serve_mu_);
  if (exposer_ != nullptr) return absl::FailedPreconditionError("metrics: already serving");
  absl::StatusOr<std::unique_ptr<internal::HttpExposer>> exposer =
      internal::HttpExposer::Start(listen_address, [this] { return Scrape(); });
  if (!exposer.ok()) return exposer.status();
  exposer_ = *std::move(exposer);
  port_.store(exposer_->port(), std::memory_order_release);
  return absl::OkStatus();
}

int Metrics::port() const { return port_.load(std::memory_order_acquire); }

void Metrics::RecordDecision(v1::Endpoint endpoint, v1::Decision decision, v1::Reason reason) {
  const int e = NormalEndpoint(endpoint), d = NormalDecision(decision), r = NormalReason(reason);
  const size_t index = DecisionIndex(e, d, r);
  prometheus::Counter* counter = decision_counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) [[unlikely]] {
    counter = DecisionSlow(index, static_cast<v1::Endpoint>(e), static_cast<v1::Decision>(d),
                           static_cast<v1::Reason>(r));
  }
  counter->Increment();
}

prometheus::Counter* Metrics::DecisionSlow(size_t index, v1::Endpoint endpoint,
                                           v1::Decision decision, v1::Reason reason) {
  absl::MutexLock lock(&slow_mu_);
  prometheus::Counter* counter = decision_counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter = &decisions_->Add({{"endpoint", EndpointLabel(endpoint)},
                                {"decision", DecisionLabel(decision)},
                                {"reason", ReasonLabel(reason)}});
    decision_counters_[index].store(counter, std::memory_order_release);
  }
  return counter;
}

void Metrics::RecordFederatedUrl(v1::Decision decision, v1::Reason reason) {
  const int d = NormalDecision(decision), r = NormalReason(reason);
  const size_t index = FederatedIndex(d, r);
  prometheus::Counter* counter = federated_counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) [[unlikely]] {
    counter = FederatedSlow(index, static_cast<v1::Decision>(d), static_cast<v1::Reason>(r));
  }
  counter->Increment();
}

prometheus::Counter* Metrics::FederatedSlow(size_t index, v1::Decision decision,
                                            v1::Reason reason) {
  absl::MutexLock lock(&slow_mu_);
  prometheus::Counter* counter = federated_counters_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    counter =
        &federated_->Add({{"decision", DecisionLabel(decision)}, {"reason", ReasonLabel(reason)}});
    federated_counters_[index].store(counter, std::memory_order_release);
  }
  return counter;
}

void Metrics::SetPolicy(uint64_t version, absl::Time installed_at) {
  policy_version_->Set(static_cast<double>(version));
  policy_installed_->Set(absl::ToDoubleSeconds(installed_at - absl::UnixEpoch()));
  policy_age_->Set(installed_at);
}

void Metrics::SetRevisions(uint64_t applied, uint64_t store) {
  store = std::max(store, applied);
  revision_applied_->Set(static_cast<double>(applied));
  revision_store_->Set(static_cast<double>(store));
  revision_lag_->Set(static_cast<double>(store - applied));
}

void Metrics::RecordReloadFailure() { reload_failures_->Increment(); }

void Metrics::RecordCredentialsReloadFailure() { credentials_reload_failures_->Increment(); }

void Metrics::RecordStoreError(std::string_view operation) {
  IncrementFixed(store_errors_, operation);
}

void Metrics::RecordBackchannelDelivery(std::string_view result, int attempts) {
  IncrementFixed(backchannel_results_, result);
  if (attempts > 0) backchannel_attempts_->Increment(attempts);
}

void Metrics::RecordOutboxEnqueued(std::string_view kind_view, int jobs) {
  const absl::string_view kind(kind_view.data(), kind_view.size());
  auto it = outbox_enqueued_.find(kind);
  if (it != outbox_enqueued_.end() && jobs > 0) it->second->Increment(jobs);
}

void Metrics::RecordOutboxReport(std::string_view kind_view, std::string_view result,
                                 bool attempted, double seconds_since_planned) {
  const absl::string_view kind(kind_view.data(), kind_view.size());
  const std::string key = absl::StrCat(kind, "/", absl::string_view(result.data(), result.size()));
  if (attempted) {
    if (auto it = outbox_attempts_.find(key); it != outbox_attempts_.end()) it->second->Increment();
  }
  if (auto it = outbox_finished_.find(key); it != outbox_finished_.end()) it->second->Increment();
  if (result == "delivered") {
    if (auto it = outbox_latency_.find(kind); it != outbox_latency_.end()) {
      it->second->Observe(seconds_since_planned);
    }
  }
}

void Metrics::SetOutboxGauges(int64_t pending, int64_t dead, double oldest_due_seconds) {
  outbox_pending_->Set(static_cast<double>(pending));
  outbox_dead_->Set(static_cast<double>(dead));
  outbox_oldest_due_->Set(oldest_due_seconds);
}

void Metrics::RecordOutboxTakeovers(int jobs) {
  if (jobs > 0) outbox_takeovers_->Increment(jobs);
}

void Metrics::RecordOutboxLostLeases(int jobs) {
  if (jobs > 0) outbox_lost_leases_->Increment(jobs);
}

void Metrics::RecordRejected(std::string_view why) { IncrementFixed(rejected_, why); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewInterceptorFactory() {
  return grpc_->NewFactory();
}

std::string Metrics::Scrape() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& family : policy_age_->Collect()) {
    families.push_back(std::move(family));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace logout::metrics
