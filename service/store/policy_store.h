// Where the declarative policy lives: one versioned PolicyConfig document plus an audit trail,
// and the back-channel delivery audit (one row per finished delivery job, bounded).
// Implementations: SQLite (embedded default, one replica) and PostgreSQL (many replicas).
//
//   auto store = OpenPolicyStore("sqlite:/var/lib/logoutd/logoutd.db");
//   absl::StatusOr<StoredPolicy> p = (*store)->Load();
//   absl::StatusOr<StoredPolicy> w = (*store)->Update([&](v1::PolicyConfig& config)
//       -> absl::StatusOr<v1::AuditEvent> { /* check etag, mutate, validate */ });
#ifndef SERVICE_STORE_POLICY_STORE_H_
#define SERVICE_STORE_POLICY_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/admin.pb.h"
#include "logout/v1/policy.pb.h"

namespace logout::store {

// StoredPolicy is one committed version of the policy. Version 0 with an empty config means
// the store has never been written.
struct StoredPolicy {
  uint64_t version = 0;
  v1::PolicyConfig config;
};

// A mutation runs inside the store's write transaction on the current committed policy. It
// checks preconditions (etag), changes `config` in place, validates the result, and returns
// the audit event describing the write (the store fills `policy_version` and `time`). A
// non-OK status aborts the transaction and is returned unchanged by Update. It must not do
// I/O and must be deterministic: it may run more than once if the store retries.
using Mutation = std::function<absl::StatusOr<v1::AuditEvent>(v1::PolicyConfig& config)>;

// PolicyStore is thread-safe: every method may be called from any thread.
class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // Load returns the latest committed policy. UnavailableError when the store cannot be read.
  virtual absl::StatusOr<StoredPolicy> Load() = 0;

  // Update applies `mutation` in one transaction: read the current policy (locked against
  // concurrent writers, on every replica), run the mutation, write the new policy with
  // version + 1 and the audit event, commit. Returns the committed policy. Errors: the
  // mutation's own status; UnavailableError when the store fails (nothing is written).
  // A crash at any point leaves either the old or the new policy, never a mix.
  virtual absl::StatusOr<StoredPolicy> Update(const Mutation& mutation) = 0;

  // ListAudit returns up to `limit` events older than `before_version` (0 = newest), newest
  // first.
  virtual absl::StatusOr<std::vector<v1::AuditEvent>> ListAudit(uint64_t before_version,
                                                                uint32_t limit) = 0;

  // AppendDeliveryEvents records finished back-channel delivery jobs (the delivery audit) in one
  // transaction; the store assigns each an increasing `id` (ignoring the one given) and keeps
  // `time` (now when unset). Afterwards it deletes the oldest rows so that at most
  // delivery_retention() remain. UnavailableError when the store fails (nothing is written).
  virtual absl::Status AppendDeliveryEvents(
      const std::vector<v1::BackchannelDeliveryEvent>& events) = 0;

  // ListDeliveryEvents returns up to `page_size` (at most 1000) delivery events with
  // id < `before_id` (0 = from the newest), newest first; only `tenant`'s unless it is empty.
  virtual absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> ListDeliveryEvents(
      const std::string& tenant, uint64_t before_id, int page_size) = 0;

  // The delivery audit keeps at most this many rows (default kDefaultDeliveryRetention; tests
  // lower it). Values below 1 mean 1.
  static constexpr int64_t kDefaultDeliveryRetention = 100000;
  void SetDeliveryRetention(int64_t max_rows) {
    delivery_retention_.store(max_rows < 1 ? 1 : max_rows);
  }
  int64_t delivery_retention() const { return delivery_retention_.load(); }

  // WatchChanges starts delivering `on_change(version)` (from a store-owned thread) whenever
  // another process may have committed a newer version; the callee then calls Load(). The
  // SQLite store never calls it (one writer process); PostgreSQL uses LISTEN/NOTIFY plus a
  // periodic version check. Call at most once; the callback must outlive the store.
  virtual void WatchChanges(std::function<void(uint64_t version)> on_change) = 0;

 private:
  std::atomic<int64_t> delivery_retention_{kDefaultDeliveryRetention};
};

// OpenPolicyStore opens "sqlite:PATH" (creating the file and schema) or "postgres://..." /
// "postgresql://..." (creating or migrating the schema). InvalidArgumentError for an unknown
// scheme; UnavailableError when the database cannot be opened. Secrets in the URL are never
// put into error messages.
absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPolicyStore(absl::string_view url);

}  // namespace logout::store

#endif  // SERVICE_STORE_POLICY_STORE_H_
