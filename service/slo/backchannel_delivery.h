// Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.5), used when logoutd
// runs with --deliver_backchannel: a small worker pool POSTs `logout_token=<token>` to each
// client's backchannel_logout_uri with libcurl, retrying transient failures with a fresh token.
//
//   BackchannelDeliverer deliverer(BackchannelDeliveryOptions{}, [](const DeliveryOutcome& o)
//   {...}); deliverer.Enqueue({.client_id = "app", .uri = uri, .first_token = token, .mint_token =
//   mint});
//
// Rules: 200 and 204 are success; 3xx and 4xx other than 429 are permanent failures (redirects
// are never followed); connection errors, timeouts, 5xx and 429 are retried with exponential
// backoff and jitter until the job's total time budget runs out, each retry with a token from
// `mint_token` (a new jti). Response bodies are read up to a small cap and discarded; tokens and
// bodies never reach logs, errors or outcomes.
#ifndef SERVICE_SLO_BACKCHANNEL_DELIVERY_H_
#define SERVICE_SLO_BACKCHANNEL_DELIVERY_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace logout::slo {

// How one delivery job ended. Stable names (DeliveryResultName) are used in metrics and logs.
enum class DeliveryResult {
  kDelivered,  // "delivered": the RP answered 200 or 204.
  kRejected,   // "rejected": a permanent failure (3xx, 4xx other than 429, bad URI).
  kGaveUp,     // "gave_up": the time budget ran out (or logoutd stopped) while retrying.
  kDropped,    // "dropped": the queue was full (or stopping); nothing was sent.
};

// DeliveryResultName returns the stable string of `result`.
absl::string_view DeliveryResultName(DeliveryResult result);

// What one HTTP attempt produced, transport-neutral so the retry rules are testable alone.
struct AttemptResult {
  enum class Transport {
    kOk,            // an HTTP response arrived; see http_status
    kConnectError,  // DNS, refused, reset, TLS handshake: nothing (complete) was answered
    kTimeout,       // the attempt's time ran out
    kPermanent,     // a local problem retrying cannot fix (bad URL, unsupported scheme)
  };
  Transport transport = Transport::kOk;
  int http_status = 0;
};

// What to do after an attempt.
enum class AttemptVerdict { kSuccess, kRetry, kPermanentFailure };

// ClassifyAttempt applies the rules above: 200/204 success; 429 and 5xx retry; any other
// status (1xx, other 2xx, 3xx, 4xx) permanent; connection errors and timeouts retry.
AttemptVerdict ClassifyAttempt(const AttemptResult& attempt);

// BackoffDelay is the pause before retry number `retry` (1-based): initial * 2^(retry-1),
// capped at `max`, scaled by `jitter` (a uniform draw in [0.5, 1.0]).
absl::Duration BackoffDelay(int retry, absl::Duration initial, absl::Duration max, double jitter);

struct DeliveryJob {
  // For outcomes and logs only.
  std::string tenant;
  std::string client_id;
  // The validated backchannel_logout_uri (https, or loopback http when the policy allowed it).
  std::string uri;
  // The token of the first attempt (the one the plan returned); empty: mint one.
  std::string first_token;
  // Returns a freshly signed token (new jti, iat = now) for each further attempt. Called on a
  // worker thread; must be thread-safe and keep what it signs with alive. A non-OK status ends
  // the job as kGaveUp.
  std::function<absl::StatusOr<std::string>()> mint_token;
};

struct DeliveryOutcome {
  std::string tenant;
  std::string client_id;
  // scheme://host[:port] of the URI (never the path or query).
  std::string uri_origin;
  DeliveryResult result = DeliveryResult::kDropped;
  // HTTP attempts made (0 when dropped).
  int attempts = 0;
  // The last HTTP status received (0: none).
  int last_http_status = 0;
  // A short machine-readable note on the last failure: "", "connect_error", "timeout",
  // "http_status", "invalid_uri", "mint_failed", "queue_full", "shutting_down", "deadline".
  std::string detail;
  absl::Duration elapsed;
};

struct BackchannelDeliveryOptions {
  // Worker threads (each runs one job at a time).
  int workers = 4;
  // Jobs waiting for a worker beyond this are dropped (the RPC never blocks).
  size_t queue_capacity = 1024;
  // Per attempt: connecting, and the whole request.
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration attempt_timeout = absl::Seconds(5);
  // Per job, from when a worker takes it: no attempt starts (or runs) past this.
  absl::Duration total_timeout = absl::Seconds(30);
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(8);
  // Bytes of a response body read before the transfer is cut (the body is discarded).
  size_t max_response_bytes = 4096;
};

// BackchannelDeliverer owns the worker pool. Thread safety: Enqueue and Shutdown may be called
// from any thread; `observer` is called on worker threads (or on the Enqueue caller's thread
// for kDropped) and must be thread-safe and not block for long.
class BackchannelDeliverer {
 public:
  using Observer = std::function<void(const DeliveryOutcome&)>;

  BackchannelDeliverer(const BackchannelDeliveryOptions& options, Observer observer);
  // Shutdown(absl::ZeroDuration()) unless already shut down.
  ~BackchannelDeliverer();

  BackchannelDeliverer(const BackchannelDeliverer&) = delete;
  BackchannelDeliverer& operator=(const BackchannelDeliverer&) = delete;

  // Enqueue hands `job` to a worker and returns true, or reports it kDropped (queue full or
  // shutting down) and returns false. Never blocks on the network.
  bool Enqueue(DeliveryJob job);

  // Shutdown stops accepting jobs and lets the workers keep delivering for up to `grace`;
  // then in-flight attempts are aborted and whatever is left is reported kGaveUp
  // ("shutting_down"). Idempotent; returns when every worker has stopped.
  void Shutdown(absl::Duration grace);

 private:
  void WorkerLoop();
  DeliveryOutcome Deliver(DeliveryJob& job);
  // Sleeps for `d` or until the hard stop; false if stopped.
  bool SleepUnlessStopped(absl::Duration d);

  const BackchannelDeliveryOptions options_;
  const Observer observer_;
  absl::Mutex mu_;
  std::deque<DeliveryJob> queue_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  // Workers exit once the queue is empty and accepting_ is false.
  bool hard_stop_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Jobs a worker is running.
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  // Mirrors hard_stop_ for libcurl's progress callback (aborts in-flight attempts).
  std::atomic<bool> stop_flag_{false};
  std::vector<std::thread> workers_;
};

// OriginOf returns scheme://host[:port] of an absolute URI, or "" when it has none.
std::string OriginOf(absl::string_view uri);

}  // namespace logout::slo

#endif  // SERVICE_SLO_BACKCHANNEL_DELIVERY_H_
