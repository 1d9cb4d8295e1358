// WHATWG URL parsing cost (service/url) for the shapes of redirect target logoutd sees: a plain
// https URL, a typical returnTo with a query, one that needs normalisation (case, default port,
// dot segments), percent-encoding, an IDNA host (ICU), IPv4/IPv6 hosts and a 2 KiB URL.
// Every case also reports the heap allocations of one Parse (counter `allocs`).
//
//   build-bench/bench/url_benchmark [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "bench/bench_util.h"
#include "service/url/url.h"

namespace {

using logout::bench::AllocStats;
using logout::bench::ScopedAllocCounter;

struct Case {
  const char* name;
  std::string input;
};

std::string LongUrl() {
  std::string u = "https://app.example.com/";
  while (u.size() < 2000) u += "segment-of-a-long-path/";
  return u + "?q=1";
}

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"simple", "https://app.example.com/logout"},
      {"typical_return_to", "https://shop.acme.example.com/goodbye?from=logout&lang=en"},
      {"normalise", "HTTPS://Shop.ACME.Example.COM:443/a/./b/../goodbye"},
      {"percent_encode", "https://example.com/p\xC3\xA4th with space?q=\xC3\xBC"},
      {"idna_unicode_host",
       "https://b\xC3\xBC"
       "cher.example/abschied"},
      {"punycode_host", "https://xn--bcher-kva.example/abschied"},
      {"ipv4", "http://127.0.0.1:8080/callback"},
      {"ipv6", "http://[::1]:8080/callback"},
      {"long_2k", LongUrl()},
  };
  return *cases;
}

void BM_UrlParse(benchmark::State& state, const Case* c) {
  // Allocations of one parse, measured outside the timed loop.
  AllocStats allocs;
  {
    constexpr int kRounds = 64;
    ScopedAllocCounter counter;
    for (int i = 0; i < kRounds; ++i) {
      auto u = logout::url::Url::Parse(c->input);
      benchmark::DoNotOptimize(u);
    }
    allocs = counter.Stats();
    allocs.count /= kRounds;
    allocs.bytes /= kRounds;
  }
  if (!logout::url::Url::Parse(c->input).ok()) state.SkipWithError("parse failed");
  for (auto _ : state) {
    auto u = logout::url::Url::Parse(c->input);
    benchmark::DoNotOptimize(u);
  }
  state.counters["allocs"] = static_cast<double>(allocs.count);
  state.counters["alloc_bytes"] = static_cast<double>(allocs.bytes);
  state.counters["input_bytes"] = static_cast<double>(c->input.size());
}

}  // namespace

int main(int argc, char** argv) {
  for (const Case& c : Cases()) {
    benchmark::RegisterBenchmark((std::string("BM_UrlParse/") + c.name).c_str(), BM_UrlParse, &c);
  }
  benchmark::Initialize(&argc, argv);
  logout::bench::RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nURL parse (CPU time per Parse; allocations per Parse):\n");
  const auto* simple = reporter.Find("BM_UrlParse/simple");
  for (const Case& c : Cases()) {
    const auto* f = reporter.Find(std::string("BM_UrlParse/") + c.name);
    if (f == nullptr) continue;
    std::printf("  %-18s %8.0f ns  %3.0f allocs  %5.1fx simple\n", c.name, f->cpu_ns,
                f->counters.at("allocs"), simple != nullptr ? f->cpu_ns / simple->cpu_ns : 0.0);
  }
  benchmark::Shutdown();
  return reporter.errors() == 0 ? 0 : 1;
}
