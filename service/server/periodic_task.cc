#include "service/server/periodic_task.h"

#include <utility>

namespace logout::server {

PeriodicTask::PeriodicTask(absl::Duration interval, std::function<void()> tick)
    : tick_(std::move(tick)), thread_([this, interval] { Run(interval); }) {}

PeriodicTask::~PeriodicTask() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void PeriodicTask::Run(absl::Duration interval) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
      if (stopping_) return;
    }
    tick_();
  }
}

}  // namespace logout::server
