// logout_loadgen: end-to-end load against one running logoutd, with gRPC's completion-queue API
// and the generic stub (requests serialised once, responses compared with the validated bytes),
// one thread driving every call: the least client CPU per call gRPC C++ allows, so the generator
// is not what limits the QPS it measures (it reports its own CPU; above 85 % of its core a
// comparison is INVALID).
//
// In ONE run against ONE server process it measures, one scenario after the other:
//   health  grpc.health.v1.Health/Check — the empty-call baseline
//   nohint  ValidateLogout, /v2/logout with client_id + returnTo (matching, DECISION_ALLOW)
//   rs256   ValidateLogout, OIDC endpoint with an RS256 id_token_hint (--hint_rs256)
//   es256   the same with an ES256 hint (--hint_es256)
// (requests: bench/load_scenario.h; policy and hints: mint_bench_policy). Every response is
// checked (status OK, the expected decision); a wrong one counts as an error.
//
// Per scenario: a warm-up, then a measured phase of --duration. Closed loop keeps --in_flight
// calls outstanding over --channels connections; open loop sends at --rate per second and
// measures latency from each call's intended send time (so a stalled server is not hidden by a
// stalled generator). Reported: QPS, latency p50/p90/p99/p99.9, the server's CPU per RPC from
// /proc/<--server_pid>/stat (utime+stime before/after the measured phase), the server threads'
// context switches per RPC (/proc/PID/task/*/status), the generator's own CPU, and each
// scenario as a ratio to the health baseline, with the targets.
//
//   logout_loadgen --target=127.0.0.1:PORT --server_pid=PID --hint_rs256=F --hint_es256=F
//       [--mode=closed --in_flight=64 | --mode=open --rate=20000] [--json_out=results.json]
//
// Only ever targets 127.0.0.1. Every loop is bounded by the phase clock; every call has a
// deadline.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/load_scenario.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/jwt/base64url.h"

ABSL_FLAG(std::string, target, "", "logoutd address, 127.0.0.1:PORT (nothing else is accepted)");
ABSL_FLAG(int, server_pid, 0,
          "logoutd's pid, for its CPU time from /proc/PID/stat (0: not measured)");
ABSL_FLAG(std::string, mode, "closed",
          "closed (fixed calls in flight) or open (fixed arrival rate)");
ABSL_FLAG(int, in_flight, 64, "closed loop: calls kept outstanding (over all channels)");
ABSL_FLAG(double, rate, 0, "open loop: calls per second (each scenario)");
ABSL_FLAG(int, max_outstanding, 10000,
          "open loop: at most this many calls outstanding; beyond it sending waits (latency still "
          "counts from the intended send time)");
ABSL_FLAG(int, channels, 4, "gRPC channels (each its own TCP connection)");
ABSL_FLAG(int, cq_threads, 1,
          "completion-queue threads that drive the calls (1..16; channels are spread over them)");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "warm-up per scenario (not measured)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured phase per scenario");
ABSL_FLAG(absl::Duration, rpc_deadline, absl::Seconds(5), "deadline of every call");
ABSL_FLAG(std::vector<std::string>, scenarios,
          std::vector<std::string>({"health", "nohint", "rs256", "es256"}),
          "scenarios in order: health (baseline), nohint, rs256, es256");
ABSL_FLAG(std::string, hint_rs256, "", "file holding an RS256 id_token_hint (mint_bench_policy)");
ABSL_FLAG(std::string, hint_es256, "", "file holding an ES256 id_token_hint (mint_bench_policy)");
ABSL_FLAG(std::string, rs256_public_key, "",
          "PEM public key of the RS256 hint: times a bare EVP_DigestVerify of it on this core, the "
          "reference of the RS256 target");
ABSL_FLAG(std::string, es256_public_key, "", "PEM public key of the ES256 hint (same, for ES256)");
ABSL_FLAG(double, bare_rs256_us, 0,
          "bare RS256 verify in us when no --rs256_public_key is given (0: target not evaluated)");
ABSL_FLAG(std::string, json_out, "", "write the results as JSON to this file");

namespace {

namespace v1 = logout::v1;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- Latency histogram: log-linear, 64 sub-buckets per power of two (<= 1.6% error). --------

class Histogram {
 public:
  void Record(int64_t ns) {
    if (ns < 0) ns = 0;
    counts_[Index(static_cast<uint64_t>(ns))].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(ns, std::memory_order_relaxed);
    int64_t m = max_.load(std::memory_order_relaxed);
    while (ns > m && !max_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
    }
  }
  uint64_t count() const { return total_.load(); }
  double MeanNs() const { return count() == 0 ? 0 : static_cast<double>(sum_.load()) / count(); }
  double MaxNs() const { return static_cast<double>(max_.load()); }
  // PercentileNs returns the q-quantile (midpoint of its bucket), 0 without samples.
  double PercentileNs(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * n)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return Midpoint(i);
    }
    return MaxNs();
  }

 private:
  static constexpr int kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 64
  static constexpr size_t kBuckets = 2 * kSub + 40 * kSub;

  static size_t Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - kSubBits;
    const size_t i = 2 * kSub + static_cast<size_t>(shift - 1) * kSub + ((v >> shift) - kSub);
    return std::min(i, kBuckets - 1);
  }
  static double Midpoint(size_t i) {
    if (i < 2 * kSub) return static_cast<double>(i);
    const int shift = static_cast<int>((i - 2 * kSub) / kSub) + 1;
    const uint64_t mantissa = kSub + (i - 2 * kSub) % kSub;
    return static_cast<double>(mantissa << shift) + static_cast<double>(uint64_t{1} << shift) / 2;
  }

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

// ---- CPU time from /proc --------------------------------------------------------------------

// CpuSeconds returns utime+stime of /proc/<pid>/stat ("self" for this process), in seconds.
std::optional<double> CpuSeconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(paren + 2), ' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  if (fields.size() < 13) return std::nullopt;
  const double ticks =
      std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ContextSwitches sums voluntary + involuntary context switches over the live threads of `pid`
// (/proc/PID/task/*/status; threads that exit in between are missed). nullopt if unreadable.
std::optional<double> ContextSwitches(const std::string& pid) {
  std::error_code ec;
  double total = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StartsWith(line, "voluntary_ctxt_switches:") ||
          absl::StartsWith(line, "nonvoluntary_ctxt_switches:")) {
        total += std::strtod(line.substr(line.find(':') + 1).c_str(), nullptr);
        any = true;
      }
    }
  }
  if (ec || !any) return std::nullopt;
  return total;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// ---- Bare verification: the reference for the hint targets ---------------------------------

// BareVerifyUs times EVP_DigestVerifyInit + EVP_DigestVerify of `hint`'s signature with the PEM
// key in `pem_path` (thread CPU time), for about 0.3 s. The key must verify the hint.
absl::StatusOr<double> BareVerifyUs(const std::string& pem_path, const std::string& hint, bool ec) {
  FILE* f = std::fopen(pem_path.c_str(), "r");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", pem_path));
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PUBKEY(f, nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::fclose(f);
  if (key == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("no PEM public key in ", pem_path));
  const size_t dot = hint.rfind('.');
  const std::string input = hint.substr(0, dot);
  std::optional<std::string> sig = logout::jwt::Base64UrlDecode(hint.substr(dot + 1));
  if (dot == std::string::npos || !sig.has_value()) return absl::InvalidArgumentError("bad hint");
  if (ec) {  // JWS r||s -> DER
    if (sig->size() != 64) return absl::InvalidArgumentError("ES256 signature is not 64 bytes");
    ECDSA_SIG* e = ECDSA_SIG_new();
    const auto* raw = reinterpret_cast<const unsigned char*>(sig->data());
    ECDSA_SIG_set0(e, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(e, &der);
    sig->assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    ECDSA_SIG_free(e);
  }
  const double start = ThreadCpuSeconds();
  int64_t n = 0;
  while (n < 200000 && (n < 10 || ThreadCpuSeconds() - start < 0.3)) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    const int ok =
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    if (ok != 1)
      return absl::InvalidArgumentError(absl::StrCat(pem_path, " does not verify the hint"));
    ++n;
  }
  return (ThreadCpuSeconds() - start) / static_cast<double>(n) * 1e6;
}

// ---- Scenarios -------------------------------------------------------------------------------

// Receives completions. Called on gRPC threads; must not block.
class CallSink {
 public:
  virtual ~CallSink() = default;
  virtual void OnDone(size_t channel, int64_t t0, bool ok) = 0;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual const std::string& name() const = 0;
  // Start sends one call on `channel`; `sink->OnDone(channel, t0, ok)` runs when it completes.
  virtual void Start(size_t channel, int64_t t0, CallSink* sink) = 0;
  // Check makes one blocking call on `channel` and says what is wrong with its answer.
  virtual absl::Status Check(size_t channel) = 0;
};

struct Channels {
  std::vector<std::unique_ptr<v1::LogoutPolicy::Stub>> policy;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic;
};

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() +
         absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_rpc_deadline));
}

// What a completion queue's tag does when its operation ends.
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void Done(bool ok) = 0;
};

// The completion queues that every call of the load ends on, each drained by one thread of its
// own. That thread also polls the connections (gRPC's completion-queue model), so a response
// is read, checked and the slot's next call started on one thread with no hand-off between
// threads: the cheapest way gRPC C++ offers to make calls.
class CompletionThreads {
 public:
  explicit CompletionThreads(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
      threads_.emplace_back([cq = cqs_.back().get()] {
        void* tag = nullptr;
        bool ok = false;
        while (cq->Next(&tag, &ok)) static_cast<Completion*>(tag)->Done(ok);
      });
    }
  }
  ~CompletionThreads() {
    for (auto& cq : cqs_) cq->Shutdown();
    for (std::thread& t : threads_) t.join();
  }
  CompletionThreads(const CompletionThreads&) = delete;
  CompletionThreads& operator=(const CompletionThreads&) = delete;

  grpc::CompletionQueue* For(size_t channel) { return cqs_[channel % cqs_.size()].get(); }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
};

// Whether `buffer` holds exactly the bytes `expected`.
bool SameBytes(const grpc::ByteBuffer& buffer, const std::string& expected) {
  grpc::Slice single;
  if (buffer.TrySingleSlice(&single).ok()) {
    return absl::string_view(reinterpret_cast<const char*>(single.begin()), single.size()) ==
           expected;
  }
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string all;
  for (const grpc::Slice& s : slices)
    all.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return all == expected;
}

// A unary RPC scenario over a fixed set of requests (sent round-robin), made through the
// generic stub: requests are serialised once, before the load. Before the load, Check makes one
// typed call per request, validates the answer (status OK, the expected decision) and keeps its
// serialisation; under load every response must be exactly those bytes (a compare, not a
// parse), and any other answer counts as an error.
class UnaryScenario final : public Scenario {
 public:
  // TypedCall makes one blocking call of request `i` on channel `c` and returns the serialised
  // response once it is validated, else what is wrong with it.
  using TypedCall = std::function<absl::StatusOr<std::string>(size_t c, size_t i)>;

  UnaryScenario(std::string name, std::string method, const std::vector<std::string>& requests,
                Channels* channels, CompletionThreads* cqs, TypedCall typed_call)
      : name_(std::move(name)),
        method_(std::move(method)),
        channels_(channels),
        cqs_(cqs),
        typed_call_(std::move(typed_call)),
        expected_(requests.size()) {
    for (const std::string& r : requests) {
      grpc::Slice slice(r);
      requests_.emplace_back(&slice, 1);
    }
  }

  const std::string& name() const override { return name_; }

  void Start(size_t channel, int64_t t0, CallSink* sink) override {
    auto* call = new Call;
    call->scenario = this;
    call->channel = channel;
    call->t0 = t0;
    call->sink = sink;
    call->request = next_.fetch_add(1, std::memory_order_relaxed) % requests_.size();
    call->ctx.set_deadline(Deadline());
    call->reader = channels_->generic[channel]->PrepareUnaryCall(
        &call->ctx, method_, requests_[call->request], cqs_->For(channel));
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
  }

  absl::Status Check(size_t channel) override {
    for (size_t i = 0; i < requests_.size(); ++i) {
      absl::StatusOr<std::string> bytes = typed_call_(channel, i);
      if (!bytes.ok()) {
        return {bytes.status().code(), absl::StrCat(name_, ": ", bytes.status().message())};
      }
      expected_[i] = *std::move(bytes);
    }
    return absl::OkStatus();
  }

 private:
  struct Call final : Completion {
    void Done(bool ok) override {
      const bool good = ok && status.ok() && SameBytes(response, scenario->expected_[request]);
      CallSink* const s = sink;
      const size_t ch = channel;
      const int64_t start = t0;
      delete this;
      s->OnDone(ch, start, good);  // may start the slot's next call
    }
    UnaryScenario* scenario = nullptr;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
    grpc::ByteBuffer response;
    grpc::Status status;
    size_t channel = 0;
    size_t request = 0;
    int64_t t0 = 0;
    CallSink* sink = nullptr;
  };

  const std::string name_;
  const std::string method_;
  Channels* const channels_;
  CompletionThreads* const cqs_;
  const TypedCall typed_call_;
  std::vector<grpc::ByteBuffer> requests_;
  std::vector<std::string> expected_;  // per request, set by Check before the load
  std::atomic<uint64_t> next_{0};
};

std::unique_ptr<Scenario> HealthScenario(Channels* ch, CompletionThreads* cqs) {
  const HealthCheckRequest req;  // "" = the whole server
  return std::make_unique<UnaryScenario>(
      "health", "/grpc.health.v1.Health/Check", std::vector<std::string>{req.SerializeAsString()},
      ch, cqs, [ch, req](size_t c, size_t) -> absl::StatusOr<std::string> {
        grpc::ClientContext ctx;
        ctx.set_deadline(Deadline());
        HealthCheckResponse resp;
        const grpc::Status s = ch->health[c]->Check(&ctx, req, &resp);
        if (!s.ok()) return absl::UnavailableError(absl::StrCat("RPC failed: ", s.error_message()));
        if (resp.status() != HealthCheckResponse::SERVING) {
          return absl::FailedPreconditionError("server is not SERVING");
        }
        return resp.SerializeAsString();
      });
}

std::unique_ptr<Scenario> DecisionScenario(std::string name, Channels* ch, CompletionThreads* cqs,
                                           std::vector<v1::ValidateLogoutRequest> requests,
                                           bool with_hint) {
  std::vector<std::string> serialized;
  serialized.reserve(requests.size());
  for (const v1::ValidateLogoutRequest& r : requests) serialized.push_back(r.SerializeAsString());
  return std::make_unique<UnaryScenario>(
      std::move(name), "/logout.v1.LogoutPolicy/ValidateLogout", serialized, ch, cqs,
      [ch, requests = std::move(requests), with_hint](size_t c,
                                                      size_t i) -> absl::StatusOr<std::string> {
        grpc::ClientContext ctx;
        ctx.set_deadline(Deadline());
        v1::ValidateLogoutResponse r;
        const grpc::Status s = ch->policy[c]->ValidateLogout(&ctx, requests[i], &r);
        if (!s.ok()) return absl::UnavailableError(absl::StrCat("RPC failed: ", s.error_message()));
        const bool ok = with_hint ? r.decision() == v1::DECISION_ALLOW &&
                                        r.client_source() == v1::CLIENT_SOURCE_ID_TOKEN_HINT
                                  : r.decision() == v1::DECISION_ALLOW &&
                                        r.reason() == v1::REASON_REDIRECT_ALLOWED;
        if (!ok) {
          return absl::FailedPreconditionError(
              absl::StrCat(with_hint ? "expected DECISION_ALLOW with the client from the hint"
                                     : "expected DECISION_ALLOW / REASON_REDIRECT_ALLOWED",
                           ": ", r.ShortDebugString()));
        }
        return r.SerializeAsString();
      });
}

// ---- One scenario's run ----------------------------------------------------------------------

struct LoadOptions {
  bool open_loop = false;
  int in_flight = 64;
  double rate = 0;
  int max_outstanding = 10000;
  size_t channels = 4;
  absl::Duration warmup;
  absl::Duration duration;
  std::string server_pid;  // empty: not measured
};

struct Result {
  std::string name;
  uint64_t rpcs = 0;
  uint64_t errors = 0;  // in the measured phase
  uint64_t warmup_errors = 0;
  double seconds = 0;
  double qps = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0, mean_us = 0;
  std::optional<double> server_cpu_us_per_rpc;
  std::optional<double> server_cores;             // server CPU seconds per wall second
  std::optional<double> server_switches_per_rpc;  // context switches of the server's threads
  double client_cores = 0;
  uint64_t late_sends = 0;  // open loop: sent > 1 ms after the intended time
  bool aborted = false;
};

class Runner final : public CallSink {
 public:
  Runner(Scenario* scenario, const LoadOptions& o) : scenario_(scenario), o_(o) {}

  Result Run() {
    Result r;
    r.name = scenario_->name();
    const int64_t start = NowNs();
    std::thread pacer;
    if (o_.open_loop) {
      pacer = std::thread([this, start] { Pace(start); });
    } else {
      for (int i = 0; i < o_.in_flight; ++i) {
        outstanding_.fetch_add(1);
        scenario_->Start(static_cast<size_t>(i) % o_.channels, NowNs(), this);
      }
    }
    SleepUnlessAborted(o_.warmup);

    const std::optional<double> server0 = ServerCpu();
    const std::optional<double> switches0 = ServerSwitches();
    const std::optional<double> self0 = CpuSeconds("self");
    const int64_t t0 = NowNs();
    recording_.store(true);
    SleepUnlessAborted(o_.duration);
    recording_.store(false);
    const int64_t t1 = NowNs();
    const std::optional<double> server1 = ServerCpu();
    const std::optional<double> switches1 = ServerSwitches();
    const std::optional<double> self1 = CpuSeconds("self");

    stop_.store(true);
    if (pacer.joinable()) pacer.join();
    // Drain: every outstanding call ends by its deadline.
    const int64_t give_up =
        NowNs() + absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_rpc_deadline) + absl::Seconds(5));
    while (outstanding_.load() > 0 && NowNs() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (outstanding_.load() > 0) {
      // Calls still reference this Runner: leak it rather than risk a use-after-free.
      std::fprintf(stderr, "%s: %lld calls never completed\n", r.name.c_str(),
                   static_cast<long long>(outstanding_.load()));
      leaked_ = true;
    }

    r.seconds = static_cast<double>(t1 - t0) / 1e9;
    r.rpcs = hist_.count();
    r.errors = errors_.load();
    r.warmup_errors = warmup_errors_.load();
    r.qps = static_cast<double>(r.rpcs) / r.seconds;
    r.p50_us = hist_.PercentileNs(0.50) / 1000;
    r.p90_us = hist_.PercentileNs(0.90) / 1000;
    r.p99_us = hist_.PercentileNs(0.99) / 1000;
    r.p999_us = hist_.PercentileNs(0.999) / 1000;
    r.max_us = hist_.MaxNs() / 1000;
    r.mean_us = hist_.MeanNs() / 1000;
    if (server0.has_value() && server1.has_value() && r.rpcs > 0) {
      r.server_cpu_us_per_rpc = (*server1 - *server0) * 1e6 / static_cast<double>(r.rpcs);
      r.server_cores = (*server1 - *server0) / r.seconds;
    }
    if (switches0.has_value() && switches1.has_value() && r.rpcs > 0) {
      r.server_switches_per_rpc = (*switches1 - *switches0) / static_cast<double>(r.rpcs);
    }
    if (self0.has_value() && self1.has_value()) r.client_cores = (*self1 - *self0) / r.seconds;
    r.late_sends = late_.load();
    r.aborted = aborted_.load();
    return r;
  }

  bool leaked() const { return leaked_; }

  void OnDone(size_t channel, int64_t t0, bool ok) override {
    const int64_t now = NowNs();
    if (recording_.load(std::memory_order_relaxed)) {
      if (ok) {
        hist_.Record(now - t0);
      } else {
        errors_.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (!ok) {
      warmup_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!ok && errors_.load() + warmup_errors_.load() > kMaxErrors) {
      aborted_.store(true);
      stop_.store(true);
    }
    if (!o_.open_loop && !stop_.load(std::memory_order_relaxed)) {
      scenario_->Start(channel, NowNs(), this);  // the slot's next call
      return;
    }
    outstanding_.fetch_sub(1);
  }

 private:
  static constexpr uint64_t kMaxErrors = 1000;

  std::optional<double> ServerCpu() const {
    if (o_.server_pid.empty()) return std::nullopt;
    return CpuSeconds(o_.server_pid);
  }

  std::optional<double> ServerSwitches() const {
    if (o_.server_pid.empty()) return std::nullopt;
    return ContextSwitches(o_.server_pid);
  }

  void SleepUnlessAborted(absl::Duration d) {
    const int64_t end = NowNs() + absl::ToInt64Nanoseconds(d);
    while (NowNs() < end && !aborted_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::min<int64_t>(50, std::max<int64_t>(1, (end - NowNs()) / 1000000))));
    }
  }

  // Open loop: call i is due at start + i / rate. Sleeps while ahead, then sends every call that
  // is due (so a slow wake-up becomes a small batch, timed from the intended instants).
  void Pace(int64_t start) {
    const double interval_ns = 1e9 / o_.rate;
    uint64_t i = 0;
    while (!stop_.load()) {
      const int64_t now = NowNs();
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
      if (due > now) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        continue;
      }
      if (outstanding_.load() >= o_.max_outstanding) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      if (now - due > 1000000) late_.fetch_add(1, std::memory_order_relaxed);
      outstanding_.fetch_add(1);
      scenario_->Start(i % o_.channels, due, this);
      ++i;
    }
  }

  Scenario* const scenario_;
  const LoadOptions o_;
  Histogram hist_;
  std::atomic<bool> recording_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> aborted_{false};
  std::atomic<int64_t> outstanding_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> warmup_errors_{0};
  std::atomic<uint64_t> late_{0};
  bool leaked_ = false;
};

// ---- Output ----------------------------------------------------------------------------------

std::string Num(std::optional<double> v, int precision = 3) {
  if (!v.has_value() || !std::isfinite(*v)) return "null";
  return absl::StrFormat("%.*f", precision, *v);
}

struct Target {
  std::string name;
  std::string detail;
  std::optional<bool> met;  // nullopt: not evaluated
  // A scenario it compares ran with the generator above kMaxGeneratorCores: the figure may be
  // the generator's limit, so neither MET nor MISSED is claimed.
  bool invalid = false;
};

// Above this share of its core, a closed-loop generator may be what limits the QPS it measures.
constexpr double kMaxGeneratorCores = 0.85;

// Saturated says whether any of `results` ran with its generator above kMaxGeneratorCores.
bool Saturated(std::initializer_list<const Result*> results) {
  for (const Result* r : results) {
    if (r != nullptr && r->client_cores > kMaxGeneratorCores) return true;
  }
  return false;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::string(absl::StripAsciiWhitespace(s));
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "logout_loadgen --target=127.0.0.1:PORT --server_pid=PID --hint_rs256=F --hint_es256=F");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with its debug checks: absl::Mutex (which gRPC locks on every call)
  // would otherwise keep a deadlock-detection graph, a cost of the generator's, not the server's.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const std::string target = absl::GetFlag(FLAGS_target);
  if (!absl::StartsWith(target, "127.0.0.1:") || target.size() <= 10) {
    std::fprintf(stderr,
                 "--target must be 127.0.0.1:PORT (only the local machine is load-tested)\n");
    return EXIT_FAILURE;
  }
  LoadOptions o;
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "closed" && mode != "open") {
    std::fprintf(stderr, "--mode must be closed or open\n");
    return EXIT_FAILURE;
  }
  o.open_loop = mode == "open";
  o.in_flight = absl::GetFlag(FLAGS_in_flight);
  o.rate = absl::GetFlag(FLAGS_rate);
  o.max_outstanding = absl::GetFlag(FLAGS_max_outstanding);
  o.channels = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_channels)));
  o.warmup = absl::GetFlag(FLAGS_warmup);
  o.duration = absl::GetFlag(FLAGS_duration);
  if (absl::GetFlag(FLAGS_server_pid) > 0)
    o.server_pid = absl::StrCat(absl::GetFlag(FLAGS_server_pid));
  if ((!o.open_loop && (o.in_flight < 1 || o.in_flight > 100000)) ||
      (o.open_loop && (o.rate <= 0 || o.rate > 1e7)) || o.channels > 256 || o.max_outstanding < 1 ||
      o.duration <= absl::ZeroDuration() || o.warmup < absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "bad load settings: closed needs 1 <= --in_flight <= 100000, open needs "
                 "0 < --rate <= 1e7; --channels <= 256; --duration > 0\n");
    return EXIT_FAILURE;
  }
  if (!o.server_pid.empty() && !CpuSeconds(o.server_pid).has_value()) {
    std::fprintf(stderr, "cannot read /proc/%s/stat\n", o.server_pid.c_str());
    return EXIT_FAILURE;
  }

  // Channels: a local subchannel pool each, so each is its own TCP connection.
  Channels channels;
  std::vector<std::shared_ptr<grpc::Channel>> owned;
  for (size_t i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("logout.bench.channel", static_cast<int>(i));
    auto ch = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
      return EXIT_FAILURE;
    }
    channels.policy.push_back(v1::LogoutPolicy::NewStub(ch));
    channels.health.push_back(grpc::health::v1::Health::NewStub(ch));
    channels.generic.push_back(std::make_unique<grpc::GenericStub>(ch));
    owned.push_back(std::move(ch));
  }

  CompletionThreads cqs(static_cast<size_t>(std::clamp(absl::GetFlag(FLAGS_cq_threads), 1, 16)));
  // Scenarios, in the order asked.
  std::vector<std::unique_ptr<Scenario>> scenarios;
  std::string hint_rs256, hint_es256;
  for (const std::string& name : absl::GetFlag(FLAGS_scenarios)) {
    if (name == "health") {
      scenarios.push_back(HealthScenario(&channels, &cqs));
    } else if (name == "nohint") {
      std::vector<v1::ValidateLogoutRequest> requests;
      for (size_t i = 0; i < 64; ++i) requests.push_back(logout::bench::NoHintRequest(i));
      scenarios.push_back(DecisionScenario("nohint", &channels, &cqs, std::move(requests), false));
    } else if (name == "rs256" || name == "es256") {
      const std::string file =
          name == "rs256" ? absl::GetFlag(FLAGS_hint_rs256) : absl::GetFlag(FLAGS_hint_es256);
      std::string hint = ReadFileOrEmpty(file);
      if (hint.empty()) {
        std::fprintf(stderr, "scenario %s needs --hint_%s=FILE (mint_bench_policy writes it)\n",
                     name.c_str(), name.c_str());
        return EXIT_FAILURE;
      }
      (name == "rs256" ? hint_rs256 : hint_es256) = hint;
      scenarios.push_back(
          DecisionScenario(name, &channels, &cqs, {logout::bench::HintRequest(hint)}, true));
    } else {
      std::fprintf(stderr, "unknown scenario %s (health, nohint, rs256, es256)\n", name.c_str());
      return EXIT_FAILURE;
    }
  }
  for (const auto& s : scenarios) {
    if (absl::Status st = s->Check(0); !st.ok()) {
      std::fprintf(stderr, "sanity check failed: %s\n", st.ToString().c_str());
      return EXIT_FAILURE;
    }
  }

  // The bare-verify references, on this (the generator's) core, before any load.
  std::optional<double> bare_rs256, bare_es256;
  if (!absl::GetFlag(FLAGS_rs256_public_key).empty() && !hint_rs256.empty()) {
    auto us = BareVerifyUs(absl::GetFlag(FLAGS_rs256_public_key), hint_rs256, false);
    if (!us.ok()) {
      std::fprintf(stderr, "%s\n", us.status().ToString().c_str());
      return EXIT_FAILURE;
    }
    bare_rs256 = *us;
  } else if (absl::GetFlag(FLAGS_bare_rs256_us) > 0) {
    bare_rs256 = absl::GetFlag(FLAGS_bare_rs256_us);
  }
  if (!absl::GetFlag(FLAGS_es256_public_key).empty() && !hint_es256.empty()) {
    auto us = BareVerifyUs(absl::GetFlag(FLAGS_es256_public_key), hint_es256, true);
    if (!us.ok()) {
      std::fprintf(stderr, "%s\n", us.status().ToString().c_str());
      return EXIT_FAILURE;
    }
    bare_es256 = *us;
  }

  std::fprintf(
      stderr, "load: %s, %s, %zu channels, warm-up %s, measured %s per scenario\n", target.c_str(),
      o.open_loop ? absl::StrCat("open loop at ", o.rate, "/s").c_str()
                  : absl::StrCat("closed loop, ", o.in_flight, " in flight").c_str(),
      o.channels, absl::FormatDuration(o.warmup).c_str(), absl::FormatDuration(o.duration).c_str());
  std::vector<Result> results;
  std::vector<std::unique_ptr<Runner>> runners;
  bool failed = false;
  for (const auto& s : scenarios) {
    std::fprintf(stderr, "  %s ...\n", s->name().c_str());
    auto runner = std::make_unique<Runner>(s.get(), o);
    results.push_back(runner->Run());
    if (runner->leaked()) {
      runner.release();  // NOLINT: calls still point at it
      failed = true;
    }
    if (results.back().aborted || results.back().errors > 0) failed = true;
  }

  // Ratios to the baseline.
  const Result* base = nullptr;
  for (const Result& r : results) {
    if (r.name == "health") base = &r;
  }
  auto find = [&](const std::string& name) -> const Result* {
    for (const Result& r : results) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };

  std::printf("\n%-7s %9s %9s %8s %8s %8s %9s %11s %8s %8s %8s %9s %9s %9s\n", "", "rpcs", "qps",
              "p50 us", "p90 us", "p99 us", "p99.9 us", "srv us/rpc", "srv cpu", "gen cpu",
              "cs/rpc", "qps/base", "cpu/base", "cpu +us");
  for (const Result& r : results) {
    std::printf("%-7s %9llu %9.0f %8.1f %8.1f %8.1f %9.1f %11s %8s %8.2f %8s", r.name.c_str(),
                static_cast<unsigned long long>(r.rpcs), r.qps, r.p50_us, r.p90_us, r.p99_us,
                r.p999_us, Num(r.server_cpu_us_per_rpc, 2).c_str(), Num(r.server_cores, 2).c_str(),
                r.client_cores, Num(r.server_switches_per_rpc, 2).c_str());
    if (base != nullptr && base != &r && base->qps > 0) {
      std::printf(" %8.3fx", r.qps / base->qps);
      if (r.server_cpu_us_per_rpc && base->server_cpu_us_per_rpc) {
        std::printf(" %8.3fx %+9.2f", *r.server_cpu_us_per_rpc / *base->server_cpu_us_per_rpc,
                    *r.server_cpu_us_per_rpc - *base->server_cpu_us_per_rpc);
      }
    }
    std::printf("\n");
    if (r.errors > 0 || r.warmup_errors > 0 || r.aborted) {
      std::printf("        errors: %llu measured, %llu in warm-up%s\n",
                  static_cast<unsigned long long>(r.errors),
                  static_cast<unsigned long long>(r.warmup_errors), r.aborted ? " (aborted)" : "");
    }
    if (r.late_sends > 0) {
      std::printf("        %llu calls sent > 1 ms after their intended time (generator behind)\n",
                  static_cast<unsigned long long>(r.late_sends));
    }
    if (r.client_cores > kMaxGeneratorCores) {
      std::printf(
          "        the generator used %.0f%% of a core: QPS may be the generator's limit, so "
          "targets from this scenario are INVALID\n",
          r.client_cores * 100);
    }
  }
  if (bare_rs256) std::printf("bare RS256 verify on the generator's core: %.2f us\n", *bare_rs256);
  if (bare_es256) std::printf("bare ES256 verify on the generator's core: %.2f us\n", *bare_es256);

  // Targets: printed, never asserted.
  std::vector<Target> targets;
  const Result* nohint = find("nohint");
  const Result* rs256 = find("rs256");
  const Result* es256 = find("es256");
  const bool cpu_known = base != nullptr && base->server_cpu_us_per_rpc.has_value();
  if (base != nullptr && nohint != nullptr) {
    Target t{"nohint_qps", "", std::nullopt};
    const double ratio = nohint->qps / base->qps;
    t.detail =
        absl::StrFormat("ValidateLogout without a hint: QPS %.3fx the baseline (>= 0.90x)", ratio);
    if (o.open_loop) {
      t.detail += " [open loop: the rate is fixed, so QPS compares nothing; use --mode=closed]";
    } else {
      t.met = ratio >= 0.90;
    }
    t.invalid = Saturated({base, nohint});
    targets.push_back(t);
    if (cpu_known && nohint->server_cpu_us_per_rpc) {
      const double delta = *nohint->server_cpu_us_per_rpc - *base->server_cpu_us_per_rpc;
      targets.push_back(
          {"nohint_cpu",
           absl::StrFormat("ValidateLogout without a hint: server CPU %.2f us = "
                           "baseline %.2f %+.2f us (<= +2 us)",
                           *nohint->server_cpu_us_per_rpc, *base->server_cpu_us_per_rpc, delta),
           delta <= 2.0, Saturated({base, nohint})});
    }
  }
  auto hint_target = [&](const Result* r, const char* alg, std::optional<double> bare) {
    if (r == nullptr || !cpu_known || !r->server_cpu_us_per_rpc) return;
    const double delta = *r->server_cpu_us_per_rpc - *base->server_cpu_us_per_rpc;
    Target t{absl::StrCat(r->name, "_cpu"), "", std::nullopt};
    if (bare) {
      t.detail = absl::StrFormat(
          "ValidateLogout with an %s hint: server CPU %.2f us = baseline %.2f %+.2f us (<= +1.3 x "
          "bare %s verify %.2f = +%.2f us)",
          alg, *r->server_cpu_us_per_rpc, *base->server_cpu_us_per_rpc, delta, alg, *bare,
          1.3 * *bare);
      t.met = delta <= 1.3 * *bare;
      t.invalid = Saturated({base, r});
    } else {
      t.detail = absl::StrFormat(
          "ValidateLogout with an %s hint: server CPU %.2f us (+%.2f us); no "
          "bare-verify reference given",
          alg, *r->server_cpu_us_per_rpc, delta);
    }
    targets.push_back(t);
  };
  hint_target(rs256, "RS256", bare_rs256);
  hint_target(es256, "ES256", bare_es256);  // not an issue target; same rule, for information
  std::printf("\ntargets (printed, never asserted; noisy unless the machine is quiet):\n");
  for (const Target& t : targets) {
    std::printf("  %-9s %s\n",
                t.invalid            ? "INVALID"
                : !t.met.has_value() ? "n/a"
                : *t.met             ? "MET"
                                     : "MISSED",
                t.detail.c_str());
  }

  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::ostringstream j;
    j << "{\n  \"config\": {\"target\": " << JsonString(target)
      << ", \"mode\": " << JsonString(mode) << ", \"in_flight\": " << o.in_flight
      << ", \"rate\": " << o.rate << ", \"channels\": " << o.channels
      << ", \"warmup_s\": " << absl::ToDoubleSeconds(o.warmup)
      << ", \"duration_s\": " << absl::ToDoubleSeconds(o.duration)
      << ", \"server_pid\": " << (o.server_pid.empty() ? "null" : o.server_pid) << "},\n";
    j << "  \"reference\": {\"bare_rs256_verify_us\": " << Num(bare_rs256)
      << ", \"bare_es256_verify_us\": " << Num(bare_es256) << "},\n  \"scenarios\": [";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      std::optional<double> qps_ratio, cpu_ratio, cpu_delta;
      if (base != nullptr && base->qps > 0) qps_ratio = r.qps / base->qps;
      if (cpu_known && r.server_cpu_us_per_rpc) {
        cpu_ratio = *r.server_cpu_us_per_rpc / *base->server_cpu_us_per_rpc;
        cpu_delta = *r.server_cpu_us_per_rpc - *base->server_cpu_us_per_rpc;
      }
      j << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << JsonString(r.name)
        << ", \"rpcs\": " << r.rpcs << ", \"errors\": " << r.errors
        << ", \"warmup_errors\": " << r.warmup_errors << ", \"seconds\": " << Num(r.seconds)
        << ", \"qps\": " << Num(r.qps, 1) << ",\n     \"latency_us\": {\"p50\": " << Num(r.p50_us)
        << ", \"p90\": " << Num(r.p90_us) << ", \"p99\": " << Num(r.p99_us)
        << ", \"p99_9\": " << Num(r.p999_us) << ", \"max\": " << Num(r.max_us)
        << ", \"mean\": " << Num(r.mean_us)
        << "},\n     \"server_cpu_us_per_rpc\": " << Num(r.server_cpu_us_per_rpc)
        << ", \"server_cpu_cores\": " << Num(r.server_cores)
        << ", \"server_context_switches_per_rpc\": " << Num(r.server_switches_per_rpc)
        << ", \"generator_cpu_cores\": " << Num(r.client_cores)
        << ", \"late_sends\": " << r.late_sends
        << ",\n     \"qps_ratio_to_baseline\": " << Num(qps_ratio)
        << ", \"server_cpu_ratio_to_baseline\": " << Num(cpu_ratio)
        << ", \"server_cpu_delta_us\": " << Num(cpu_delta) << "}";
    }
    j << "\n  ],\n  \"targets\": [";
    for (size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[i];
      j << (i == 0 ? "\n" : ",\n") << "    {\"name\": " << JsonString(t.name) << ", \"met\": "
        << (t.invalid            ? "\"invalid\""
            : !t.met.has_value() ? "null"
            : *t.met             ? "true"
                                 : "false")
        << ", \"detail\": " << JsonString(t.detail) << "}";
    }
    j << "\n  ]\n}\n";
    std::ofstream out(path, std::ios::trunc);
    out << j.str();
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      failed = true;
    }
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
