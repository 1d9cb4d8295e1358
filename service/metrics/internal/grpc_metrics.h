// gRPC server metrics behind Metrics::NewInterceptorFactory (internal to service/metrics).
//
//   internal::GrpcMetrics grpc(*registry);
//   builder.experimental().SetInterceptorCreators(...grpc.NewFactory()...);
#ifndef SERVICE_METRICS_INTERNAL_GRPC_METRICS_H_
#define SERVICE_METRICS_INTERNAL_GRPC_METRICS_H_

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace logout::metrics::internal {

// GrpcCodeName returns the canonical upper-case name of `code` ("NOT_FOUND"); values outside
// the 17 codes are "UNKNOWN".
std::string_view GrpcCodeName(grpc::StatusCode code);

// GrpcMetrics holds logoutd_grpc_server_handled_total and logoutd_grpc_server_handling_seconds.
// Every method of the services compiled into the binary (all services of logout/v1/*.proto and
// grpc/health/v1/health.proto, plus grpc.reflection.v1alpha.ServerReflection) gets a slot up
// front with its OK series pre-created; other codes are created on first use under a mutex.
// Any other path is counted under grpc_service="unknown", grpc_method="unknown".
// Thread-safe; Record on a known (method, code) is lock-free. `registry` must outlive it.
class GrpcMetrics {
 public:
  static constexpr int kNumCodes = 17;
  struct Series {
    prometheus::Counter* handled;
    prometheus::Histogram* seconds;
  };
  struct MethodSlot {
    std::string service;
    std::string method;
    // Filled lazily (a cache), hence mutable.
    mutable std::array<std::atomic<Series*>, kNumCodes> by_code{};
  };

  explicit GrpcMetrics(prometheus::Registry& registry);
  GrpcMetrics(const GrpcMetrics&) = delete;
  GrpcMetrics& operator=(const GrpcMetrics&) = delete;

  // FindMethod maps a full method path ("/logout.v1.LogoutPolicy/ValidateLogout") to its slot,
  // or the "unknown" slot. Never null. Lock-free.
  const MethodSlot* FindMethod(std::string_view full_method) const;

  // Record counts one finished call of `slot` with `code` that took `elapsed`.
  void Record(const MethodSlot* slot, grpc::StatusCode code, absl::Duration elapsed);

  // NewFactory returns an interceptor factory borrowing this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewFactory();

 private:
  void AddMethod(const std::string& service, const std::string& method);
  Series* CreateSeries(const MethodSlot& slot, int code) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* seconds_;
  // Read-only after construction.
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSlot>> methods_;
  std::unique_ptr<MethodSlot> unknown_;
  absl::Mutex mu_;
  std::deque<Series> series_ ABSL_GUARDED_BY(mu_);  // stable addresses
};

}  // namespace logout::metrics::internal

#endif  // SERVICE_METRICS_INTERNAL_GRPC_METRICS_H_
