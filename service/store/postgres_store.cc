// The PostgreSQL policy store (see postgres_store.h and schema.md).
//
// Connections: a few write sessions (UpdateTenant, Update, the delivery audit) and a read
// session (Load, LoadChanges, ListAudit), each one connection behind its own mutex, plus the
// change watcher's own LISTEN connection once WatchChanges is called (postgres_watcher.h).
// Every SQL value goes through parameters, never into the text. Secrets from the URL
// (password, sslpassword) are scrubbed from every message we return (pg_util.h).
//
// Writers: a tenant write takes pg_advisory_xact_lock(kTenantLockClass, hashtext(name)) (so
// writers of one tenant serialise, including the one creating it, and writers of different
// tenants run concurrently) and the shared policy lock; an import takes the policy lock
// exclusively. Each then reads its rows, runs the mutation and, last, raises the revision row
// (`UPDATE ... RETURNING`): that row lock is held only from there to COMMIT, so revisions
// commit in order and a reader that sees revision R sees every change up to R.
//
// Failures: every libpq or SQL failure is UnavailableError (the transaction is rolled back); a
// stored body that does not parse is DataLossError. A connection found broken is reset once per
// call, and when it broke before COMMIT was sent the call is retried on the new connection (the
// mutation then runs again, as policy_store.h allows). If the connection breaks while COMMIT is
// in flight the outcome is unknown to us: the write returns UnavailableError although it may
// have committed (the watcher and the next read see it either way).
#include "service/store/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/status_macros.h"
#include "service/store/pg_util.h"
#include "service/store/postgres_watcher.h"
#include "service/store/tenant_rows.h"

namespace logout::store {
namespace {

using pg::Bytes;
using pg::ConnPtr;
using pg::Exec;
using pg::GetBytes;
using pg::GetInt;
using pg::Int8;
using pg::Param;
using pg::Redactor;
using pg::ResultPtr;
using pg::RunOnSession;
using pg::Session;
using pg::Text;
using pg::TimestampFromMicros;

// Schema version this code writes and understands. Version 3 keeps one row per tenant, the
// revision and the change log; 2 added logoutd_delivery_audit. EnsureSchema upgrades 1 and 2 in
// place.
constexpr int64_t kSchemaVersion = 3;
// Largest ListDeliveryEvents page, and events per INSERT statement (9 parameters each).
constexpr int kMaxDeliveryPage = 1000;
constexpr size_t kDeliveryRowsPerInsert = 500;
// pg_advisory_xact_lock keys (advisory locks are per database): one serialises schema
// creation; the policy lock is taken shared by tenant writes and exclusively by imports; the
// tenant lock class pairs with hashtext(name).
constexpr int64_t kSchemaLockKey = 0x6c6f676f75743031;  // "logout01"
constexpr int64_t kPolicyLockKey = 0x6c6f676f75743033;  // "logout03"
constexpr int64_t kTenantLockClass = 0x6c6f6733;        // "log3"
// Largest ListAudit page.
constexpr uint32_t kMaxAuditPage = 1000;
// Write connections per store: tenant writes on one replica run this many at a time.
constexpr int kWriteSessions = 3;

// EnsureSchema creates the tables when missing, checks the recorded schema version and
// upgrades a version 1 or 2 database in place (see schema.md), in one transaction.
absl::Status EnsureSchema(const Redactor& redactor, PGconn* conn) {
  auto body = [&redactor](PGconn* c) -> absl::Status {
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, "BEGIN").status());
    LOGOUT_RETURN_IF_ERROR(
        Exec(redactor, c, "SELECT pg_advisory_xact_lock($1)", {Int8(kSchemaLockKey)}).status());
    for (const char* sql : {
             "CREATE TABLE IF NOT EXISTS logoutd_schema (version INTEGER NOT NULL)",
             "CREATE TABLE IF NOT EXISTS logoutd_revision ("
             "id INTEGER PRIMARY KEY CHECK (id = 1), "
             "revision BIGINT NOT NULL, "
             "log_start BIGINT NOT NULL)",
             "CREATE TABLE IF NOT EXISTS logoutd_tenants ("
             "name TEXT PRIMARY KEY, "
             "revision BIGINT NOT NULL, "
             "body BYTEA NOT NULL, "
             "updated_at_micros BIGINT NOT NULL)",
             "CREATE TABLE IF NOT EXISTS logoutd_changes ("
             "revision BIGINT NOT NULL, "
             "tenant TEXT NOT NULL, "
             "op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')), "
             "time_micros BIGINT NOT NULL, "
             "PRIMARY KEY (revision, tenant))",
             "CREATE TABLE IF NOT EXISTS logoutd_audit ("
             "version BIGINT PRIMARY KEY, "
             "time_micros BIGINT NOT NULL, "
             "actor TEXT, action TEXT, object TEXT, "
             "before_json TEXT, after_json TEXT)",
             "CREATE TABLE IF NOT EXISTS logoutd_delivery_audit ("
             "id BIGSERIAL PRIMARY KEY, "
             "time_micros BIGINT NOT NULL, "
             "tenant TEXT NOT NULL, client_id TEXT NOT NULL, "
             "uri_origin TEXT NOT NULL, result TEXT NOT NULL, "
             "attempts INTEGER NOT NULL, http_status INTEGER NOT NULL, "
             "detail TEXT NOT NULL)",
             "CREATE INDEX IF NOT EXISTS logoutd_delivery_audit_tenant "
             "ON logoutd_delivery_audit (tenant, id)",
             "INSERT INTO logoutd_revision (id, revision, log_start) VALUES (1, 0, 1) "
             "ON CONFLICT (id) DO NOTHING",
         }) {
      LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, sql).status());
    }
    LOGOUT_ASSIGN_OR_RETURN(ResultPtr r,
                            Exec(redactor, c, "SELECT max(version)::bigint FROM logoutd_schema"));
    if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) {
      LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, "INSERT INTO logoutd_schema (version) VALUES ($1)",
                                  {Int8(kSchemaVersion)})
                                 .status());
      return Exec(redactor, c, "COMMIT").status();
    }
    LOGOUT_ASSIGN_OR_RETURN(const int64_t found, GetInt(r.get(), 0, 0));
    if (found != kSchemaVersion && found != 1 && found != 2) {
      return absl::UnavailableError(absl::StrCat(
          "the database has logoutd schema version ", found, "; this logoutd knows version ",
          kSchemaVersion, found > kSchemaVersion ? " (upgrade logoutd)" : " (unknown version)"));
    }
    if (found < kSchemaVersion) {
      // Versions 1 and 2 hold the whole policy in one document: one row per tenant at the
      // document's version, which becomes the revision; the change log starts after it.
      LOGOUT_ASSIGN_OR_RETURN(
          ResultPtr has_table,
          Exec(redactor, c, "SELECT (to_regclass('logoutd_policy') IS NOT NULL)::integer::bigint"));
      LOGOUT_ASSIGN_OR_RETURN(const int64_t table, GetInt(has_table.get(), 0, 0));
      ResultPtr old;
      if (table == 1) {
        // An older replica still running could be mid-write (it holds the row FOR UPDATE):
        // wait for it and keep everyone else out until the document is split and dropped.
        LOGOUT_RETURN_IF_ERROR(
            Exec(redactor, c, "LOCK TABLE logoutd_policy IN ACCESS EXCLUSIVE MODE").status());
        LOGOUT_ASSIGN_OR_RETURN(
            old, Exec(redactor, c, "SELECT version, body FROM logoutd_policy WHERE id = 1"));
      }
      if (old != nullptr && PQntuples(old.get()) == 1) {
        LOGOUT_ASSIGN_OR_RETURN(const int64_t version, GetInt(old.get(), 0, 0));
        v1::PolicyConfig config;
        if (!config.ParseFromString(GetBytes(old.get(), 0, 1))) {
          return absl::DataLossError(absl::StrCat("the stored policy (version ", version,
                                                  ") is not a valid PolicyConfig"));
        }
        const int64_t now_micros = absl::ToUnixMicros(absl::Now());
        for (const v1::Tenant& t : config.tenants()) {
          LOGOUT_RETURN_IF_ERROR(
              Exec(redactor, c,
                   "INSERT INTO logoutd_tenants (name, revision, body, updated_at_micros) "
                   "VALUES ($1, $2, $3, $4)",
                   {Text(t.name()), Int8(version), Bytes(SerializeTenant(t)), Int8(now_micros)})
                  .status());
        }
        LOGOUT_RETURN_IF_ERROR(Exec(redactor, c,
                                    "UPDATE logoutd_revision SET revision = $1, log_start = $1 + 1",
                                    {Int8(version)})
                                   .status());
      }
      LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, "DROP TABLE IF EXISTS logoutd_policy").status());
      LOGOUT_RETURN_IF_ERROR(
          Exec(redactor, c, "UPDATE logoutd_schema SET version = $1", {Int8(kSchemaVersion)})
              .status());
    }
    return Exec(redactor, c, "COMMIT").status();
  };
  absl::Status status = body(conn);
  if (!status.ok() && PQtransactionStatus(conn) != PQTRANS_IDLE) {
    ResultPtr rollback(PQexec(conn, "ROLLBACK"));
  }
  return status;
}

// PostgresStore implements PolicyStore over libpq. Thread-safe.
class PostgresStore final : public PolicyStore {
 public:
  PostgresStore(std::string url, std::unique_ptr<Redactor> redactor,
                std::vector<ConnPtr> write_conns, ConnPtr read_conn)
      : url_(std::move(url)), redactor_(std::move(redactor)), writers_(write_conns.size()) {
    for (size_t i = 0; i < write_conns.size(); ++i) {
      absl::MutexLock w(&writers_[i].mu);
      writers_[i].conn = std::move(write_conns[i]);
    }
    absl::MutexLock r(&reader_.mu);
    reader_.conn = std::move(read_conn);
  }

  ~PostgresStore() override {
    absl::MutexLock lock(&watch_mu_);
    watcher_.reset();  // stops and joins the thread before the redactor goes away
  }

  absl::StatusOr<StoredPolicy> Load() override {
    return RunOnSession<StoredPolicy>(
        *redactor_, reader_, [this](PGconn* conn, bool&) -> absl::StatusOr<StoredPolicy> {
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, kReadSnapshot).status());
          LOGOUT_ASSIGN_OR_RETURN(StoredPolicy policy, LoadInTransaction(conn));
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
          return policy;
        });
  }

  absl::StatusOr<StoredChanges> LoadChanges(uint64_t after) override {
    return RunOnSession<StoredChanges>(
        *redactor_, reader_, [&](PGconn* conn, bool&) -> absl::StatusOr<StoredChanges> {
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, kReadSnapshot).status());
          LOGOUT_ASSIGN_OR_RETURN(StoredChanges changes, ChangesInTransaction(conn, after));
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
          return changes;
        });
  }

  absl::StatusOr<uint64_t> UpdateTenant(const std::string& name,
                                        const Mutation& mutation) override {
    return RunOnSession<uint64_t>(
        *redactor_, NextWriter(), [&](PGconn* conn, bool& committing) -> absl::StatusOr<uint64_t> {
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "SELECT pg_advisory_xact_lock_shared($1)",
                                      {Int8(kPolicyLockKey)})
                                     .status());
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn,
                                      "SELECT pg_advisory_xact_lock($1::integer, hashtext($2))",
                                      {Int8(kTenantLockClass), Text(name)})
                                     .status());
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr row,
              Exec(*redactor_, conn, "SELECT body FROM logoutd_tenants WHERE name = $1 FOR UPDATE",
                   {Text(name)}));
          v1::PolicyConfig config;
          const bool existed = PQntuples(row.get()) == 1;
          if (existed) {
            LOGOUT_ASSIGN_OR_RETURN(*config.add_tenants(),
                                    ParseTenant(GetBytes(row.get(), 0, 0), name));
          }
          absl::StatusOr<v1::AuditEvent> event = mutation(config);
          if (!event.ok()) return event.status();  // RunOnSession rolls back
          LOGOUT_ASSIGN_OR_RETURN(std::vector<RowChange> rows,
                                  TenantWriteRows(name, existed, config));
          return CommitInTransaction(conn, rows, *std::move(event), committing);
        });
  }

  absl::StatusOr<StoredPolicy> Update(const Mutation& mutation) override {
    return RunOnSession<StoredPolicy>(
        *redactor_, NextWriter(),
        [&](PGconn* conn, bool& committing) -> absl::StatusOr<StoredPolicy> {
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
          LOGOUT_RETURN_IF_ERROR(
              Exec(*redactor_, conn, "SELECT pg_advisory_xact_lock($1)", {Int8(kPolicyLockKey)})
                  .status());
          LOGOUT_ASSIGN_OR_RETURN(StoredPolicy current, LoadInTransaction(conn));
          absl::flat_hash_map<std::string, std::string> before;
          for (const v1::Tenant& t : current.config.tenants()) {
            before[t.name()] = SerializeTenant(t);
          }
          absl::StatusOr<v1::AuditEvent> event = mutation(current.config);
          if (!event.ok()) return event.status();
          LOGOUT_ASSIGN_OR_RETURN(std::vector<RowChange> rows,
                                  PolicyWriteRows(before, current.config));
          LOGOUT_ASSIGN_OR_RETURN(const uint64_t revision,
                                  CommitInTransaction(conn, rows, *std::move(event), committing));
          return StoredPolicy{revision, std::move(current.config)};
        });
  }

  absl::StatusOr<std::vector<v1::AuditEvent>> ListAudit(uint64_t before_version,
                                                        uint32_t limit) override {
    limit = std::min(limit, kMaxAuditPage);
    if (limit == 0) return std::vector<v1::AuditEvent>();
    const int64_t before =
        static_cast<int64_t>(std::min<uint64_t>(before_version, static_cast<uint64_t>(INT64_MAX)));
    using Events = std::vector<v1::AuditEvent>;
    return RunOnSession<Events>(
        *redactor_, reader_, [&](PGconn* conn, bool&) -> absl::StatusOr<Events> {
          constexpr char kColumns[] =
              "SELECT version, time_micros, actor, action, object, before_json, after_json "
              "FROM logoutd_audit ";
          absl::StatusOr<ResultPtr> r =
              before > 0
                  ? Exec(*redactor_, conn,
                         absl::StrCat(kColumns, "WHERE version < $1 ORDER BY version DESC LIMIT $2")
                             .c_str(),
                         {Int8(before), Int8(limit)})
                  : Exec(*redactor_, conn,
                         absl::StrCat(kColumns, "ORDER BY version DESC LIMIT $1").c_str(),
                         {Int8(limit)});
          if (!r.ok()) return r.status();
          const PGresult* res = r->get();
          Events events;
          events.reserve(static_cast<size_t>(PQntuples(res)));
          for (int i = 0; i < PQntuples(res); ++i) {
            v1::AuditEvent& e = events.emplace_back();
            LOGOUT_ASSIGN_OR_RETURN(const int64_t version, GetInt(res, i, 0));
            LOGOUT_ASSIGN_OR_RETURN(const int64_t micros, GetInt(res, i, 1));
            e.set_policy_version(static_cast<uint64_t>(version));
            *e.mutable_time() = TimestampFromMicros(micros);
            e.set_actor(GetBytes(res, i, 2));
            e.set_action(GetBytes(res, i, 3));
            e.set_object(GetBytes(res, i, 4));
            e.set_before_json(GetBytes(res, i, 5));
            e.set_after_json(GetBytes(res, i, 6));
          }
          return events;
        });
  }

  absl::Status AppendDeliveryEvents(
      const std::vector<v1::BackchannelDeliveryEvent>& events) override {
    if (events.empty()) return absl::OkStatus();
    const int64_t retention = delivery_retention();
    return RunOnSession<bool>(
               *redactor_, NextWriter(),
               [&](PGconn* conn, bool& committing) -> absl::StatusOr<bool> {
                 LOGOUT_RETURN_IF_ERROR(InsertDeliveries(conn, events, retention, committing));
                 return true;
               })
        .status();
  }

  absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> ListDeliveryEvents(
      const std::string& tenant, uint64_t before_id, int page_size) override {
    using Events = std::vector<v1::BackchannelDeliveryEvent>;
    page_size = std::min(page_size, kMaxDeliveryPage);
    if (page_size <= 0) return Events();
    const int64_t before = before_id == 0 || before_id > static_cast<uint64_t>(INT64_MAX)
                               ? INT64_MAX
                               : static_cast<int64_t>(before_id);
    return RunOnSession<Events>(
        *redactor_, reader_, [&](PGconn* conn, bool&) -> absl::StatusOr<Events> {
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr r,
              Exec(*redactor_, conn,
                   "SELECT id, time_micros, tenant, client_id, uri_origin, result, "
                   "attempts::bigint, http_status::bigint, detail FROM logoutd_delivery_audit "
                   "WHERE id < $1 AND ($2 = '' OR tenant = $2) ORDER BY id DESC LIMIT $3",
                   {Int8(before), Text(tenant), Int8(page_size)}));
          const PGresult* res = r.get();
          Events events;
          events.reserve(static_cast<size_t>(PQntuples(res)));
          for (int i = 0; i < PQntuples(res); ++i) {
            v1::BackchannelDeliveryEvent& e = events.emplace_back();
            LOGOUT_ASSIGN_OR_RETURN(const int64_t id, GetInt(res, i, 0));
            LOGOUT_ASSIGN_OR_RETURN(const int64_t micros, GetInt(res, i, 1));
            LOGOUT_ASSIGN_OR_RETURN(const int64_t attempts, GetInt(res, i, 6));
            LOGOUT_ASSIGN_OR_RETURN(const int64_t http_status, GetInt(res, i, 7));
            e.set_id(static_cast<uint64_t>(id));
            *e.mutable_time() = TimestampFromMicros(micros);
            e.set_tenant(GetBytes(res, i, 2));
            e.set_client_id(GetBytes(res, i, 3));
            e.set_uri_origin(GetBytes(res, i, 4));
            e.set_result(GetBytes(res, i, 5));
            e.set_attempts(static_cast<uint32_t>(attempts));
            e.set_http_status(static_cast<uint32_t>(http_status));
            e.set_detail(GetBytes(res, i, 8));
          }
          return events;
        });
  }

  void WatchChanges(std::function<void(uint64_t version)> on_change) override {
    absl::MutexLock lock(&watch_mu_);
    if (watcher_ != nullptr) return;  // at most once
    watcher_ = pg::StartChangeWatcher(*redactor_, url_, std::move(on_change));
  }

 private:
  // Reads see one snapshot of the database: the revision and the rows agree.
  static constexpr char kReadSnapshot[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

  Session& NextWriter() {
    return writers_[next_writer_.fetch_add(1, std::memory_order_relaxed) % writers_.size()];
  }

  // The revision and the first revision the change log is complete from.
  absl::StatusOr<std::pair<int64_t, int64_t>> ReadRevision(PGconn* conn) {
    LOGOUT_ASSIGN_OR_RETURN(
        ResultPtr r,
        Exec(*redactor_, conn, "SELECT revision, log_start FROM logoutd_revision WHERE id = 1"));
    if (PQntuples(r.get()) != 1) return absl::DataLossError("the revision row is missing");
    LOGOUT_ASSIGN_OR_RETURN(const int64_t revision, GetInt(r.get(), 0, 0));
    LOGOUT_ASSIGN_OR_RETURN(const int64_t log_start, GetInt(r.get(), 0, 1));
    return std::make_pair(revision, log_start);
  }

  absl::StatusOr<StoredPolicy> LoadInTransaction(PGconn* conn) {
    LOGOUT_ASSIGN_OR_RETURN(const auto revision, ReadRevision(conn));
    LOGOUT_ASSIGN_OR_RETURN(
        ResultPtr rows,
        Exec(*redactor_, conn, "SELECT name, body FROM logoutd_tenants ORDER BY name"));
    StoredPolicy policy;
    policy.version = static_cast<uint64_t>(revision.first);
    policy.config.mutable_tenants()->Reserve(PQntuples(rows.get()));
    for (int i = 0; i < PQntuples(rows.get()); ++i) {
      LOGOUT_ASSIGN_OR_RETURN(*policy.config.add_tenants(),
                              ParseTenant(GetBytes(rows.get(), i, 1), GetBytes(rows.get(), i, 0)));
    }
    return policy;
  }

  absl::StatusOr<StoredChanges> ChangesInTransaction(PGconn* conn, uint64_t after) {
    LOGOUT_ASSIGN_OR_RETURN(const auto revision, ReadRevision(conn));
    StoredChanges changes;
    changes.revision = static_cast<uint64_t>(revision.first);
    if (after >= changes.revision) return changes;
    if (after + 1 < static_cast<uint64_t>(revision.second)) {
      changes.complete = false;
      return changes;
    }
    LOGOUT_ASSIGN_OR_RETURN(
        ResultPtr rows,
        Exec(*redactor_, conn,
             "SELECT c.tenant, c.revision, t.body FROM (SELECT tenant, max(revision) AS revision "
             "FROM logoutd_changes WHERE revision > $1 GROUP BY tenant) c "
             "LEFT JOIN logoutd_tenants t ON t.name = c.tenant ORDER BY c.tenant",
             {Int8(static_cast<int64_t>(after))}));
    for (int i = 0; i < PQntuples(rows.get()); ++i) {
      StoredTenant& t = changes.tenants.emplace_back();
      t.name = GetBytes(rows.get(), i, 0);
      LOGOUT_ASSIGN_OR_RETURN(const int64_t r, GetInt(rows.get(), i, 1));
      t.revision = static_cast<uint64_t>(r);
      if (!PQgetisnull(rows.get(), i, 2)) {
        LOGOUT_ASSIGN_OR_RETURN(t.config, ParseTenant(GetBytes(rows.get(), i, 2), t.name));
      }
    }
    return changes;
  }

  // CommitInTransaction takes the next revision (the row lock held until COMMIT), writes
  // `rows`, their change-log entries and the audit event, prunes the change log beyond
  // change_log_retention(), queues the NOTIFY and commits.
  absl::StatusOr<uint64_t> CommitInTransaction(PGconn* conn, const std::vector<RowChange>& rows,
                                               v1::AuditEvent event, bool& committing) {
    LOGOUT_ASSIGN_OR_RETURN(ResultPtr next,
                            Exec(*redactor_, conn,
                                 "UPDATE logoutd_revision SET revision = revision + 1 WHERE id = 1 "
                                 "RETURNING revision, log_start"));
    if (PQntuples(next.get()) != 1) return absl::DataLossError("the revision row is missing");
    LOGOUT_ASSIGN_OR_RETURN(const int64_t revision, GetInt(next.get(), 0, 0));
    LOGOUT_ASSIGN_OR_RETURN(const int64_t log_start, GetInt(next.get(), 0, 1));
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    event.set_policy_version(static_cast<uint64_t>(revision));
    *event.mutable_time() = TimestampFromMicros(now_micros);
    for (const RowChange& row : rows) {
      if (row.body.has_value()) {
        LOGOUT_RETURN_IF_ERROR(
            Exec(*redactor_, conn,
                 "INSERT INTO logoutd_tenants (name, revision, body, updated_at_micros) "
                 "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
                 "revision = excluded.revision, body = excluded.body, "
                 "updated_at_micros = excluded.updated_at_micros",
                 {Text(row.name), Int8(revision), Bytes(*row.body), Int8(now_micros)})
                .status());
      } else {
        LOGOUT_RETURN_IF_ERROR(
            Exec(*redactor_, conn, "DELETE FROM logoutd_tenants WHERE name = $1", {Text(row.name)})
                .status());
      }
      LOGOUT_RETURN_IF_ERROR(
          Exec(*redactor_, conn,
               "INSERT INTO logoutd_changes (revision, tenant, op, time_micros) "
               "VALUES ($1, $2, $3, $4)",
               {Int8(revision), Text(row.name), Text(row.body.has_value() ? "upsert" : "delete"),
                Int8(now_micros)})
              .status());
    }
    const auto retention = static_cast<int64_t>(change_log_retention());
    if (revision - retention + 1 > log_start) {
      const int64_t start = revision - retention + 1;
      LOGOUT_RETURN_IF_ERROR(
          Exec(*redactor_, conn, "DELETE FROM logoutd_changes WHERE revision < $1", {Int8(start)})
              .status());
      LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn,
                                  "UPDATE logoutd_revision SET log_start = $1 WHERE id = 1",
                                  {Int8(start)})
                                 .status());
    }
    LOGOUT_RETURN_IF_ERROR(
        Exec(*redactor_, conn,
             "INSERT INTO logoutd_audit (version, time_micros, actor, action, object, "
             "before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
             {Int8(revision), Int8(now_micros), Text(event.actor()), Text(event.action()),
              Text(event.object()), Text(event.before_json()), Text(event.after_json())})
            .status());
    // Queued now, delivered to listeners when (and only if) the transaction commits.
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "SELECT pg_notify($1, $2)",
                                {Text(pg::kChangeChannel), Text(absl::StrCat(revision))})
                               .status());
    committing = true;
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
    return static_cast<uint64_t>(revision);
  }

  // One transaction: multi-row INSERTs, then the retention DELETE (ids only grow, so every row
  // more than `retention` below the newest id goes; gaps in the sequence only keep fewer).
  absl::Status InsertDeliveries(PGconn* conn,
                                const std::vector<v1::BackchannelDeliveryEvent>& events,
                                int64_t retention, bool& committing) {
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
    for (size_t start = 0; start < events.size(); start += kDeliveryRowsPerInsert) {
      const size_t end = std::min(events.size(), start + kDeliveryRowsPerInsert);
      std::string sql =
          "INSERT INTO logoutd_delivery_audit (time_micros, tenant, client_id, uri_origin, "
          "result, attempts, http_status, detail) VALUES ";
      std::vector<Param> params;
      params.reserve((end - start) * 8);
      for (size_t i = start; i < end; ++i) {
        const v1::BackchannelDeliveryEvent& e = events[i];
        const size_t n = params.size();
        absl::StrAppend(&sql, i == start ? "" : ", ", "($", n + 1, ", $", n + 2, ", $", n + 3,
                        ", $", n + 4, ", $", n + 5, ", $", n + 6, "::bigint, $", n + 7,
                        "::bigint, $", n + 8, ")");
        params.push_back(Int8(e.has_time() ? e.time().seconds() * 1000000 + e.time().nanos() / 1000
                                           : now_micros));
        params.push_back(Text(e.tenant()));
        params.push_back(Text(e.client_id()));
        params.push_back(Text(e.uri_origin()));
        params.push_back(Text(e.result()));
        params.push_back(Int8(e.attempts()));
        params.push_back(Int8(e.http_status()));
        params.push_back(Text(e.detail()));
      }
      LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, sql.c_str(), params).status());
    }
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn,
                                "DELETE FROM logoutd_delivery_audit WHERE id <= "
                                "(SELECT max(id) FROM logoutd_delivery_audit) - $1",
                                {Int8(retention)})
                               .status());
    committing = true;
    return Exec(*redactor_, conn, "COMMIT").status();
  }

  const std::string url_;  // holds the password: never put into a message
  const std::unique_ptr<Redactor> redactor_;
  std::vector<Session> writers_;
  std::atomic<size_t> next_writer_{0};
  Session reader_;
  absl::Mutex watch_mu_;
  std::unique_ptr<pg::ChangeWatcher> watcher_ ABSL_GUARDED_BY(watch_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPostgresStore(const std::string& url) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
  auto redactor = std::make_unique<Redactor>(url);
  if (options == nullptr) {
    const std::string detail =
        parse_error != nullptr ? redactor->Clean(parse_error) : std::string("out of memory");
    if (parse_error != nullptr) PQfreemem(parse_error);
    return absl::InvalidArgumentError(absl::StrCat("invalid PostgreSQL URL: ", detail));
  }
  PQconninfoFree(options);
  std::vector<ConnPtr> write_conns;
  for (int i = 0; i < kWriteSessions; ++i) {
    LOGOUT_ASSIGN_OR_RETURN(ConnPtr conn, Connect(*redactor, url));
    if (i == 0) LOGOUT_RETURN_IF_ERROR(EnsureSchema(*redactor, conn.get()));
    write_conns.push_back(std::move(conn));
  }
  LOGOUT_ASSIGN_OR_RETURN(ConnPtr read_conn, Connect(*redactor, url));
  return std::make_unique<PostgresStore>(url, std::move(redactor), std::move(write_conns),
                                         std::move(read_conn));
}

}  // namespace logout::store
