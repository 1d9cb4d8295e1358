// Applies admin writes: one store transaction per write, the whole resulting policy validated
// by the policy compiler inside it, and the new snapshot installed on this replica as soon as
// the write commits (so a decision made after the admin RPC returns sees it).
//
//   PolicyWriter writer(store.get(), &holder);
//   absl::StatusOr<uint64_t> v = writer.Write("token:ab12", [&](v1::PolicyConfig& c) { ... });
#ifndef SERVICE_STORE_POLICY_WRITER_H_
#define SERVICE_STORE_POLICY_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

  // Write runs `apply` on the current policy in one transaction, compiles the result (an
  // invalid policy aborts the write with the compiler's InvalidArgumentError naming tenant,
  // client and entry), stamps the audit event with `actor`, commits, installs the snapshot and
  // returns the committed version. FailedPreconditionError when there is no store (read-only
  // GitOps mode). Other errors come from `apply` or the store, and nothing is written.
  absl::StatusOr<uint64_t> Write(absl::string_view actor, const Mutation& apply);

  // Preview runs `apply` on the latest committed policy and compiles the result exactly as
  // Write does, but commits and installs nothing. Returns the version it was computed against;
  // errors as Write.
  absl::StatusOr<uint64_t> Preview(const Mutation& apply);

  // Reload loads the latest committed policy and installs it if it is newer than the live
  // snapshot. A policy that no longer compiles is not installed (the last good snapshot keeps
  // serving) and its error is returned. Version 0 (never written) installs nothing.
  absl::Status Reload();

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
  PolicyStore* const store_;
  SnapshotHolder* const holder_;
  const std::function<void()> on_installed_;
  const policy::PolicyOptions options_;
};

}  // namespace logout::store

#endif  // SERVICE_STORE_POLICY_WRITER_H_
