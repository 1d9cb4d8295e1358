// AllowList::Match (service/policy/allow_list.h) at 10, 1k, 100k and 1M entries: an exact hit,
// a miss and a wildcard hit. Targets are parsed up front and picked at random across the whole
// list (1024 distinct ones per case), so large lists pay their real cache misses. Lists are
// 90% exact entries and 10% Auth0 wildcards (bench_util.h). Prints the 10 -> 1M ratio per case
// and the list's build time and heap bytes per entry.
//
//   build-bench/bench/allow_list_benchmark [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "bench/bench_util.h"
#include "service/policy/allow_list.h"
#include "service/url/url.h"

namespace {

using logout::bench::ExactEntry;
using logout::bench::IsWildcardEntry;
using logout::bench::NextRandom;
using logout::policy::AllowList;
using logout::url::Url;

const std::vector<int64_t> kSizes = {10, 1000, 100000, 1000000};
const std::vector<std::string> kCases = {"hit", "miss", "wildcard"};

struct BuiltList {
  std::unique_ptr<AllowList> list;
  double build_seconds = 0;
  double heap_bytes_per_entry = 0;  // mallinfo2 delta over Create, per entry
  double text_bytes_per_entry = 0;  // average entry length
};

size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// The list of `n` entries, built once per process (the 1M list takes seconds).
const BuiltList& GetList(size_t n) {
  static auto* lists = new std::map<size_t, BuiltList>();
  auto it = lists->find(n);
  if (it != lists->end()) return it->second;
  std::vector<std::string> entries = logout::bench::MakeEntries(n);
  BuiltList b;
  size_t text = 0;
  for (const std::string& e : entries) text += e.size();
  const size_t heap_before = HeapInUse();
  const int64_t t0 = logout::bench::NowNs();
  auto list = AllowList::Create(entries, AllowList::Mode::kAuth0);
  b.build_seconds = static_cast<double>(logout::bench::NowNs() - t0) / 1e9;
  b.heap_bytes_per_entry = static_cast<double>(HeapInUse() - heap_before) / static_cast<double>(n);
  b.text_bytes_per_entry = static_cast<double>(text) / static_cast<double>(n);
  if (!list.ok()) {
    std::fprintf(stderr, "AllowList::Create: %s\n", list.status().ToString().c_str());
    std::abort();
  }
  b.list = *std::move(list);
  return lists->emplace(n, std::move(b)).first->second;
}

struct Target {
  Url url;
  std::string raw;
};

// 1024 parsed targets for `kase` over a list of `n` entries.
std::vector<Target> MakeTargets(const std::string& kase, size_t n) {
  std::vector<Target> out;
  uint64_t rng = 42;
  while (out.size() < 1024) {
    const size_t i = NextRandom(rng) % n;
    std::string raw;
    if (kase == "hit") {
      if (IsWildcardEntry(i)) continue;
      raw = ExactEntry(i);
    } else if (kase == "miss") {
      // Same host as an entry, another path: the hash lookup runs and finds nothing.
      raw = absl::StrCat("https://app-", i, ".tenant-", i % 1000, ".example.com/auth/logout/",
                         i % 7, "/elsewhere");
    } else {  // wildcard
      if (!IsWildcardEntry(i)) {
        if (n < logout::bench::kWildcardEvery) return out;  // no wildcard in so small a list
        continue;
      }
      raw = logout::bench::WildcardTarget(i, NextRandom(rng) % 1000);
    }
    auto url = Url::Parse(raw);
    if (!url.ok()) std::abort();
    out.push_back(Target{*std::move(url), std::move(raw)});
  }
  return out;
}

void BM_Match(benchmark::State& state, const std::string& kase) {
  const size_t n = static_cast<size_t>(state.range(0));
  const BuiltList& built = GetList(n);
  const std::vector<Target> targets = MakeTargets(kase, n);
  if (targets.empty()) {
    state.SkipWithError("no such target in this list");
    return;
  }
  // Check the expected outcome (and that Match does not allocate) before timing.
  logout::bench::AllocStats allocs;
  {
    logout::bench::ScopedAllocCounter counter;
    for (const Target& t : targets) {
      const bool hit = built.list->Match(t.url, t.raw).has_value();
      if (hit != (kase != "miss")) {
        state.SkipWithError("unexpected match outcome");
        return;
      }
    }
    allocs = counter.Stats();
  }
  size_t k = 0;
  for (auto _ : state) {
    const Target& t = targets[k++ & 1023];
    benchmark::DoNotOptimize(built.list->Match(t.url, t.raw));
  }
  state.counters["allocs"] =
      static_cast<double>(allocs.count) / static_cast<double>(targets.size());
  state.counters["build_s"] = built.build_seconds;
  state.counters["heap_B_per_entry"] = built.heap_bytes_per_entry;
  state.counters["text_B_per_entry"] = built.text_bytes_per_entry;
}

}  // namespace

int main(int argc, char** argv) {
  for (const std::string& kase : kCases) {
    auto* b = benchmark::RegisterBenchmark(("BM_Match/" + kase).c_str(), BM_Match, kase);
    for (int64_t n : kSizes) b->Arg(n);
  }
  benchmark::Initialize(&argc, argv);
  logout::bench::RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nAllowList::Match, CPU time per match (target: flat from 10 to 1M entries):\n");
  std::printf("  %-9s", "case");
  for (int64_t n : kSizes) std::printf(" %10lld", static_cast<long long>(n));
  std::printf("   1M/10\n");
  for (const std::string& kase : kCases) {
    std::printf("  %-9s", kase.c_str());
    const auto* small = reporter.Find(absl::StrCat("BM_Match/", kase, "/10"));
    const auto* large = reporter.Find(absl::StrCat("BM_Match/", kase, "/1000000"));
    for (int64_t n : kSizes) {
      const auto* f = reporter.Find(absl::StrCat("BM_Match/", kase, "/", n));
      if (f == nullptr) {
        std::printf(" %10s", "-");
      } else {
        std::printf(" %7.0f ns", f->cpu_ns);
      }
    }
    if (small != nullptr && large != nullptr)
      std::printf("   %.2fx", large->cpu_ns / small->cpu_ns);
    std::printf("\n");
  }
  std::printf("\nAllowList::Create (one list, 10%% wildcards):\n");
  for (int64_t n : kSizes) {
    const std::string name = absl::StrCat("BM_Match/hit/", n);
    if (reporter.Find(name) == nullptr) continue;
    std::printf(
        "  %8lld entries  build %7.3f s  heap %5.0f B/entry (URL text %2.0f B, overhead "
        "%4.0f B)\n",
        static_cast<long long>(n), reporter.Counter(name, "build_s"),
        reporter.Counter(name, "heap_B_per_entry"), reporter.Counter(name, "text_B_per_entry"),
        reporter.Counter(name, "heap_B_per_entry") - reporter.Counter(name, "text_B_per_entry"));
  }
  benchmark::Shutdown();
  return reporter.errors() == 0 ? 0 : 1;
}
