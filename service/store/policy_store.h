// Where the declarative policy lives: one row per tenant, a global revision that every write
// raises by one, a change log (revision, tenant, upsert|delete) that replicas read to reload
// only what changed, an audit trail, and the back-channel delivery audit (one row per finished
// delivery job, bounded). Implementations: SQLite (embedded default, one replica) and
// PostgreSQL (many replicas). See schema.md.
//
//   auto store = OpenPolicyStore("sqlite:/var/lib/logoutd/logoutd.db");
//   absl::StatusOr<StoredPolicy> p = (*store)->Load();
//   absl::StatusOr<uint64_t> r = (*store)->UpdateTenant("acme", [&](v1::PolicyConfig& config)
//       -> absl::StatusOr<v1::AuditEvent> { /* check etag, mutate, validate */ });
//   absl::StatusOr<StoredChanges> c = (*store)->LoadChanges(r_applied);
#ifndef SERVICE_STORE_POLICY_STORE_H_
#define SERVICE_STORE_POLICY_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/admin.pb.h"
#include "logout/v1/policy.pb.h"

namespace logout::store {

// StoredPolicy is the whole policy at one revision, tenants in name order. Version 0 with an
// empty config means the store has never been written.
struct StoredPolicy {
  uint64_t version = 0;
  v1::PolicyConfig config;
};

// One tenant as the change log reports it: its current configuration (nullopt: deleted) and
// the revision that last wrote it.
struct StoredTenant {
  std::string name;
  uint64_t revision = 0;
  std::optional<v1::Tenant> config;
};

// StoredChanges is what changed after a revision: every tenant written or deleted since, each
// in its state at `revision` (a tenant written twice appears once). When the change log no
// longer reaches back that far (it is pruned), `complete` is false and the caller loads
// everything instead.
struct StoredChanges {
  uint64_t revision = 0;
  bool complete = true;
  std::vector<StoredTenant> tenants;
};

// A mutation runs inside the store's write transaction on the current committed policy (for
// UpdateTenant: on a policy holding only that tenant, or no tenant when it does not exist). It
// checks preconditions (etag), changes `config` in place, validates the result, and returns
// the audit event describing the write (the store fills `policy_version` and `time`). A
// non-OK status aborts the transaction and is returned unchanged. It must not do I/O and must
// be deterministic: it may run more than once if the store retries.
using Mutation = std::function<absl::StatusOr<v1::AuditEvent>(v1::PolicyConfig& config)>;

// PolicyStore is thread-safe: every method may be called from any thread.
class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // Load returns the latest committed policy (one consistent read). UnavailableError when the
  // store cannot be read; DataLossError when a stored tenant does not parse.
  virtual absl::StatusOr<StoredPolicy> Load() = 0;

  // LoadChanges returns the tenants changed after revision `after` (one consistent read).
  virtual absl::StatusOr<StoredChanges> LoadChanges(uint64_t after) = 0;

  // UpdateTenant applies `mutation` to tenant `name` in one transaction that reads and locks
  // only that tenant's row (writers of other tenants proceed concurrently, on every replica):
  // the mutation may change, create or delete the tenant and must leave no other one
  // (InternalError otherwise). The row, a change-log entry, the audit event and the revision
  // (+1) commit together. Returns the committed revision. Errors: the mutation's own status;
  // UnavailableError when the store fails (nothing is written).
  virtual absl::StatusOr<uint64_t> UpdateTenant(const std::string& name,
                                                const Mutation& mutation) = 0;

  // Update applies a policy-wide `mutation` (an import) in one transaction that locks out
  // every other writer: read every tenant, run the mutation, rewrite only the tenants whose
  // content changed (the others keep their rows and revisions), one revision for the whole
  // write. Returns the committed policy. Errors as UpdateTenant. A crash at any point leaves
  // either the old or the new policy, never a mix.
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
  // The change log keeps this many revisions (default kDefaultChangeLogRetention; tests lower
  // it); a replica further behind reloads everything. Values below 1 mean 1.
  static constexpr uint64_t kDefaultChangeLogRetention = 100000;
  void SetChangeLogRetention(uint64_t revisions) {
    change_log_retention_.store(revisions < 1 ? 1 : revisions);
  }
  uint64_t change_log_retention() const { return change_log_retention_.load(); }

  void SetDeliveryRetention(int64_t max_rows) {
    delivery_retention_.store(max_rows < 1 ? 1 : max_rows);
  }
  int64_t delivery_retention() const { return delivery_retention_.load(); }

  // WatchChanges starts delivering `on_change(revision)` (from a store-owned thread) whenever
  // another process may have committed a newer revision; the callee then calls LoadChanges().
  // The SQLite store never calls it (one writer process); PostgreSQL uses LISTEN/NOTIFY plus a
  // periodic revision check. Call at most once; the callback must outlive the store.
  virtual void WatchChanges(std::function<void(uint64_t version)> on_change) = 0;

 private:
  std::atomic<int64_t> delivery_retention_{kDefaultDeliveryRetention};
  std::atomic<uint64_t> change_log_retention_{kDefaultChangeLogRetention};
};

// OpenPolicyStore opens "sqlite:PATH" (creating the file and schema) or "postgres://..." /
// "postgresql://..." (creating or migrating the schema). InvalidArgumentError for an unknown
// scheme; UnavailableError when the database cannot be opened. Secrets in the URL are never
// put into error messages.
absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPolicyStore(absl::string_view url);

}  // namespace logout::store

#endif  // SERVICE_STORE_POLICY_STORE_H_
