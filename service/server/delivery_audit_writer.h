// Writes finished back-channel delivery jobs to the store's delivery audit in the background,
// so neither the delivery workers nor the decision path ever wait for the database.
//
//   DeliveryAuditWriter audit(store, [&](const absl::Status& s) { /* count, log */ });
//   audit.Add(event);                        // from any thread; never blocks on the store
//   audit.Shutdown(absl::Seconds(2));        // flush what is queued, then stop
//
// One thread takes up to `batch_size` events at a time, as soon as that many are queued or
// `batch_interval` after the previous batch, and hands them to
// PolicyStore::AppendDeliveryEvents. A batch the store refuses is reported to `on_error` and
// dropped (deliveries are never retried because their audit failed). Beyond `queue_capacity`
// waiting events, Add drops the event; the writer logs how many it dropped.
#ifndef SERVICE_SERVER_DELIVERY_AUDIT_WRITER_H_
#define SERVICE_SERVER_DELIVERY_AUDIT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "logout/v1/admin.pb.h"
#include "service/store/policy_store.h"

namespace logout::server {

struct DeliveryAuditOptions {
  size_t queue_capacity = 10000;
  size_t batch_size = 100;
  absl::Duration batch_interval = absl::Milliseconds(200);
};

// Thread-safe. `store` must outlive the writer (or its Shutdown).
class DeliveryAuditWriter {
 public:
  DeliveryAuditWriter(store::PolicyStore* store, std::function<void(const absl::Status&)> on_error,
                      DeliveryAuditOptions options = {});
  // Shutdown(absl::ZeroDuration()).
  ~DeliveryAuditWriter();
  DeliveryAuditWriter(const DeliveryAuditWriter&) = delete;
  DeliveryAuditWriter& operator=(const DeliveryAuditWriter&) = delete;

  // Add queues `event` (dropped when the queue is full or the writer is shut down).
  void Add(v1::BackchannelDeliveryEvent event) ABSL_LOCKS_EXCLUDED(mu_);

  // Shutdown writes what is queued, batch by batch, until the queue is empty or `grace` has
  // passed (the batch in flight then still finishes: the store bounds its own waits), drops
  // the rest (logged), and stops the thread. Later Adds are dropped. Idempotent.
  void Shutdown(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mu_);

  // Events dropped so far (queue full, shut down, or a failed batch).
  uint64_t dropped() const ABSL_LOCKS_EXCLUDED(mu_);
  // Events the store accepted so far.
  uint64_t written() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run();

  store::PolicyStore* const store_;
  const std::function<void(const absl::Status&)> on_error_;
  const DeliveryAuditOptions options_;
  mutable absl::Mutex mu_;
  std::deque<v1::BackchannelDeliveryEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_unlogged_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex shutdown_mu_;  // serialises Shutdown callers around the join
  std::thread thread_;       // last: starts after everything above is initialised
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_DELIVERY_AUDIT_WRITER_H_
