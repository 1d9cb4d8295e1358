// Cost of recording metrics on the request path (service/metrics): one decision counter
// increment (pre-created series, and from 2 threads on the same series), a fixed-set counter
// looked up by string, the interceptor's per-call record (counter + histogram), and a whole
// scrape. Reports heap allocations per operation (counter `allocs`; must be 0 on the hot path).
//
//   build-bench/bench/metrics_benchmark [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include <cstdint>

#include "absl/time/time.h"
#include "bench/alloc_counter.h"
#include "prometheus/registry.h"
#include "service/metrics/internal/grpc_metrics.h"
#include "service/metrics/metrics.h"

namespace {

using logout::bench::ScopedAllocCounter;
namespace v1 = logout::v1;

logout::metrics::Metrics& SharedMetrics() {
  static auto* const metrics = new logout::metrics::Metrics();
  return *metrics;
}

void BM_RecordDecision(benchmark::State& state) {
  logout::metrics::Metrics& metrics = SharedMetrics();
  uint64_t allocs = 0;
  for (auto _ : state) {
    ScopedAllocCounter counter;
    metrics.RecordDecision(v1::ENDPOINT_OIDC_LOGOUT, v1::DECISION_DENY,
                           v1::REASON_TARGET_NOT_ALLOWED);
    allocs += counter.Stats().count;
  }
  state.counters["allocs"] =
      benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RecordDecision);
BENCHMARK(BM_RecordDecision)->Threads(2);

void BM_RecordDecisionNoAllocCheck(benchmark::State& state) {
  logout::metrics::Metrics& metrics = SharedMetrics();
  for (auto _ : state) {
    metrics.RecordDecision(v1::ENDPOINT_V2_LOGOUT, v1::DECISION_ALLOW, v1::REASON_REDIRECT_ALLOWED);
  }
}
BENCHMARK(BM_RecordDecisionNoAllocCheck);
BENCHMARK(BM_RecordDecisionNoAllocCheck)->Threads(2);

void BM_RecordStoreError(benchmark::State& state) {
  logout::metrics::Metrics& metrics = SharedMetrics();
  uint64_t allocs = 0;
  for (auto _ : state) {
    ScopedAllocCounter counter;
    metrics.RecordStoreError("read");
    allocs += counter.Stats().count;
  }
  state.counters["allocs"] =
      benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RecordStoreError);

void BM_GrpcRecord(benchmark::State& state) {
  prometheus::Registry registry;
  logout::metrics::internal::GrpcMetrics grpc(registry);
  const auto* slot = grpc.FindMethod("/logout.v1.LogoutPolicy/ValidateLogout");
  uint64_t allocs = 0;
  for (auto _ : state) {
    ScopedAllocCounter counter;
    grpc.Record(slot, grpc::StatusCode::OK, absl::Microseconds(40));
    allocs += counter.Stats().count;
  }
  state.counters["allocs"] =
      benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_GrpcRecord);

void BM_GrpcFindMethod(benchmark::State& state) {
  prometheus::Registry registry;
  logout::metrics::internal::GrpcMetrics grpc(registry);
  for (auto _ : state) {
    benchmark::DoNotOptimize(grpc.FindMethod("/logout.v1.LogoutPolicy/ValidateLogout"));
  }
}
BENCHMARK(BM_GrpcFindMethod);

void BM_Scrape(benchmark::State& state) {
  logout::metrics::Metrics metrics;
  metrics.SetPolicy(1, absl::Now());
  size_t bytes = 0;
  for (auto _ : state) bytes = metrics.Scrape().size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Scrape);

}  // namespace

BENCHMARK_MAIN();
