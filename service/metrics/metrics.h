// Prometheus metrics for logoutd: decision counters, gRPC server latency, policy freshness,
// reload/store/back-channel outcomes, served as the text exposition format on GET /metrics.
//
//   logout::metrics::Metrics metrics;
//   LOGOUT_RETURN_IF_ERROR(metrics.Serve("0.0.0.0:9090"));
//   metrics.RecordDecision(v1::ENDPOINT_OIDC_LOGOUT, v1::DECISION_DENY,
//   v1::REASON_TARGET_NOT_ALLOWED); builder.experimental().SetInterceptorCreators(/* ..., */
//   metrics.NewInterceptorFactory());
#ifndef SERVICE_METRICS_METRICS_H_
#define SERVICE_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "logout/v1/logout.pb.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace logout::metrics {

namespace internal {
class HttpExposer;
class GrpcMetrics;
}  // namespace internal

// Metrics owns a prometheus::Registry with every logoutd family (all prefixed `logoutd_`, see
// README "Metrics") and, after Serve, an HTTP server exposing it.
//
// Recording is thread-safe. The Record* methods and the interceptor never block on I/O; for
// label values known up front (every proto enum value, the fixed operation/result/reason sets)
// they neither allocate nor lock. Label values outside the fixed sets are counted as "other"
// so that callers cannot grow the number of series. Must outlive the HTTP server (it does: the
// server is stopped in the destructor) and every gRPC server using its interceptor factory.
class Metrics {
 public:
  // Metrics creates the registry and all families, with the real clock.
  Metrics();
  // Metrics with an injected clock (used for logoutd_policy_snapshot_age_seconds).
  explicit Metrics(std::function<absl::Time()> now);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serve starts the HTTP server answering GET (and HEAD) /metrics on `listen_address`
  // ("HOST:PORT", "[V6]:PORT"; port 0 = any free port). Every other path is 404, other
  // methods 405. Returns INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot
  // bind, FAILED_PRECONDITION when already serving. Optional: recording works without it.
  absl::Status Serve(const std::string& listen_address) ABSL_LOCKS_EXCLUDED(serve_mu_);

  // port returns the bound port after a successful Serve, 0 before.
  int port() const;

  // RecordDecision counts one ValidateLogout outcome in
  // logoutd_decisions_total{endpoint,decision,reason}. Values outside the enums count as
  // "unspecified". Lock-free and allocation-free.
  void RecordDecision(v1::Endpoint endpoint, v1::Decision decision, v1::Reason reason);

  // RecordFederatedUrl counts one BuildFederatedLogoutUrl outcome in
  // logoutd_federated_logout_urls_total{decision,reason}.
  void RecordFederatedUrl(v1::Decision decision, v1::Reason reason);

  // SetPolicy records the live snapshot: logoutd_policy_version,
  // logoutd_policy_installed_timestamp_seconds; logoutd_policy_snapshot_age_seconds is
  // now - installed_at computed at scrape time (absent until the first SetPolicy).
  void SetPolicy(uint64_t version, absl::Time installed_at);

  // SetRevisions records replication progress: logoutd_policy_revision_applied (every store
  // change up to it is live here), logoutd_policy_revision_store (the newest the store
  // announced) and logoutd_policy_revision_lag (their difference, 0 when caught up).
  void SetRevisions(uint64_t applied, uint64_t store);

  // RecordReloadFailure counts a snapshot reload that failed (the last good one stays live).
  void RecordReloadFailure();
  // RecordCredentialsReloadFailure counts a credentials file that changed but was refused (the
  // last good credentials stay in force).
  void RecordCredentialsReloadFailure();

  // RecordStoreError counts a store failure by operation: "read", "write", "listen",
  // "connect", "notify", "watch", "outbox"; anything else counts as "other".
  void RecordStoreError(std::string_view operation);

  // RecordBackchannelDelivery counts one back-channel logout delivery by final result
  // ("delivered", "rejected", "dead"; else "other") and adds `attempts` (>= 0) to
  // logoutd_backchannel_delivery_attempts_total.
  void RecordBackchannelDelivery(std::string_view result, int attempts);

  // The notification outbox. `kind`: "backchannel" or "set". RecordOutboxReport counts one
  // attempt (when `attempted`) by result ("delivered", "rejected", "retry", "dead") in
  // logoutd_outbox_attempts_total{kind,result}; a final result (not "retry") also counts in
  // logoutd_outbox_jobs_finished_total{kind,result} and, delivered, observes planned-to-
  // delivered seconds in logoutd_outbox_delivery_latency_seconds{kind}.
  void RecordOutboxEnqueued(std::string_view kind, int jobs);
  void RecordOutboxReport(std::string_view kind, std::string_view result, bool attempted,
                          double seconds_since_planned);
  void SetOutboxGauges(int64_t pending, int64_t dead, double oldest_due_seconds);
  void RecordOutboxTakeovers(int jobs);
  void RecordOutboxLostLeases(int jobs);

  // RecordRejected counts an RPC refused before its handler ran, by reason:
  // "concurrency_limit", "admin_unauthenticated", "admin_unauthorized", "plan_unauthorized",
  // "message_too_large",
  // "deadline_too_short"; anything else counts as "other".
  void RecordRejected(std::string_view why);

  // NewInterceptorFactory returns a gRPC server interceptor factory recording
  // logoutd_grpc_server_handled_total{grpc_service,grpc_method,grpc_code} and the
  // logoutd_grpc_server_handling_seconds{grpc_service,grpc_method,grpc_code} histogram. Methods
  // of services compiled into the binary are labelled by name; other paths count as
  // grpc_service="unknown", grpc_method="unknown". Each factory borrows this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // Scrape returns the text exposition that GET /metrics serves (for tests and tools).
  std::string Scrape() const;

 private:
  using CounterFamily = prometheus::Family<prometheus::Counter>;
  // A fixed set of label values, each with its pre-created counter, plus "other".
  struct FixedCounters {
    absl::flat_hash_map<std::string, prometheus::Counter*> by_value;
    prometheus::Counter* other = nullptr;
  };
  class PolicyAgeCollectable;

  FixedCounters MakeFixed(CounterFamily& family, const std::string& label,
                          const std::vector<std::string>& values);
  static void IncrementFixed(const FixedCounters& counters, std::string_view value);
  prometheus::Counter* DecisionSlow(size_t index, v1::Endpoint endpoint, v1::Decision decision,
                                    v1::Reason reason);
  prometheus::Counter* FederatedSlow(size_t index, v1::Decision decision, v1::Reason reason);

  std::function<absl::Time()> now_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<PolicyAgeCollectable> policy_age_;

  CounterFamily* decisions_ = nullptr;
  // Indexed by DecisionIndex(); filled up front for plausible combinations and on first use
  // (under slow_mu_) for the rest.
  std::unique_ptr<std::atomic<prometheus::Counter*>[]> decision_counters_;
  CounterFamily* federated_ = nullptr;
  std::unique_ptr<std::atomic<prometheus::Counter*>[]> federated_counters_;
  absl::Mutex slow_mu_;

  prometheus::Gauge* policy_version_ = nullptr;
  prometheus::Gauge* revision_applied_ = nullptr;
  prometheus::Gauge* revision_store_ = nullptr;
  prometheus::Gauge* revision_lag_ = nullptr;
  prometheus::Gauge* policy_installed_ = nullptr;
  prometheus::Counter* reload_failures_ = nullptr;
  prometheus::Counter* credentials_reload_failures_ = nullptr;
  FixedCounters store_errors_;
  FixedCounters backchannel_results_;
  prometheus::Counter* backchannel_attempts_ = nullptr;
  FixedCounters rejected_;
  // "kind/result" -> counter.
  absl::flat_hash_map<std::string, prometheus::Counter*> outbox_attempts_;
  absl::flat_hash_map<std::string, prometheus::Counter*> outbox_finished_;
  absl::flat_hash_map<std::string, prometheus::Counter*> outbox_enqueued_;
  absl::flat_hash_map<std::string, prometheus::Histogram*> outbox_latency_;
  prometheus::Gauge* outbox_pending_ = nullptr;
  prometheus::Gauge* outbox_dead_ = nullptr;
  prometheus::Gauge* outbox_oldest_due_ = nullptr;
  prometheus::Counter* outbox_takeovers_ = nullptr;
  prometheus::Counter* outbox_lost_leases_ = nullptr;

  std::unique_ptr<internal::GrpcMetrics> grpc_;

  mutable absl::Mutex serve_mu_;
  std::unique_ptr<internal::HttpExposer> exposer_ ABSL_GUARDED_BY(serve_mu_);
  std::atomic<int> port_{0};
};

}  // namespace logout::metrics

#endif  // SERVICE_METRICS_METRICS_H_
