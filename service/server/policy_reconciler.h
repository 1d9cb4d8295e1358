// Keeps this replica's snapshot at the store's newest policy: the store announces versions
// (LISTEN/NOTIFY, polling) and the reconciler reloads; a reload that failed (a database blip) is
// retried until the snapshot catches up, instead of waiting for the next write to announce
// itself.
//
//   PolicyReconciler reconciler(&writer, [](uint64_t revision, const absl::Status& s) {...});
//   store->WatchChanges([&](uint64_t v) { reconciler.Announce(v); });
#ifndef SERVICE_SERVER_POLICY_RECONCILER_H_
#define SERVICE_SERVER_POLICY_RECONCILER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/server/periodic_task.h"
#include "service/store/policy_writer.h"
#include "service/store/snapshot_holder.h"

namespace logout::server {

// PolicyReconciler is thread-safe; `writer` must outlive it.
class PolicyReconciler {
 public:
  // `observe` runs after every reload with the announced version and the reload's status (OK:
  // the snapshot is the store's newest; an error: the last good snapshot keeps serving).
  using Observer = std::function<void(uint64_t version, const absl::Status& reload)>;

  PolicyReconciler(store::PolicyWriter* writer, Observer observe,
                   absl::Duration retry_interval = absl::Seconds(2));

  // Announce says the store may hold `version`: reload now, on the calling thread.
  void Announce(uint64_t version);

  // StopRetrying ends the retries (before the store they read goes away); Announce still works.
  void StopRetrying() { retry_.reset(); }

 private:
  void Reload(uint64_t version);

  store::PolicyWriter* const writer_;
  const Observer observe_;
  // The newest version the store announced.
  std::atomic<uint64_t> announced_{0};
  // One reload at a time (the store's watcher and the retries): a retry's failure is never
  // reported after a newer success.
  absl::Mutex reload_mu_;
  std::unique_ptr<PeriodicTask> retry_;  // last: its thread reads the fields above
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_POLICY_RECONCILER_H_
