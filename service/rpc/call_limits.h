// A process-wide bound on calls in progress: beyond it, calls are refused with
// RESOURCE_EXHAUSTED instead of queueing without limit.
//
//   ConcurrencyLimiter limiter(1000);
//   if (!limiter.TryAcquire()) return limiter.ExhaustedStatus();
//   ...; limiter.Release();
#ifndef SERVICE_RPC_CALL_LIMITS_H_
#define SERVICE_RPC_CALL_LIMITS_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace logout::rpc {

// ConcurrencyLimiter counts calls in progress. Thread-safe, lock-free.
class ConcurrencyLimiter {
 public:
  // `max` <= 0 means no bound. `on_reject` (optional) runs for every refused call.
  explicit ConcurrencyLimiter(int max, std::function<void()> on_reject = nullptr)
      : max_(max), on_reject_(std::move(on_reject)) {}
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // TryAcquire takes a slot; false (and nothing taken) when all are in use.
  bool TryAcquire() {
    const int before = in_flight_.fetch_add(1, std::memory_order_acq_rel);
    if (max_ > 0 && before >= max_) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      if (on_reject_) on_reject_();
      return false;
    }
    return true;
  }
  void Release() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int max() const { return max_; }

  grpc::Status ExhaustedStatus() const {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "logoutd is at its limit of " + std::to_string(max_) +
                " concurrent calls (--max_concurrent_rpcs); retry with backoff"};
  }

 private:
  const int max_;
  const std::function<void()> on_reject_;
  std::atomic<int> in_flight_{0};
};

// ConcurrencySlot holds one slot for a scope (synchronous handlers).
class ConcurrencySlot {
 public:
  explicit ConcurrencySlot(ConcurrencyLimiter* limiter)
      : limiter_(limiter), held_(limiter == nullptr || limiter->TryAcquire()) {}
  ~ConcurrencySlot() {
    if (limiter_ != nullptr && held_) limiter_->Release();
  }
  ConcurrencySlot(const ConcurrencySlot&) = delete;
  ConcurrencySlot& operator=(const ConcurrencySlot&) = delete;
  bool held() const { return held_; }

 private:
  ConcurrencyLimiter* const limiter_;
  const bool held_;
};

// DeadlineExpired is true when the caller's deadline has already passed (the answer would be
// thrown away): such calls get DEADLINE_EXCEEDED before any work.
inline bool DeadlineExpired(const grpc::ServerContextBase& context) {
  return context.deadline() < std::chrono::system_clock::now();
}

// Admission is what every call (decision and admin alike) passes before logoutd works on it:
// a concurrency slot, held for the scope of the Admission, and a deadline that has not passed.
//
//   const Admission admission(limiter, context);
//   if (!admission.status().ok()) return admission.status();
class Admission {
 public:
  Admission(ConcurrencyLimiter* limiter, const grpc::ServerContextBase& context) : slot_(limiter) {
    if (!slot_.held()) {
      status_ = limiter->ExhaustedStatus();
    } else if (DeadlineExpired(context)) {
      status_ = grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                             "the call's deadline passed before logoutd started it");
    }
  }
  // OK when the call may proceed; else RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED to answer with.
  const grpc::Status& status() const { return status_; }

 private:
  const ConcurrencySlot slot_;
  grpc::Status status_;
};

// NoPolicyStatus is the answer of a call that needs a policy before the first one is live.
inline grpc::Status NoPolicyStatus() {
  return {grpc::StatusCode::UNAVAILABLE, "no policy loaded yet"};
}

}  // namespace logout::rpc

#endif  // SERVICE_RPC_CALL_LIMITS_H_
