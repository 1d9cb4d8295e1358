// Delivers the notification outbox (service/store/outbox.h): back-channel logout tokens and
// Shared Signals SETs, at least once, by any replica.
//
//   OutboxDeliverer d(std::move(outbox), options, preparer, observer, "replica-a");
//   d.Start();
//   d.Enqueue(std::move(jobs), /*wait_until=*/absl::InfinitePast(),
//             [](absl::Status committed, std::vector<store::OutboxJob> jobs) {
//               ...  // the jobs are durable (ids set), or `committed` says why not
//             });
//
// Threads: a committer (group commit: every Enqueue waiting, and every attempt's result, go in
// one transaction each), a poller (claims due jobs with a lease, releases leases it cannot use
// in time, ends waits, refreshes statistics, prunes) and `workers` senders.
//
// Rules:
//  - A job enqueued here starts leased to this replica and is attempted at once (the first
//    attempt may send the token the plan returned, which is held in memory only). Jobs of
//    other replicas, retries and jobs left by a crash are claimed when due, oldest first.
//  - Every further attempt sends a freshly minted token (`preparer`), so each has its own jti.
//  - Success, a permanent failure (ClassifyAttempt) or a client / stream removed from the
//    policy ends a job. A transient failure schedules a retry after a jittered exponential
//    backoff (or the receiver's Retry-After); a retry that would start after the job's horizon
//    makes it a dead letter instead.
//  - Per origin (scheme://host:port): at most `per_origin_concurrency` attempts at once, and a
//    circuit that opens after `circuit_threshold` consecutive transient failures: while open,
//    that origin's jobs are not claimed and those in memory go back to the table; after a
//    backoff one attempt at a time probes it. One dead receiver cannot hold every worker.
//  - Nothing is held only in memory: a job in memory is also a leased row. The memory queue is
//    bounded (`max_in_memory`); beyond it jobs wait in the table.
#ifndef SERVICE_SLO_OUTBOX_DELIVERER_H_
#define SERVICE_SLO_OUTBOX_DELIVERER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/store/outbox.h"

namespace logout::slo {

struct OutboxDeliveryOptions {
  int workers = 8;
  int per_origin_concurrency = 2;
  // How long a job keeps being retried (from when it was planned).
  absl::Duration horizon = absl::Hours(24);
  // How long a claim holds a job; another replica takes it over after that.
  absl::Duration lease = absl::Seconds(30);
  // How often the table is polled for due jobs (also right after a retry is scheduled).
  absl::Duration poll_interval = absl::Milliseconds(250);
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration attempt_timeout = absl::Seconds(5);
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(5);
  // Consecutive transient failures of one origin that open its circuit.
  int circuit_threshold = 5;
  // Claimed jobs held in memory at most.
  size_t max_in_memory = 4096;
  int claim_batch = 256;
  size_t max_response_bytes = 4096;
  // Finished (delivered / rejected) jobs kept for listing; dead letters kept this long.
  int64_t keep_finished = 100000;
  absl::Duration keep_dead = absl::Hours(24 * 30);
  // How often the statistics are read (for metrics).
  absl::Duration stats_interval = absl::Seconds(5);
};

// What one attempt POSTs: built per attempt from the job and the live policy.
struct PreparedRequest {
  // Where to POST ("": the job's stored URI).
  std::string uri;
  std::string content_type;
  std::string body;
  // The Authorization header value, or "".
  std::string authorization;
};
// NotFoundError: the client or stream is no longer in the policy (the job is rejected);
// InvalidArgumentError: the job can no longer be signed as it is (rejected, "mint_refused");
// any other error: retried like a transient failure ("mint_failed").
using Preparer = std::function<absl::StatusOr<PreparedRequest>(const store::OutboxJob& job)>;

// A job to enqueue, with the plan's own request for the first attempt (memory only, may be
// empty) and when that request stops being usable (its token's exp).
struct NewJob {
  store::OutboxJob job;
  PreparedRequest first;
  absl::Time first_usable_until;
};

// What the observer hears: every attempt, and how each job ended.
struct DeliveryReport {
  const store::OutboxJob* job = nullptr;
  // "delivered", "rejected", "retry" or "dead".
  std::string result;
  int32_t http_status = 0;
  std::string detail;
  // Planned → this report.
  absl::Duration since_created;
  bool attempted = true;
};

// Gauges the poller refreshes.
struct OutboxGauges {
  int64_t pending = 0;
  int64_t dead = 0;
  absl::Duration oldest_due_age;
};

struct DeliveryObserver {
  std::function<void(const DeliveryReport&)> on_report;
  std::function<void(const OutboxGauges&)> on_gauges;
  std::function<void(int takeovers)> on_takeovers;
  // Results this replica recorded too late: another replica had taken the job over (its
  // lease expired mid-attempt), so the receiver may get the job twice.
  std::function<void(int jobs)> on_lost_leases;
  // Jobs committed by Enqueue, per group commit.
  std::function<void(const std::vector<store::OutboxJob>& jobs)> on_enqueued;
  std::function<void(const absl::Status&)> on_store_error;
};

class OutboxDeliverer {
 public:
  using EnqueueDone = std::function<void(absl::Status, std::vector<store::OutboxJob>)>;

  OutboxDeliverer(std::unique_ptr<store::Outbox> outbox, const OutboxDeliveryOptions& options,
                  Preparer preparer, DeliveryObserver observer, std::string owner);
  ~OutboxDeliverer();
  OutboxDeliverer(const OutboxDeliverer&) = delete;
  OutboxDeliverer& operator=(const OutboxDeliverer&) = delete;

  // Start voids a single-process store's stale leases and starts the threads.
  absl::Status Start();

  // Enqueue makes `jobs` durable (with the next group commit) and calls `done` once, on a
  // deliverer thread: with UnavailableError when the commit failed (nothing was enqueued);
  // otherwise with the jobs (ids set) right after the commit when `wait_until` has passed, or
  // else once every job is final or at `wait_until`, with each job's state then (read from the
  // store at the deadline, so another replica's deliveries count).
  void Enqueue(std::vector<NewJob> jobs, absl::Time wait_until, EnqueueDone done);

  // EndWaits answers every call waiting for deliveries now, with what is known, and makes
  // later calls answer right after their commit (shutting down).
  void EndWaits();

  store::Outbox* outbox() { return outbox_.get(); }
  const OutboxDeliveryOptions& options() const { return options_; }

  // Shutdown stops claiming, lets attempts in flight finish for up to `grace` (then aborts
  // them), records every result, and releases this replica's leases so the next process (or
  // another replica) takes the jobs over at once. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  struct Held;
  struct Origin {
    int in_flight = 0;
    int failures = 0;
    absl::Time open_until = absl::InfinitePast();
  };
  struct Waiter;
  struct PendingEnqueue {
    std::vector<NewJob> jobs;
    absl::Time wait_until;
    EnqueueDone done;
  };

  void CommitterLoop();
  void PollerLoop();
  void WorkerLoop();
  void Attempt(Held& held);
  // Records a job's result: queues its settlement, tells the observer and any waiter.
  void Finish(const Held& held, store::Settlement settlement, const std::string& result,
              bool attempted);
  // Moves a job in memory back to the table without an attempt (due at `due`).
  void Release(const Held& held, absl::Time due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Poll();
  void ExpireWaiters(absl::Time now, bool all);
  // Records `job`'s new state for its waiters; returns the waiters now complete.
  std::vector<std::shared_ptr<Waiter>> UpdateWaiters(const store::OutboxJob& job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration Jittered(int step, absl::Duration initial, absl::Duration max);

  std::unique_ptr<store::Outbox> outbox_;
  const OutboxDeliveryOptions options_;
  const Preparer preparer_;
  const DeliveryObserver observer_;
  const std::string owner_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_now_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool waits_ended_ ABSL_GUARDED_BY(mu_) = false;
  // Jobs handed to Enqueue and not yet taken by the committer.
  size_t enqueued_jobs_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped whenever a worker may find work it could not before.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::unique_ptr<Held>> ready_ ABSL_GUARDED_BY(mu_);
  // Ids of jobs in memory (ready or in flight) or whose result is not committed yet, so a
  // claim never holds one twice.
  absl::flat_hash_map<uint64_t, bool> held_ids_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Origin> origins_ ABSL_GUARDED_BY(mu_);
  std::vector<PendingEnqueue> enqueues_ ABSL_GUARDED_BY(mu_);
  std::vector<store::Settlement> settlements_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, std::vector<std::shared_ptr<Waiter>>> waiters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Waiter>> waiter_list_ ABSL_GUARDED_BY(mu_);
  absl::Time next_stats_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time next_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  std::atomic<bool> abort_{false};
  std::thread committer_;
  std::thread poller_;
  std::vector<std::thread> workers_;
};

}  // namespace logout::slo

#endif  // SERVICE_SLO_OUTBOX_DELIVERER_H_
