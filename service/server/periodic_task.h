// A background thread that runs one callback at a fixed interval until it is destroyed: the
// policy reconciler's retries and the credentials file watcher.
//
//   PeriodicTask task(absl::Seconds(2), [&] { RetryReload(); });
//   // ~PeriodicTask stops it and waits for a tick in progress.
#ifndef SERVICE_SERVER_PERIODIC_TASK_H_
#define SERVICE_SERVER_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace logout::server {

// PeriodicTask runs `tick` every `interval` (the first run one interval after construction) on
// a thread of its own, never two ticks at once. Destruction wakes the thread, waits for a tick
// in progress and joins: everything `tick` uses must outlive the task. Thread-safe.
class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, std::function<void()> tick);
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  void Run(absl::Duration interval) ABSL_LOCKS_EXCLUDED(mu_);

  const std::function<void()> tick_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace logout::server

#endif  // SERVICE_SERVER_PERIODIC_TASK_H_
