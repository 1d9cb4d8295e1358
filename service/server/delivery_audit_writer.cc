#include "service/server/delivery_audit_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/log.h"

namespace logout::server {

using common::LogEvent;
using common::LogLevel;

DeliveryAuditWriter::DeliveryAuditWriter(store::PolicyStore* store,
                                         std::function<void(const absl::Status&)> on_error,
                                         DeliveryAuditOptions options)
    : store_(store),
      on_error_(std::move(on_error)),
      options_(options),
      thread_([this] { Run(); }) {}

DeliveryAuditWriter::~DeliveryAuditWriter() { Shutdown(absl::ZeroDuration()); }

void DeliveryAuditWriter::Add(v1::BackchannelDeliveryEvent event) {
  absl::MutexLock lock(&mu_);
  if (!accepting_ || queue_.size() >= options_.queue_capacity) {
    ++dropped_;
    ++dropped_unlogged_;
    return;
  }
  queue_.push_back(std::move(event));
}

void DeliveryAuditWriter::Shutdown(absl::Duration grace) {
  absl::MutexLock shutdown(&shutdown_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      accepting_ = false;
      stop_deadline_ = absl::Now() + std::max(grace, absl::ZeroDuration());
    }
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t DeliveryAuditWriter::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

uint64_t DeliveryAuditWriter::written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

void DeliveryAuditWriter::Run() {
  const size_t batch_size = std::max<size_t>(options_.batch_size, 1);
  absl::Time next_flush = absl::Now() + options_.batch_interval;
  while (true) {
    std::vector<v1::BackchannelDeliveryEvent> batch;
    uint64_t newly_dropped = 0;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, batch_size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || queue_.size() >= batch_size;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_flush);
      if (stopping_ && (queue_.empty() || absl::Now() >= stop_deadline_)) {
        // Out of time (or nothing left): what is still queued is not recorded.
        dropped_ += queue_.size();
        dropped_unlogged_ += queue_.size();
        queue_.clear();
        stop = true;
      }
      const size_t n = std::min(batch_size, queue_.size());
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      newly_dropped = dropped_unlogged_;
      dropped_unlogged_ = 0;
    }
    if (newly_dropped > 0) {
      LogEvent(LogLevel::kWarning, "delivery audit events dropped (not in the store; see the logs)",
               {{"count", absl::StrCat(newly_dropped), true}});
    }
    if (stop) return;
    next_flush = absl::Now() + options_.batch_interval;
    if (batch.empty()) continue;
    const absl::Status status = store_->AppendDeliveryEvents(batch);
    {
      absl::MutexLock lock(&mu_);
      // A failed batch is dropped on purpose: each delivery is already in the log and metrics.
      (status.ok() ? written_ : dropped_) += batch.size();
    }
    if (!status.ok()) {
      LogEvent(
          LogLevel::kError, "cannot write the delivery audit; batch dropped",
          {{"events", absl::StrCat(batch.size()), true}, {"error", std::string(status.message())}});
      if (on_error_) on_error_(status);
    }
  }
}

}  // namespace logout::server
