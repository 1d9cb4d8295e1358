// grpc.health.v1.Health for logoutd: Check and Watch over per-service statuses, built from the
// project's own health.proto so that reflection can describe it.
//
//   HealthService health;
//   health.SetStatus("logout.v1.LogoutPolicy", HealthCheckResponse::SERVING);
//   builder.RegisterService(&health);
#ifndef SERVICE_SERVER_HEALTH_SERVICE_H_
#define SERVICE_SERVER_HEALTH_SERVICE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace logout::server {

// HealthService keeps a status per service name ("" is the whole server).
// Check: the status, or NOT_FOUND for an unknown name. Watch: the current status (or
// SERVICE_UNKNOWN) at once and again after every change, until the client cancels or Shutdown.
// Thread-safe.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // SetStatus records `status` for `service` and notifies its watchers.
  void SetStatus(const std::string& service, ServingStatus status) ABSL_LOCKS_EXCLUDED(mu_);

  // Shutdown sets every service NOT_SERVING, ends every Watch stream and refuses new ones.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;
  ServingStatus StatusLocked(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(Watcher* watcher) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ServingStatus> statuses_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_HEALTH_SERVICE_H_
