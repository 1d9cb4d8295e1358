// The notification outbox: single-logout deliveries (back-channel logout tokens, Shared Signals
// SETs) kept in the policy store's database until they have a final result, so a crash, a
// rollout or a receiver that is down for hours loses none. Any replica delivers: it claims due
// jobs with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED), and a replica that dies holding
// leases has its jobs taken over when they expire. See schema.md, table logoutd_outbox.
//
//   LOGOUT_ASSIGN_OR_RETURN(std::unique_ptr<Outbox> outbox, OpenOutbox("sqlite:logoutd.db"));
//   outbox->Enqueue(jobs, {.owner = "replica-a", .until_micros = now + 60s});
//   std::vector<ClaimedJob> due = *outbox->Claim({.owner = "replica-a", ...});
//   outbox->Settle({{.id = 7, .owner = "replica-a", .state = JobState::kDelivered, ...}});
//
// A job carries what a fresh token is minted from (issuer, subject, session, initiator,
// event time), never a token, a signature or a secret: each attempt signs anew from the policy.
#ifndef SERVICE_STORE_OUTBOX_H_
#define SERVICE_STORE_OUTBOX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace logout::store {

// Where a job stands. Stable names (JobStateName) are stored and shown.
enum class JobState {
  kPending,    // "pending": waiting for its due time, or leased by a replica attempting it
  kDelivered,  // "delivered": the receiver accepted it
  kRejected,   // "rejected": a permanent failure (4xx other than 429, 3xx, bad URI, client gone)
  kDead,       // "dead": transient failures until its horizon passed (a dead letter)
};
absl::string_view JobStateName(JobState state);
// ParseJobState: false for an unknown name.
bool ParseJobState(absl::string_view name, JobState* state);

// What a job delivers. Stable names: "backchannel" (a logout token to a client's
// backchannel_logout_uri) and "set" (a Security Event Token to a Shared Signals receiver).
inline constexpr char kJobKindBackchannel[] = "backchannel";
inline constexpr char kJobKindSet[] = "set";

struct OutboxJob {
  // Store-assigned, increasing.
  uint64_t id = 0;
  std::string kind = kJobKindBackchannel;
  std::string tenant;
  // The client id (back-channel) or the stream id (SET).
  std::string target;
  // Where to POST, as validated when the job was planned.
  std::string uri;
  // scheme://host[:port] of `uri`: the unit of circuits and concurrency limits.
  std::string origin;
  // What each attempt's token is minted from.
  std::string iss;
  std::string sub;
  std::string sid;
  std::string initiator;
  int64_t event_time_micros = 0;
  int64_t created_micros = 0;
  // Not attempted before this.
  int64_t due_micros = 0;
  // The horizon: no attempt starts after this; the job becomes a dead letter instead.
  int64_t expires_micros = 0;
  int32_t attempts = 0;
  JobState state = JobState::kPending;
  // Why the last attempt failed or how the job ended: "", "connect_error", "timeout",
  // "http_status", "invalid_uri", "mint_failed", "mint_refused", "client_removed",
  // "stream_removed", "horizon".
  std::string detail;
  int32_t http_status = 0;
  int64_t finished_micros = 0;
  // Who holds it and until when (0: nobody).
  std::string lease_owner;
  int64_t lease_until_micros = 0;
};

struct Lease {
  std::string owner;
  int64_t until_micros = 0;
};

struct ClaimRequest {
  std::string owner;
  int64_t now_micros = 0;
  int64_t lease_until_micros = 0;
  int limit = 64;
  // Origins whose circuit is open: their jobs stay where they are.
  std::vector<std::string> skip_origins;
};

struct ClaimedJob {
  OutboxJob job;
  // The lease had been held by another owner and had expired: a takeover.
  bool taken_over = false;
};

// The result of an attempt (or of a release without one). Only applied while `owner` still
// holds the job's lease; otherwise the job is left to its new holder and Settle reports it
// lost.
struct Settlement {
  uint64_t id = 0;
  std::string owner;
  JobState state = JobState::kPending;
  int32_t attempts = 0;
  std::string detail;
  int32_t http_status = 0;
  // kPending: the next due time (the lease is released). Final states: when it ended.
  int64_t due_micros = 0;
  int64_t finished_micros = 0;
};

struct ListFilter {
  // Empty: every tenant.
  std::string tenant;
  // Empty: every state.
  std::vector<JobState> states;
  // Empty: every kind.
  std::string kind;
  // Jobs with id < before_id (0: from the newest), newest first.
  uint64_t before_id = 0;
  // Only these ids (empty: any).
  std::vector<uint64_t> ids;
  int limit = 100;
};

struct OutboxStats {
  int64_t pending = 0;
  int64_t dead = 0;
  // Due time of the oldest pending job that is due now (0: none is due).
  int64_t oldest_due_micros = 0;
};

// Outbox is thread-safe.
class Outbox {
 public:
  virtual ~Outbox() = default;

  // Enqueue inserts `jobs` (state pending) in one transaction and fills in their ids; when
  // `lease.owner` is set they start leased to it (the enqueuing replica attempts them first).
  // Returns only after the commit is durable. UnavailableError: nothing was written.
  virtual absl::Status Enqueue(std::vector<OutboxJob>& jobs, const Lease& lease) = 0;

  // Claim leases up to `limit` pending jobs that are due and not leased (or whose lease
  // expired), oldest due first, skipping `skip_origins`.
  virtual absl::StatusOr<std::vector<ClaimedJob>> Claim(const ClaimRequest& request) = 0;

  // Settle applies each settlement whose job `owner` still holds (lease not taken over); the
  // others are counted in the result (lost leases). One transaction.
  virtual absl::StatusOr<int> Settle(const std::vector<Settlement>& settlements) = 0;

  // ReleaseLeases clears every lease `owner` holds, or every lease when `owner` is empty (a
  // SQLite file has one process: its leases from before a crash are void at start).
  virtual absl::Status ReleaseLeases(const std::string& owner) = 0;

  virtual absl::StatusOr<std::vector<OutboxJob>> List(const ListFilter& filter) = 0;

  // Requeue makes dead letters (of `tenant`, or every tenant when empty; only `ids` when not
  // empty) pending again: due now, a new horizon, attempts kept. Returns how many.
  virtual absl::StatusOr<int64_t> Requeue(const std::string& tenant,
                                          const std::vector<uint64_t>& ids, int64_t now_micros,
                                          int64_t expires_micros) = 0;

  virtual absl::StatusOr<OutboxStats> Stats(int64_t now_micros) = 0;

  // Prune deletes delivered and rejected jobs beyond the newest `keep_finished`, and dead
  // letters that ended before `dead_before_micros`. Returns how many went.
  virtual absl::StatusOr<int64_t> Prune(int64_t keep_finished, int64_t dead_before_micros) = 0;

  // True when one process owns the database (SQLite): leases never need taking over.
  virtual bool single_process() const = 0;
};

// OpenOutbox opens the outbox of the store at `url` ("sqlite:PATH" or "postgres(ql)://..."),
// creating its table when missing, on connections of its own. InvalidArgumentError for
// another scheme; UnavailableError when the database cannot be opened.
absl::StatusOr<std::unique_ptr<Outbox>> OpenOutbox(absl::string_view url);

// Limits.
inline constexpr int kMaxOutboxPage = 1000;

}  // namespace logout::store

#endif  // SERVICE_STORE_OUTBOX_H_
