#include "service/server/policy_reconciler.h"

#include <utility>

namespace logout::server {

PolicyReconciler::PolicyReconciler(store::PolicyWriter* writer, Observer observe,
                                   absl::Duration retry_interval)
    : writer_(writer), observe_(std::move(observe)) {
  retry_ = std::make_unique<PeriodicTask>(retry_interval, [this] {
    const uint64_t wanted = announced_.load();
    if (wanted > writer_->applied_revision()) Reload(wanted);
  });
}

void PolicyReconciler::Announce(uint64_t version) {
  uint64_t seen = announced_.load();
  while (version > seen && !announced_.compare_exchange_weak(seen, version)) {
  }
  Reload(version);
}

void PolicyReconciler::Reload(uint64_t version) {
  absl::MutexLock lock(&reload_mu_);
  observe_(version, writer_->CatchUp());
}

}  // namespace logout::server
