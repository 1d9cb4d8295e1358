// Policy snapshots (service/policy/compiled_policy.h, service/store/snapshot_holder.h):
//
//  - BM_SnapshotBuild/N/PER_CLIENT: CompiledPolicy::Build of N = 1k, 100k, 1M allow-list entries,
//    spread over clients of PER_CLIENT entries (10 clients per tenant), or in one list. Counters:
//    build seconds, heap bytes per entry (mallinfo2 delta while the snapshot is alive), the URL
//    text per entry, and the part of the heap that is the snapshot's copy of its source config.
//  - BM_SnapshotRead/SWAP: SnapshotHolder::Get + FindTenant from 1 or 2 reader threads while a
//    background thread swaps between two live snapshots: never (0), continuously (1), or once
//    per millisecond (2). Readers check that every snapshot they get is one of the two.
//
//   build-bench/bench/snapshot_benchmark [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "bench/alloc_counter.h"
#include "bench/bench_util.h"
#include "service/policy/compiled_policy.h"
#include "service/store/snapshot_holder.h"

namespace {

namespace v1 = logout::v1;
using logout::policy::CompiledPolicy;

constexpr int64_t kClientsPerTenant = 10;
const std::vector<int64_t> kSizes = {1000, 100000, 1000000};

size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

struct Config {
  v1::PolicyConfig config;
  size_t text_bytes = 0;
};

// N entries in clients of `per_client` entries, kClientsPerTenant clients per tenant. Entry
// texts are distinct across the whole policy.
const Config& GetConfig(size_t n, size_t per_client) {
  static auto* configs = new std::map<std::pair<size_t, size_t>, Config>();
  const auto key = std::make_pair(n, per_client);
  auto it = configs->find(key);
  if (it != configs->end()) return it->second;
  Config c;
  v1::Tenant* tenant = nullptr;
  v1::Client* client = nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (i % per_client == 0) {
      const size_t client_index = i / per_client;
      if (client_index % kClientsPerTenant == 0) {
        tenant = c.config.add_tenants();
        tenant->set_name(absl::StrCat("tenant-", client_index / kClientsPerTenant));
        tenant->set_issuer(absl::StrCat("https://", tenant->name(), ".example.com/"));
      }
      client = tenant->add_clients();
      client->set_client_id(absl::StrCat("client-", client_index));
    }
    std::string e = logout::bench::IsWildcardEntry(i) ? logout::bench::WildcardEntry(i)
                                                      : logout::bench::ExactEntry(i);
    c.text_bytes += e.size();
    client->add_allowed_logout_urls(std::move(e));
  }
  return configs->emplace(key, std::move(c)).first->second;
}

void BM_SnapshotBuild(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t per_client = static_cast<size_t>(state.range(1));
  const Config& config = GetConfig(n, per_client);
  double heap_per_entry = 0;
  double requested_per_entry = 0;
  double source_per_entry = 0;
  int64_t allocs = 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    logout::bench::AllocStats counted;
    absl::StatusOr<std::shared_ptr<const CompiledPolicy>> p;
    {
      logout::bench::ScopedAllocCounter counter;
      p = CompiledPolicy::Build(config.config, 1);
      counted = counter.Stats();
    }
    state.PauseTiming();
    if (!p.ok()) {
      state.SkipWithError(std::string(p.status().message()).c_str());
      break;
    }
    heap_per_entry = static_cast<double>(HeapInUse() - before) / static_cast<double>(n);
    requested_per_entry = static_cast<double>(counted.bytes) / static_cast<double>(n);
    allocs = static_cast<int64_t>(counted.count);
    size_t source_bytes = 0;
    for (const std::string& name : (*p)->TenantNames()) {
      source_bytes += (*p)->FindTenant(name)->source_bytes.size();
    }
    source_per_entry = static_cast<double>(source_bytes) / static_cast<double>(n);
    p = absl::UnknownError("released");  // free the snapshot outside the timed region
    state.ResumeTiming();
  }
  const double text = static_cast<double>(config.text_bytes) / static_cast<double>(n);
  state.counters["heap_B_per_entry"] = heap_per_entry;
  // Every byte asked of operator new during Build, temporaries included (so above heap_B).
  state.counters["requested_B_per_entry"] = requested_per_entry;
  state.counters["text_B_per_entry"] = text;
  state.counters["overhead_B_per_entry"] = heap_per_entry - text;
  // The serialised tenant each compiled tenant keeps for admin reads (inside heap_B).
  state.counters["source_B_per_entry"] = source_per_entry;
  state.counters["allocs_per_entry"] = static_cast<double>(allocs) / static_cast<double>(n);
}

// Publishing a one-tenant change to a policy of N tenants: the cost of the new map of pointers
// (every untouched tenant is shared, none is copied or recompiled). Target: <= 5 ms at 100,000.
void BM_PublishOneTenantChange(benchmark::State& state) {
  const int tenants = static_cast<int>(state.range(0));
  static auto* built = new absl::flat_hash_map<int, std::shared_ptr<const CompiledPolicy>>();
  std::shared_ptr<const CompiledPolicy>& base = (*built)[tenants];
  if (base == nullptr) {
    logout::v1::PolicyConfig config;
    for (int i = 0; i < tenants; ++i) {
      logout::v1::Tenant* t = config.add_tenants();
      t->set_name(absl::StrCat("tenant-", i));
      t->add_allowed_logout_urls(absl::StrCat("https://app.tenant-", i, ".example.com/bye"));
    }
    base = *CompiledPolicy::Build(config, 1);
  }
  logout::v1::Tenant changed;
  changed.set_name("tenant-7");
  changed.add_allowed_logout_urls("https://other.example.com/bye");
  const std::shared_ptr<const logout::policy::CompiledTenant> compiled =
      *CompiledPolicy::CompileTenant(changed);
  uint64_t revision = 2;
  for (auto _ : state) {
    std::shared_ptr<const CompiledPolicy> next =
        CompiledPolicy::WithChanges(base.get(), {{"tenant-7", compiled, revision}}, revision);
    benchmark::DoNotOptimize(next);
    state.PauseTiming();
    next.reset();  // freeing the copied map is not part of publishing
    ++revision;
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PublishOneTenantChange)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// Two snapshots of the same 1k-entry policy with versions 1 and 2.
struct SwapFixture {
  std::shared_ptr<const CompiledPolicy> a;
  std::shared_ptr<const CompiledPolicy> b;
  logout::store::SnapshotHolder holder;
};

SwapFixture& GetSwapFixture() {
  static auto* f = [] {
    auto* fx = new SwapFixture();
    fx->a = *CompiledPolicy::Build(GetConfig(1000, 100).config, 1);
    fx->b = *CompiledPolicy::Build(GetConfig(1000, 100).config, 2);
    fx->holder.Swap(fx->a);
    return fx;
  }();
  return *f;
}

// The swapper thread of one BM_SnapshotRead run (owned by reader thread 0).
class Swapper {
 public:
  Swapper(SwapFixture& f, int mode) : f_(f) {
    if (mode == 0) return;
    thread_ = std::thread([this, mode] {
      bool flip = false;
      while (!stop_.load(std::memory_order_relaxed)) {
        f_.holder.Swap(flip ? f_.a : f_.b);
        flip = !flip;
        swaps_.fetch_add(1, std::memory_order_relaxed);
        if (mode == 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~Swapper() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int64_t swaps() const { return swaps_.load(); }

 private:
  SwapFixture& f_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> swaps_{0};
  std::thread thread_;
};

std::unique_ptr<Swapper>* g_swapper = new std::unique_ptr<Swapper>();

void BM_SnapshotRead(benchmark::State& state) {
  SwapFixture& f = GetSwapFixture();
  const int mode = static_cast<int>(state.range(0));
  const int64_t start = logout::bench::NowNs();
  if (state.thread_index() == 0) *g_swapper = std::make_unique<Swapper>(f, mode);
  int64_t bad = 0;
  for (auto _ : state) {
    std::shared_ptr<const CompiledPolicy> s = f.holder.Get();
    const auto* tenant = s->FindTenant("tenant-0");
    if (tenant == nullptr || (s != f.a && s != f.b)) ++bad;
    benchmark::DoNotOptimize(tenant);
  }
  if (bad > 0) state.SkipWithError("a reader saw a snapshot that was never installed");
  if (state.thread_index() == 0) {
    const double seconds = static_cast<double>(logout::bench::NowNs() - start) / 1e9;
    state.counters["swaps_per_s"] = static_cast<double>((*g_swapper)->swaps()) / seconds;
    g_swapper->reset();
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto* build = benchmark::RegisterBenchmark("BM_SnapshotBuild", BM_SnapshotBuild);
  build->ArgNames({"entries", "per_client"})->Unit(benchmark::kMillisecond);
  for (int64_t n : kSizes) build->Args({n, 100});
  build->Args({1000000, 1000000});  // one giant list
  auto* read = benchmark::RegisterBenchmark("BM_SnapshotRead", BM_SnapshotRead);
  read->ArgNames({"swap"})->Arg(0)->Arg(1)->Arg(2)->Threads(1)->Threads(2)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  logout::bench::RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf(
      "\nSnapshot build (CompiledPolicy::Build; targets for 1M entries: <= 3 s, <= 200 B "
      "per entry beyond the URL text):\n");
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int64_t n : kSizes) shapes.emplace_back(n, 100);
  shapes.emplace_back(1000000, 1000000);
  for (const auto& [n, per_client] : shapes) {
    const std::string name =
        absl::StrCat("BM_SnapshotBuild/entries:", n, "/per_client:", per_client);
    const auto* f = reporter.Find(name);
    if (f == nullptr) continue;
    const double seconds = f->real_ns / 1e9;
    const double overhead = f->counters.at("overhead_B_per_entry");
    std::printf(
        "  %8lld entries, %7lld per client: %7.3f s  heap %4.0f B/entry = URL text %2.0f + "
        "overhead %4.0f (of which the serialised source ~%3.0f); %.1f allocs/entry\n",
        static_cast<long long>(n), static_cast<long long>(per_client), seconds,
        f->counters.at("heap_B_per_entry"), f->counters.at("text_B_per_entry"), overhead,
        f->counters.at("source_B_per_entry"), f->counters.at("allocs_per_entry"));
    if (n == 1000000) {
      std::printf("           target build <= 3 s: %s;  overhead <= 200 B/entry: %s\n",
                  logout::bench::Verdict(seconds <= 3), logout::bench::Verdict(overhead <= 200));
    }
  }
  std::printf(
      "  (per entry, fixed: AllowList::Entry %zu B including its url::Url %zu B; plus the "
      "heap copies of the raw text and of the href, and an index slot)\n",
      sizeof(logout::policy::AllowList::Entry), sizeof(logout::url::Url));
  std::printf("\nPublishing a one-tenant change (target <= 5 ms at 100,000 tenants):\n");
  for (int tenants : {10000, 100000}) {
    const auto* f = reporter.Find(absl::StrCat("BM_PublishOneTenantChange/", tenants));
    if (f == nullptr) continue;
    std::printf("  %6d tenants: %.3f ms%s\n", tenants, f->real_ns / 1e6,
                tenants == 100000
                    ? absl::StrCat("  ", logout::bench::Verdict(f->real_ns <= 5e6)).c_str()
                    : "");
  }
  std::printf("\nSnapshot read (Get + FindTenant, wall time per read):\n");
  for (int threads : {1, 2}) {
    for (int mode : {0, 1, 2}) {
      const auto* f = reporter.Find(
          absl::StrCat("BM_SnapshotRead/swap:", mode, "/real_time/threads:", threads));
      if (f == nullptr) continue;
      static const char* kModes[] = {"no swaps", "continuous swaps", "a swap per ms"};
      std::printf("  %d reader(s), %-16s %7.1f ns\n", threads, kModes[mode], f->real_ns);
    }
  }
  benchmark::Shutdown();
  return reporter.errors() == 0 ? 0 : 1;
}
