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

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/policy/compiled_policy.h"
#include "service/store/snapshot_holder.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace logout::store {
class PolicyStore;
class PolicyWriter;
}  // namespace logout::store

namespace logout::rpc {
class LogoutPolicyService;
class LogoutAdminService;
class AdminAuthenticator;
}  // namespace logout::rpc

namespace logout::server {

class HealthService;

// Health service name whose status says whether the live snapshot is the store's latest
// policy: NOT_SERVING after a reload failed (the last good snapshot keeps serving decisions).
inline constexpr char kStoreHealthService[] = "logout.v1.PolicyStore";

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
  // Development only: allow http:// loopback URLs in connection settings.
  bool allow_http_loopback = false;
  // File holding the admin bearer token. Empty: the admin API refuses every call.
  std::string admin_token_file;
  // Largest request message accepted.
  int max_receive_message_bytes = 1024 * 1024;
};

// LogoutServer owns the gRPC server and the live policy snapshot.
// Thread safety: InstallPolicy and Shutdown may be called from any thread.
class LogoutServer {
 public:
  // Create reads and compiles the policy (when given) before it listens, so an invalid policy
  // never serves: returns its InvalidArgumentError (naming tenant, client and entry), or the
  // file error. Returns UnavailableError when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<LogoutServer>> Create(const ServerOptions& options);
  ~LogoutServer();

  // port is the bound TCP port.
  int port() const { return port_; }

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
  // Reload from the store after it announced `version` (or a retry of that).
  void Reconcile(uint64_t version);
  void SetStoreHealth(bool fresh);

  store::SnapshotHolder snapshots_;
  std::unique_ptr<store::PolicyStore> store_;
  std::unique_ptr<store::PolicyWriter> writer_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<rpc::LogoutPolicyService> policy_service_;
  std::unique_ptr<rpc::AdminAuthenticator> admin_auth_;
  std::unique_ptr<rpc::LogoutAdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  // The newest version the store announced, and the thread retrying reloads that failed.
  std::atomic<uint64_t> announced_version_{0};
  absl::Mutex reconcile_mu_;
  bool stopping_ ABSL_GUARDED_BY(reconcile_mu_) = false;
  std::thread reconciler_;
  int port_ = 0;
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_SERVER_H_
