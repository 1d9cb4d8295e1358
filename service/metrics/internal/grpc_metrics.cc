#include "service/metrics/internal/grpc_metrics.h"

#include <chrono>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "logout/v1/admin.pb.h"
#include "logout/v1/logout.pb.h"

namespace logout::metrics::internal {
namespace {

constexpr std::string_view kCodeNames[GrpcMetrics::kNumCodes] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

int CodeIndex(grpc::StatusCode code) {
  const int value = static_cast<int>(code);
  return value >= 0 && value < GrpcMetrics::kNumCodes ? value : grpc::StatusCode::UNKNOWN;
}

// Latency buckets for calls that usually take microseconds: 50 µs … 5 s.
const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0};
  return *buckets;
}

// Proto files whose services logoutd may register, reached through one message of each so
// that their descriptors are linked in and registered.
std::vector<const google::protobuf::FileDescriptor*> ServiceFiles() {
  return {v1::ValidateLogoutRequest::descriptor()->file(),
          v1::GetTenantRequest::descriptor()->file(),
          grpc::health::v1::HealthCheckRequest::descriptor()->file()};
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcMetrics* metrics, const GrpcMetrics::MethodSlot* slot)
      : metrics_(metrics), slot_(slot), start_(std::chrono::steady_clock::now()) {}

  // A call that ends without sending a status (the transport went away) counts as CANCELLED.
  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // Recorded before the status goes out, so a client that has its answer sees it counted.
    if (!recorded_ && methods->QueryInterceptionHookPoint(
                          grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    metrics_->Record(slot_, code, absl::FromChrono(std::chrono::steady_clock::now() - start_));
  }

  GrpcMetrics* const metrics_;
  const GrpcMetrics::MethodSlot* const slot_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    return new MetricsInterceptor(metrics_, metrics_->FindMethod(method == nullptr ? "" : method));
  }

 private:
  GrpcMetrics* const metrics_;
};

}  // namespace

std::string_view GrpcCodeName(grpc::StatusCode code) { return kCodeNames[CodeIndex(code)]; }

GrpcMetrics::GrpcMetrics(prometheus::Registry& registry)
    : handled_(&prometheus::BuildCounter()
                    .Name("logoutd_grpc_server_handled_total")
                    .Help("gRPC calls completed by the server, by service, method and status code.")
                    .Register(registry)),
      seconds_(&prometheus::BuildHistogram()
                    .Name("logoutd_grpc_server_handling_seconds")
                    .Help("Time from the start of a gRPC call to its status being sent, by "
                          "service, method and status code.")
                    .Register(registry)) {
  for (const google::protobuf::FileDescriptor* file : ServiceFiles()) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        AddMethod(service->full_name(), service->method(m)->name());
      }
    }
  }
  // Reflection's proto is compiled into grpc++_reflection, which this library does not link.
  AddMethod("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo");

  unknown_ = std::make_unique<MethodSlot>();
  unknown_->service = "unknown";
  unknown_->method = "unknown";
  absl::MutexLock lock(&mu_);
  for (auto& [path, slot] : methods_) {
    slot->by_code[0].store(CreateSeries(*slot, 0), std::memory_order_release);
  }
}

void GrpcMetrics::AddMethod(const std::string& service, const std::string& method) {
  auto slot = std::make_unique<MethodSlot>();
  slot->service = service;
  slot->method = method;
  methods_.emplace("/" + service + "/" + method, std::move(slot));
}

GrpcMetrics::Series* GrpcMetrics::CreateSeries(const MethodSlot& slot, int code) {
  const prometheus::Labels labels = {{"grpc_service", slot.service},
                                     {"grpc_method", slot.method},
                                     {"grpc_code", std::string(kCodeNames[code])}};
  return &series_.emplace_back(Series{&handled_->Add(labels), &seconds_->Add(labels, Buckets())});
}

const GrpcMetrics::MethodSlot* GrpcMetrics::FindMethod(std::string_view full_method) const {
  // Debian's Abseil has its own string_view type.
  const auto it = methods_.find(absl::string_view(full_method.data(), full_method.size()));
  return it == methods_.end() ? unknown_.get() : it->second.get();
}

void GrpcMetrics::Record(const MethodSlot* slot, grpc::StatusCode code, absl::Duration elapsed) {
  const int index = CodeIndex(code);
  std::atomic<Series*>& cell = slot->by_code[index];
  Series* series = cell.load(std::memory_order_acquire);
  if (series == nullptr) {
    absl::MutexLock lock(&mu_);
    series = cell.load(std::memory_order_acquire);
    if (series == nullptr) {
      series = CreateSeries(*slot, index);
      cell.store(series, std::memory_order_release);
    }
  }
  series->handled->Increment();
  series->seconds->Observe(absl::ToDoubleSeconds(elapsed));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> GrpcMetrics::NewFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace logout::metrics::internal
