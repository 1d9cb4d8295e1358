// Holds the current policy snapshot; readers take it once per request, writers swap it whole.
//
//   SnapshotHolder holder;
//   holder.Swap(std::move(new_snapshot));                // after a fully successful build
//   holder.Publish([&](const CompiledPolicy* live) { return CompiledPolicy::WithChanges(...); });
//   std::shared_ptr<const CompiledPolicy> s = holder.Get();  // nullptr until the first swap
#ifndef SERVICE_STORE_SNAPSHOT_HOLDER_H_
#define SERVICE_STORE_SNAPSHOT_HOLDER_H_

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "service/policy/compiled_policy.h"

namespace logout::store {

// SnapshotHolder is one atomically swapped pointer to an immutable CompiledPolicy.
// Thread-safe: Get and Swap may run concurrently from any thread.
class SnapshotHolder {
 public:
  // Get returns the live snapshot, or nullptr when none has been installed yet.
  std::shared_ptr<const policy::CompiledPolicy> Get() const {
    return current_.load(std::memory_order_acquire);
  }
  // InstallIfNewer installs `next` unless the live snapshot already has an equal or higher
  // version (a replica may hear of its own write twice, or of writes out of order). Returns
  // whether it was installed.
  bool InstallIfNewer(const std::shared_ptr<const policy::CompiledPolicy>& next) {
    std::shared_ptr<const policy::CompiledPolicy> current =
        current_.load(std::memory_order_acquire);
    while (current == nullptr || current->version() < next->version()) {
      if (current_.compare_exchange_weak(current, next, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  // Publish installs make(current) (current: the live snapshot or nullptr) unless it returns
  // nullptr. Publishers run one at a time, so none loses another's change; readers never wait.
  template <typename Make>
  void Publish(Make make) {
    absl::MutexLock lock(&publish_mu_);
    std::shared_ptr<const policy::CompiledPolicy> next =
        make(current_.load(std::memory_order_acquire).get());
    if (next != nullptr) current_.store(std::move(next), std::memory_order_release);
  }

  // Swap installs `next` (which must be non-null and fully built) and returns the previous one.
  std::shared_ptr<const policy::CompiledPolicy> Swap(
      std::shared_ptr<const policy::CompiledPolicy> next) {
    return current_.exchange(std::move(next), std::memory_order_acq_rel);
  }

 private:
  absl::Mutex publish_mu_;
  std::atomic<std::shared_ptr<const policy::CompiledPolicy>> current_;
};

}  // namespace logout::store

#endif  // SERVICE_STORE_SNAPSHOT_HOLDER_H_
