// Shared helpers of the Google Benchmark programs: per-operation latency samples with
// percentiles, and a reporter that keeps every run's figures so a benchmark can print its ratios
// and targets after the normal console output. (Allow-list entries: bench/entries.h.)
//
//   LatencySamples samples;  samples.Add(ns);  double p50 = samples.Percentile(0.50);
//   RecordingReporter reporter;  benchmark::RunSpecifiedBenchmarks(&reporter);
#ifndef BENCH_BENCH_UTIL_H_
#define BENCH_BENCH_UTIL_H_

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/entries.h"

namespace logout::bench {

// NowNs is a monotonic timestamp in nanoseconds.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// LatencySamples keeps up to `cap` per-operation durations (ns) and answers percentiles.
class LatencySamples {
 public:
  explicit LatencySamples(size_t cap = size_t{1} << 20) : cap_(cap) { ns_.reserve(cap); }
  void Add(int64_t ns) {
    if (ns_.size() < cap_) ns_.push_back(ns);
  }
  size_t size() const { return ns_.size(); }
  // Percentile returns the q-quantile (0 <= q <= 1) in ns, or 0 without samples.
  double Percentile(double q) {
    if (ns_.empty()) return 0;
    const size_t k = std::min(ns_.size() - 1, static_cast<size_t>(q * (ns_.size() - 1) + 0.5));
    std::nth_element(ns_.begin(), ns_.begin() + static_cast<ptrdiff_t>(k), ns_.end());
    return static_cast<double>(ns_[k]);
  }

 private:
  size_t cap_;
  std::vector<int64_t> ns_;
};

// RecordingReporter is the console reporter plus a copy of every run's CPU time and counters,
// looked up by benchmark name after RunSpecifiedBenchmarks.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal (a custom reporter does not follow --benchmark_color).
  RecordingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  struct Figures {
    double cpu_ns = 0;  // adjusted CPU time per iteration, in ns
    double real_ns = 0;
    std::map<std::string, double> counters;
  };

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) ++errors_;
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      Figures f;
      const double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(r.time_unit);
      f.cpu_ns = r.GetAdjustedCPUTime() * to_ns;
      f.real_ns = r.GetAdjustedRealTime() * to_ns;
      for (const auto& [name, counter] : r.counters) f.counters[name] = counter.value;
      figures_[r.benchmark_name()] = std::move(f);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // errors is the number of runs that ended with SkipWithError (a wrong outcome, not a time):
  // mains exit non-zero on it so the CTest smoke runs catch a benchmark measuring the wrong thing.
  int errors() const { return errors_; }

  // Find returns the figures of `name`, or nullptr when it did not run (filtered out, failed).
  const Figures* Find(const std::string& name) const {
    const auto it = figures_.find(name);
    return it == figures_.end() ? nullptr : &it->second;
  }
  // Counter returns counter `counter` of `name`, or a negative value when absent.
  double Counter(const std::string& name, const std::string& counter) const {
    const Figures* f = Find(name);
    if (f == nullptr) return -1;
    const auto it = f->counters.find(counter);
    return it == f->counters.end() ? -1 : it->second;
  }

 private:
  std::map<std::string, Figures> figures_;
  int errors_ = 0;
};

// Verdict is the word printed next to a target: targets are reported, never asserted.
inline const char* Verdict(bool met) { return met ? "MET" : "MISSED"; }

}  // namespace logout::bench

#endif  // BENCH_BENCH_UTIL_H_
