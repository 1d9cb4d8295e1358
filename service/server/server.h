// Wires logoutd together: policy snapshot, gRPC services, health checking and reflection.
//
//   auto server = LogoutServer::Create(options);   // loads and validates the policy first
//   (*server)->Shutdown(absl::Seconds(10));        // health NOT_SERVING, drain, stop
#ifndef SERVICE_SERVER_SERVER_H_
#define SERVICE_SERVER_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/policy/compiled_policy.h"
#include "service/server/tls.h"
#include "service/slo/outbox_deliverer.h"
#include "service/store/snapshot_holder.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace logout::store {
class PolicyStore;
class PolicyWriter;
}  // namespace logout::store

namespace logout::slo {
class BackchannelDispatcher;
class OutboxDeliverer;
}  // namespace logout::slo

namespace logout::metrics {
class Metrics;
}  // namespace logout::metrics

namespace logout::rpc {
class LogoutPolicyService;
class LogoutAdminService;
class AdminAuthenticator;
class ConcurrencyLimiter;
class CredentialsFile;
}  // namespace logout::rpc

namespace logout::server {

class HealthService;
class DeliveryAuditWriter;
class PeriodicTask;
class PolicyReconciler;

// Health service name whose status says whether the live snapshot is the store's latest
// policy: NOT_SERVING after a reload failed (the last good snapshot keeps serving decisions).
inline constexpr char kStoreHealthService[] = "logout.v1.PolicyStore";

// AuthOptions: who holds a credential for every tenant (the admin API's, or planning's): a
// bearer-token file and/or client-certificate identities (SAN URI/DNS, else CN; they need
// tls.client_ca).
struct AuthOptions {
  std::string token_file;
  std::vector<std::string> client_identities;
};

// ConnectionOptions: what every gRPC port applies to its connections. HTTP/2 keepalive: the
// server pings an idle connection every keepalive_time and drops it when no answer comes within
// keepalive_timeout (dead peers behind load balancers); clients may ping as often as every
// 10 s. Connections are closed gracefully after max_connection_age (+ grace for calls in
// flight) so clients re-resolve and rebalance across replicas after a scale-out. Zero disables
// the age limit.
struct ConnectionOptions {
  // Largest request message accepted.
  int max_receive_message_bytes = 1024 * 1024;
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
};

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see LogoutServer::port()).
  std::string listen_address = "0.0.0.0:50051";
  // Where the policy lives: "sqlite:PATH" (the default), "postgresql://..." (many replicas),
  // or "file" (read-only: serve `policy_path`; admin writes answer FAILED_PRECONDITION).
  std::string store = "sqlite:logoutd.db";
  // Policy file (JSON or text format). With a database store it seeds an empty store (and is
  // ignored once the store holds a policy); with "file" it is what is served. Without any
  // policy logoutd reports NOT_SERVING and decisions answer UNAVAILABLE.
  std::string policy_path;
  // With a database store holding a policy that differs from policy_path's: "seed" keeps the
  // stored one (and warns, naming both), "replace" imports the file over it (audited as
  // ImportPolicy by "policy-file:PATH").
  std::string policy_mode = "seed";
  // Development only: allow http:// loopback URLs in connection settings.
  bool allow_http_loopback = false;
  // The admin credential for every tenant (--admin_token_file, --admin_client_identities).
  // Without it or admin_credentials_file the admin API refuses every call.
  AuthOptions admin_auth;

  // host:port serving only logout.v1.LogoutAdmin (plus health and reflection), so a
  // NetworkPolicy can open it to operators alone. Empty: admin is served on listen_address.
  std::string admin_listen;
  // host:port serving only grpc.health.v1, always plaintext: Kubernetes' gRPC probes cannot
  // speak TLS. Empty: no such port.
  std::string health_listen;
  // TLS for listen_address and admin_listen (not health_listen).
  TlsFiles tls;
  // The planner credential for every tenant (--slo_token_file, --slo_client_identities): who
  // may ask for single-logout plans (PlanLogoutNotifications, ValidateLogout with
  // plan_notifications), whose back-channel jobs carry signed logout tokens.
  AuthOptions slo_auth;
  // Scoped credentials (JSON; see service/rpc/credentials.h): each a bearer token's SHA-256
  // and/or a client-certificate identity, the tenants it may act on ("*" or names) and a role:
  // reader, writer, admin (admin API) or planner (single-logout planning). Re-read every
  // credentials_refresh_interval; a file that no longer parses keeps the last good
  // credentials. admin_token_file / admin_client_identities stay admin credentials for every
  // tenant, slo_token_file / slo_client_identities planner credentials for every tenant.
  std::string admin_credentials_file;
  absl::Duration credentials_refresh_interval = absl::Seconds(10);
  // Planning is refused unless a planner credential is configured; this opens it to every
  // caller of the decision port (a locked-down network only; logged as a warning).
  bool slo_allow_unauthenticated = false;
  // Calls in progress (decision and admin together) beyond which calls get RESOURCE_EXHAUSTED.
  // <= 0: no bound.
  int max_concurrent_rpcs = 1000;
  ConnectionOptions connection;
  // Fraction of decisions written to the log (one JSON line each), 0..1.
  double decision_log_sample_rate = 0.01;
  // host:port of the Prometheus endpoint (GET /metrics, plaintext). Empty: not served (the
  // metrics are still kept).
  std::string metrics_listen;
  // Single logout: logoutd POSTs the back-channel logout tokens of every plan itself (plans
  // then say backchannel_delivered_by_logoutd). The jobs are committed to the store's
  // notification outbox before the planning call answers and delivered by any replica with
  // `outbox`'s leases, retries, horizon and per-origin limits. Each finished job is logged as
  // one JSON line ("backchannel delivery") and written to the delivery audit
  // (LogoutAdmin.ListBackchannelDeliveries). Needs a database store (refused with "file").
  bool deliver_backchannel = false;
  slo::OutboxDeliveryOptions outbox;
  // The longest wait_for_delivery a call may ask for.
  absl::Duration max_delivery_wait = absl::Seconds(10);
};

// LogoutServer owns the gRPC server and the live policy snapshot.
// Thread safety: InstallPolicy and Shutdown may be called from any thread.
class LogoutServer {
 public:
  // Create checks the options, reads and compiles the policy (when given) before it listens, so
  // an invalid policy never serves: returns its InvalidArgumentError (naming tenant, client and
  // entry), or the file error; InvalidArgumentError naming the flag for an option out of range.
  // Returns UnavailableError when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<LogoutServer>> Create(const ServerOptions& options);
  ~LogoutServer();

  // port is the bound TCP port of listen_address; admin_port() of admin_listen (== port()
  // without one); health_port() of health_listen (0 without one).
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  int health_port() const { return health_port_; }
  // metrics_port is the bound port of metrics_listen (0 without one).
  int metrics_port() const;

  // InstallPolicy swaps in `policy` and reports SERVING.
  void InstallPolicy(std::shared_ptr<const policy::CompiledPolicy> policy);

  // Drain reports NOT_SERVING on the health service while still answering calls, so load
  // balancers and Kubernetes readiness move traffic away before Shutdown.
  void Drain();

  // Shutdown reports NOT_SERVING, stops accepting calls, lets in-flight calls finish for up to
  // `grace`, then cancels what is left and stops. Calls that reached the server but were not
  // yet dispatched when it stops are cancelled by gRPC: call Drain() and wait first.
  // Idempotent.
  void Shutdown(absl::Duration grace);

  // Wait blocks until the server has shut down.
  void Wait();

 private:
  LogoutServer() = default;
  void SetServing(bool serving);
  // A snapshot was installed: metrics, then SERVING.
  void OnInstalled();
  // LoadStore installs the stored policy, seeds an empty store from `policy_path`, or (mode
  // "replace") imports `policy_path` over a stored policy that differs from it.
  absl::Status LoadStore(const std::string& policy_path, const std::string& policy_mode);
  // A reload after the store announced `version` ended with `status`: log, count, health.
  void OnReconciled(uint64_t version, const absl::Status& status);
  void SetStoreHealth(bool fresh);
  // Re-reads --admin_credentials_file (a PeriodicTask tick).
  void ReloadCredentials();

  // Declared first: everything below may record into it until it is destroyed.
  std::unique_ptr<metrics::Metrics> metrics_;
  store::SnapshotHolder snapshots_;
  std::unique_ptr<store::PolicyStore> store_;
  std::unique_ptr<store::PolicyWriter> writer_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<rpc::LogoutPolicyService> policy_service_;
  std::unique_ptr<rpc::AdminAuthenticator> admin_auth_;
  std::unique_ptr<rpc::AdminAuthenticator> plan_auth_;  // null: --slo_allow_unauthenticated
  // --admin_credentials_file (null without), and the task that re-reads it.
  std::unique_ptr<rpc::CredentialsFile> credentials_;
  std::unique_ptr<PeriodicTask> credentials_watcher_;
  std::unique_ptr<rpc::LogoutAdminService> admin_service_;
  std::unique_ptr<rpc::ConcurrencyLimiter> limiter_;
  // The decision server (with admin when there is no admin_listen), then the optional admin
  // and health-only servers.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::Server> admin_server_;
  std::unique_ptr<grpc::Server> health_server_;
  // With a database store: reloads what other replicas commit (null with --store=file).
  std::unique_ptr<PolicyReconciler> reconciler_;
  // Set by Drain/Shutdown: health never returns to SERVING afterwards.
  std::atomic<bool> draining_{false};
  // The newest store revision this replica heard of (announced or written here).
  std::atomic<uint64_t> store_revision_{0};
  int port_ = 0;
  int admin_port_ = 0;
  int health_port_ = 0;
  // Records finished deliveries in the store's delivery audit (null without
  // --deliver_backchannel or without a store). Before backchannel_, whose observer feeds it.
  std::unique_ptr<DeliveryAuditWriter> delivery_audit_;
  // --deliver_backchannel (null without). Last: its workers stop first.
  std::unique_ptr<slo::OutboxDeliverer> deliverer_;
  std::unique_ptr<slo::BackchannelDispatcher> backchannel_;
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_SERVER_H_
