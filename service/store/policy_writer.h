// Applies admin writes and keeps this replica's snapshot at the store's revision. A tenant
// write is one store transaction on that tenant's row, validated by compiling that tenant
// inside it; an import is one transaction on the whole policy that compiles only the tenants
// it changes. The new snapshot (every untouched tenant shared) is installed on this replica as
// soon as the write commits, so a decision made after the admin RPC returns sees it. CatchUp
// applies what other replicas wrote, read from the store's change log.
//
//   PolicyWriter writer(store.get(), &holder);
//   absl::StatusOr<uint64_t> r = writer.WriteTenant("token:ab12", "acme",
//                                                   [&](v1::PolicyConfig& c) { ... });
//   absl::Status s = writer.CatchUp();  // after a NOTIFY, or from the periodic check
#ifndef SERVICE_STORE_POLICY_WRITER_H_
#define SERVICE_STORE_POLICY_WRITER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "service/store/policy_store.h"
#include "service/store/snapshot_holder.h"

namespace logout::store {

// PolicyWriter is thread-safe; `store` (may be null: read-only) and `holder` must outlive it.
class PolicyWriter {
 public:
  // `on_installed` (optional) runs after every snapshot this writer installs (e.g. to report
  // SERVING once the first policy is live).
  PolicyWriter(PolicyStore* store, SnapshotHolder* holder,
               std::function<void()> on_installed = nullptr, policy::PolicyOptions options = {})
      : store_(store), holder_(holder), on_installed_(std::move(on_installed)), options_(options) {}

  // WriteTenant runs `apply` on tenant `tenant` alone (a policy holding it, or nothing when it
  // does not exist; see PolicyStore::UpdateTenant) in one transaction, compiles the result (an
  // invalid tenant aborts the write with the compiler's InvalidArgumentError naming tenant,
  // client and entry), stamps the audit event with `actor`, commits, installs the snapshot and
  // returns the committed revision. FailedPreconditionError when there is no store (read-only
  // GitOps mode). Other errors come from `apply` or the store, and nothing is written.
  absl::StatusOr<uint64_t> WriteTenant(absl::string_view actor, const std::string& tenant,
                                       const Mutation& apply);

  // Write is WriteTenant for a policy-wide `apply` (an import): it sees and may change every
  // tenant; only the tenants it changes are compiled and rewritten.
  absl::StatusOr<uint64_t> Write(absl::string_view actor, const Mutation& apply);

  // Preview runs `apply` on the latest committed policy and compiles the result exactly as
  // Write does, but commits and installs nothing. Returns the version it was computed against;
  // errors as Write.
  absl::StatusOr<uint64_t> Preview(const Mutation& apply);

  // CatchUp brings the snapshot to the store's revision: the tenants changed since the last
  // applied revision are read from the change log and recompiled (a tenant this replica already
  // holds at that revision, e.g. its own write, is not); when the log no longer reaches back
  // that far (or nothing was applied yet) the whole policy is loaded. A tenant that no longer
  // compiles is not installed (its last good version keeps serving), the applied revision
  // stays behind it, and its error is returned. Revision 0 (never written) installs nothing.
  absl::Status CatchUp();

  // InstallLoaded installs a policy just read with Load (start-up), as CatchUp would.
  absl::Status InstallLoaded(StoredPolicy stored);

  // The store revision this replica has applied everything up to (0: none).
  uint64_t applied_revision() const { return applied_.load(std::memory_order_acquire); }

  // ListAudit passes through to the store (empty in read-only mode).
  absl::StatusOr<std::vector<v1::AuditEvent>> ListAudit(uint64_t before_version, uint32_t limit) {
    if (store_ == nullptr) return std::vector<v1::AuditEvent>();
    return store_->ListAudit(before_version, limit);
  }

  // ListDeliveryEvents passes through to the store's back-channel delivery audit;
  // FailedPreconditionError in read-only mode (there deliveries are only in the logs).
  absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> ListDeliveryEvents(
      const std::string& tenant, uint64_t before_id, int page_size) {
    if (store_ == nullptr) {
      return absl::FailedPreconditionError(
          "this logoutd has no store (--store=file): back-channel deliveries are only in the "
          "logs (\"backchannel delivery\" lines)");
    }
    return store_->ListDeliveryEvents(tenant, before_id, page_size);
  }

  bool read_only() const { return store_ == nullptr; }

 private:
  // Install publishes `changes` at `revision` and advances the applied revision over every
  // revision this replica has now installed without a gap.
  void Install(const std::vector<policy::TenantChange>& changes, uint64_t revision);
  void Advance(uint64_t revision) ABSL_LOCKS_EXCLUDED(applied_mu_);
  absl::Status InstallFull(StoredPolicy stored);

  PolicyStore* const store_;
  SnapshotHolder* const holder_;
  const std::function<void()> on_installed_;
  const policy::PolicyOptions options_;
  // One catch-up at a time.
  absl::Mutex catch_up_mu_;
  std::atomic<uint64_t> applied_{0};
  absl::Mutex applied_mu_;
  // Revisions installed by this replica's own writes above applied_ (a gap below them is
  // another replica's write, which only CatchUp fills).
  std::set<uint64_t> installed_ ABSL_GUARDED_BY(applied_mu_);
};

}  // namespace logout::store

#endif  // SERVICE_STORE_POLICY_WRITER_H_
