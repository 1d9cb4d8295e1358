#include "service/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/store/sqlite_file.h"
#include "service/store/tenant_rows.h"

namespace logout::store {
namespace {

// Version 3 keeps one row per tenant (logoutd_tenants), the revision (logoutd_revision) and
// the change log (logoutd_changes) instead of version 2's one-document logoutd_policy; version
// 2 added logoutd_delivery_audit. Older databases are upgraded in place, in one transaction,
// by Init (see schema.md).
constexpr int kSchemaVersion = 3;
// Largest ListDeliveryEvents page.
constexpr int kMaxDeliveryPage = 1000;

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS logoutd_schema (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logoutd_revision ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " revision INTEGER NOT NULL,"
    " log_start INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logoutd_tenants ("
    " name TEXT PRIMARY KEY,"
    " revision INTEGER NOT NULL,"
    " body BLOB NOT NULL,"
    " updated_at_micros INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logoutd_changes ("
    " revision INTEGER NOT NULL,"
    " tenant TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),"
    " time_micros INTEGER NOT NULL,"
    " PRIMARY KEY (revision, tenant))",
    "CREATE TABLE IF NOT EXISTS logoutd_audit ("
    " version INTEGER PRIMARY KEY,"
    " time_micros INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
    " before_json TEXT NOT NULL, after_json TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logoutd_delivery_audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_micros INTEGER NOT NULL,"
    " tenant TEXT NOT NULL, client_id TEXT NOT NULL, uri_origin TEXT NOT NULL,"
    " result TEXT NOT NULL, attempts INTEGER NOT NULL, http_status INTEGER NOT NULL,"
    " detail TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS logoutd_delivery_audit_tenant"
    " ON logoutd_delivery_audit (tenant, id)",
    "INSERT OR IGNORE INTO logoutd_revision (id, revision, log_start) VALUES (1, 0, 1)",
};

// One prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

class SqliteStore final : public PolicyStore {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  absl::Status Init() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (sqlite3_busy_timeout(db_, 5000) != SQLITE_OK) return Error("busy_timeout");
    // WAL: readers never block the writer; FULL: a committed write survives power loss.
    if (!ExecLocked("PRAGMA journal_mode=WAL") || !ExecLocked("PRAGMA synchronous=FULL")) {
      return Error("cannot configure the database");
    }
    if (!ExecLocked("BEGIN IMMEDIATE")) return Error("cannot lock the database");
    for (const char* sql : kSchema) {
      if (!ExecLocked(sql)) {
        ExecLocked("ROLLBACK");
        return Error("cannot create the schema");
      }
    }
    absl::Status status = UpgradeLocked();
    if (!status.ok()) {
      ExecLocked("ROLLBACK");
      return status;
    }
    if (!ExecLocked("COMMIT")) return Error("cannot commit the schema");
    return absl::OkStatus();
  }

  absl::StatusOr<StoredPolicy> Load() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // One read transaction: the revision and the rows agree.
    if (!ExecLocked("BEGIN")) return Error("cannot start a read transaction");
    absl::StatusOr<StoredPolicy> policy = LoadLocked();
    ExecLocked("COMMIT");
    return policy;
  }

  absl::StatusOr<StoredChanges> LoadChanges(uint64_t after) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!ExecLocked("BEGIN")) return Error("cannot start a read transaction");
    absl::StatusOr<StoredChanges> changes = LoadChangesLocked(after);
    ExecLocked("COMMIT");
    return changes;
  }

  absl::StatusOr<uint64_t> UpdateTenant(const std::string& name, const Mutation& mutation) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // IMMEDIATE takes the write lock now, so the read below is the latest committed state.
    if (!ExecLocked("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    absl::StatusOr<uint64_t> revision = UpdateTenantLocked(name, mutation);
    return Finish(std::move(revision));
  }

  absl::StatusOr<StoredPolicy> Update(const Mutation& mutation) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!ExecLocked("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    absl::StatusOr<StoredPolicy> policy = UpdatePolicyLocked(mutation);
    return Finish(std::move(policy));
  }

  absl::StatusOr<std::vector<v1::AuditEvent>> ListAudit(uint64_t before_version,
                                                        uint32_t limit) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Statement select(db_,
                     "SELECT version, time_micros, actor, action, object, before_json, after_json "
                     "FROM logoutd_audit WHERE version < ?1 ORDER BY version DESC LIMIT ?2");
    if (!select.ok()) return Error("cannot read the audit trail");
    sqlite3_bind_int64(
        select.get(), 1,
        before_version == 0 ? INT64_MAX : static_cast<sqlite3_int64>(before_version));
    sqlite3_bind_int64(select.get(), 2, std::min<uint32_t>(limit, 1000));
    std::vector<v1::AuditEvent> events;
    int rc;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      v1::AuditEvent& e = events.emplace_back();
      e.set_policy_version(static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)));
      const int64_t micros = sqlite3_column_int64(select.get(), 1);
      e.mutable_time()->set_seconds(micros / 1000000);
      e.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
      e.set_actor(Text(select.get(), 2));
      e.set_action(Text(select.get(), 3));
      e.set_object(Text(select.get(), 4));
      e.set_before_json(Text(select.get(), 5));
      e.set_after_json(Text(select.get(), 6));
    }
    if (rc != SQLITE_DONE) return Error("cannot read the audit trail");
    return events;
  }

  absl::Status AppendDeliveryEvents(
      const std::vector<v1::BackchannelDeliveryEvent>& events) override ABSL_LOCKS_EXCLUDED(mu_) {
    if (events.empty()) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    if (!ExecLocked("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    bool ok = true;
    {
      Statement insert(db_,
                       "INSERT INTO logoutd_delivery_audit (time_micros, tenant, client_id, "
                       "uri_origin, result, attempts, http_status, detail) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
      ok = insert.ok();
      for (size_t i = 0; ok && i < events.size(); ++i) {
        const v1::BackchannelDeliveryEvent& e = events[i];
        sqlite3_reset(insert.get());
        sqlite3_bind_int64(insert.get(), 1, e.has_time() ? MicrosOf(e.time()) : now_micros);
        int col = 2;
        for (const std::string* t : {&e.tenant(), &e.client_id(), &e.uri_origin(), &e.result()}) {
          sqlite3_bind_text(insert.get(), col++, t->data(), static_cast<int>(t->size()),
                            SQLITE_STATIC);
        }
        sqlite3_bind_int64(insert.get(), 6, e.attempts());
        sqlite3_bind_int64(insert.get(), 7, e.http_status());
        sqlite3_bind_text(insert.get(), 8, e.detail().data(), static_cast<int>(e.detail().size()),
                          SQLITE_STATIC);
        ok = sqlite3_step(insert.get()) == SQLITE_DONE;
      }
    }
    if (ok) {
      // Retention: ids only grow, so everything more than N below the newest goes.
      Statement trim(db_,
                     "DELETE FROM logoutd_delivery_audit WHERE id <= "
                     "(SELECT max(id) FROM logoutd_delivery_audit) - ?1");
      ok = trim.ok();
      if (ok) {
        sqlite3_bind_int64(trim.get(), 1, delivery_retention());
        ok = sqlite3_step(trim.get()) == SQLITE_DONE;
      }
    }
    if (!ok) {
      absl::Status s = Error("cannot write the delivery audit");
      ExecLocked("ROLLBACK");
      return s;
    }
    if (!ExecLocked("COMMIT")) {
      absl::Status s = Error("cannot commit the delivery audit");
      ExecLocked("ROLLBACK");
      return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<v1::BackchannelDeliveryEvent>> ListDeliveryEvents(
      const std::string& tenant, uint64_t before_id, int page_size) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<v1::BackchannelDeliveryEvent> events;
    page_size = std::min(page_size, kMaxDeliveryPage);
    if (page_size <= 0) return events;
    absl::MutexLock lock(&mu_);
    Statement select(db_,
                     "SELECT id, time_micros, tenant, client_id, uri_origin, result, attempts, "
                     "http_status, detail FROM logoutd_delivery_audit "
                     "WHERE id < ?1 AND (?2 = '' OR tenant = ?2) ORDER BY id DESC LIMIT ?3");
    if (!select.ok()) return Error("cannot read the delivery audit");
    sqlite3_bind_int64(select.get(), 1,
                       before_id == 0 || before_id > static_cast<uint64_t>(INT64_MAX)
                           ? INT64_MAX
                           : static_cast<sqlite3_int64>(before_id));
    sqlite3_bind_text(select.get(), 2, tenant.data(), static_cast<int>(tenant.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(select.get(), 3, page_size);
    int rc;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      v1::BackchannelDeliveryEvent& e = events.emplace_back();
      e.set_id(static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)));
      const int64_t micros = sqlite3_column_int64(select.get(), 1);
      e.mutable_time()->set_seconds(micros / 1000000);
      e.mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
      e.set_tenant(Text(select.get(), 2));
      e.set_client_id(Text(select.get(), 3));
      e.set_uri_origin(Text(select.get(), 4));
      e.set_result(Text(select.get(), 5));
      e.set_attempts(static_cast<uint32_t>(sqlite3_column_int64(select.get(), 6)));
      e.set_http_status(static_cast<uint32_t>(sqlite3_column_int64(select.get(), 7)));
      e.set_detail(Text(select.get(), 8));
    }
    if (rc != SQLITE_DONE) return Error("cannot read the delivery audit");
    return events;
  }

  // One process owns a SQLite file; there is nobody else to hear from.
  void WatchChanges(std::function<void(uint64_t)> /*on_change*/) override {}

 private:
  static std::string Text(sqlite3_stmt* stmt, int col) {
    const unsigned char* t = sqlite3_column_text(stmt, col);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
  }

  static absl::string_view Blob(sqlite3_stmt* stmt, int col) {
    const void* b = sqlite3_column_blob(stmt, col);
    return b == nullptr ? absl::string_view()
                        : absl::string_view(static_cast<const char*>(b),
                                            static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
  }

  static int64_t MicrosOf(const google::protobuf::Timestamp& t) {
    return t.seconds() * 1000000 + t.nanos() / 1000;
  }

  absl::Status Error(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::UnavailableError(absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db_)));
  }

  bool ExecLocked(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  // Finish commits the write transaction when `result` is OK, else rolls it back.
  template <typename T>
  absl::StatusOr<T> Finish(absl::StatusOr<T> result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!result.ok()) {
      ExecLocked("ROLLBACK");
      return result;
    }
    if (!ExecLocked("COMMIT")) {
      absl::Status s = Error("cannot commit the policy");
      ExecLocked("ROLLBACK");
      return s;
    }
    return result;
  }

  // UpgradeLocked records the schema version, upgrading a version 1 or 2 database in place: its
  // one policy document becomes one row per tenant at the document's version, which becomes the
  // revision (the change log starts after it, so replicas behind it reload everything).
  absl::Status UpgradeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int version = 0;
    {
      Statement select(db_, "SELECT version FROM logoutd_schema");
      if (!select.ok()) return Error("cannot read the schema version");
      const int rc = sqlite3_step(select.get());
      if (rc == SQLITE_ROW) {
        version = sqlite3_column_int(select.get(), 0);
      } else if (rc != SQLITE_DONE) {
        return Error("cannot read the schema version");
      }
    }
    if (version == 0) {
      if (!ExecLocked(
              absl::StrCat("INSERT INTO logoutd_schema (version) VALUES (", kSchemaVersion, ")")
                  .c_str())) {
        return Error("cannot record the schema version");
      }
      return absl::OkStatus();
    }
    if (version > kSchemaVersion) {
      return absl::UnavailableError(absl::StrCat("the database has schema version ", version,
                                                 "; this logoutd knows ", kSchemaVersion));
    }
    if (version == kSchemaVersion) return absl::OkStatus();
    if (absl::Status s = SplitDocumentLocked(); !s.ok()) return s;
    if (!ExecLocked("DROP TABLE IF EXISTS logoutd_policy") ||
        !ExecLocked(absl::StrCat("UPDATE logoutd_schema SET version = ", kSchemaVersion).c_str())) {
      return Error("cannot upgrade the schema version");
    }
    return absl::OkStatus();
  }

  // SplitDocumentLocked turns a version 1/2 policy document into tenant rows.
  absl::Status SplitDocumentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    {
      Statement exists(db_,
                       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'logoutd_policy'");
      if (!exists.ok()) return Error("cannot read the schema");
      const int rc = sqlite3_step(exists.get());
      if (rc == SQLITE_DONE) return absl::OkStatus();  // no table: the database was never written
      if (rc != SQLITE_ROW) return Error("cannot read the schema");
    }
    Statement old(db_, "SELECT version, body FROM logoutd_policy WHERE id = 1");
    if (!old.ok()) return Error("cannot read the version 2 policy");
    const int rc = sqlite3_step(old.get());
    if (rc == SQLITE_DONE) return absl::OkStatus();
    if (rc != SQLITE_ROW) return Error("cannot read the version 2 policy");
    const int64_t doc_version = sqlite3_column_int64(old.get(), 0);
    v1::PolicyConfig config;
    if (!config.ParseFromArray(sqlite3_column_blob(old.get(), 1),
                               sqlite3_column_bytes(old.get(), 1))) {
      return absl::DataLossError(
          absl::StrCat("sqlite: the stored policy (version ", doc_version, ") does not parse"));
    }
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    for (const v1::Tenant& t : config.tenants()) {
      if (!WriteRowLocked({t.name(), SerializeTenant(t)}, static_cast<uint64_t>(doc_version),
                          now_micros)) {
        return Error("cannot upgrade the policy to one row per tenant");
      }
    }
    Statement set(db_, "UPDATE logoutd_revision SET revision = ?1, log_start = ?1 + 1");
    if (!set.ok()) return Error("cannot upgrade the revision");
    sqlite3_bind_int64(set.get(), 1, doc_version);
    if (sqlite3_step(set.get()) != SQLITE_DONE) return Error("cannot upgrade the revision");
    return absl::OkStatus();
  }

  // The revision and the first revision the change log is complete from.
  absl::StatusOr<std::pair<uint64_t, uint64_t>> RevisionLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement select(db_, "SELECT revision, log_start FROM logoutd_revision WHERE id = 1");
    if (!select.ok() || sqlite3_step(select.get()) != SQLITE_ROW) {
      return Error("cannot read the revision");
    }
    return std::make_pair(static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)),
                          static_cast<uint64_t>(sqlite3_column_int64(select.get(), 1)));
  }

  absl::StatusOr<StoredPolicy> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StoredPolicy p;
    absl::StatusOr<std::pair<uint64_t, uint64_t>> revision = RevisionLocked();
    if (!revision.ok()) return revision.status();
    p.version = revision->first;
    Statement select(db_, "SELECT name, body FROM logoutd_tenants ORDER BY name");
    if (!select.ok()) return Error("cannot read the policy");
    int rc;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      absl::StatusOr<v1::Tenant> t = ParseTenant(Blob(select.get(), 1), Text(select.get(), 0));
      if (!t.ok()) return t.status();
      *p.config.add_tenants() = *std::move(t);
    }
    if (rc != SQLITE_DONE) return Error("cannot read the policy");
    return p;
  }

  absl::StatusOr<StoredChanges> LoadChangesLocked(uint64_t after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StoredChanges changes;
    absl::StatusOr<std::pair<uint64_t, uint64_t>> revision = RevisionLocked();
    if (!revision.ok()) return revision.status();
    changes.revision = revision->first;
    if (after >= changes.revision) return changes;
    if (after + 1 < revision->second) {
      changes.complete = false;
      return changes;
    }
    Statement select(db_,
                     "SELECT c.tenant, c.revision, t.body FROM (SELECT tenant, max(revision) AS "
                     "revision FROM logoutd_changes WHERE revision > ?1 GROUP BY tenant) c "
                     "LEFT JOIN logoutd_tenants t ON t.name = c.tenant ORDER BY c.tenant");
    if (!select.ok()) return Error("cannot read the change log");
    sqlite3_bind_int64(select.get(), 1, static_cast<sqlite3_int64>(after));
    int rc;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      StoredTenant& t = changes.tenants.emplace_back();
      t.name = Text(select.get(), 0);
      t.revision = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 1));
      if (sqlite3_column_type(select.get(), 2) != SQLITE_NULL) {
        absl::StatusOr<v1::Tenant> config = ParseTenant(Blob(select.get(), 2), t.name);
        if (!config.ok()) return config.status();
        t.config = *std::move(config);
      }
    }
    if (rc != SQLITE_DONE) return Error("cannot read the change log");
    return changes;
  }

  absl::StatusOr<uint64_t> UpdateTenantLocked(const std::string& name, const Mutation& mutation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::PolicyConfig config;
    bool existed = false;
    {
      Statement select(db_, "SELECT body FROM logoutd_tenants WHERE name = ?1");
      if (!select.ok()) return Error("cannot read the tenant");
      sqlite3_bind_text(select.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
      const int rc = sqlite3_step(select.get());
      if (rc == SQLITE_ROW) {
        absl::StatusOr<v1::Tenant> t = ParseTenant(Blob(select.get(), 0), name);
        if (!t.ok()) return t.status();
        *config.add_tenants() = *std::move(t);
        existed = true;
      } else if (rc != SQLITE_DONE) {
        return Error("cannot read the tenant");
      }
    }
    absl::StatusOr<v1::AuditEvent> event = mutation(config);
    if (!event.ok()) return event.status();
    absl::StatusOr<std::vector<RowChange>> rows = TenantWriteRows(name, existed, config);
    if (!rows.ok()) return rows.status();
    return CommitLocked(*rows, *std::move(event));
  }

  absl::StatusOr<StoredPolicy> UpdatePolicyLocked(const Mutation& mutation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<StoredPolicy> current = LoadLocked();
    if (!current.ok()) return current.status();
    absl::flat_hash_map<std::string, std::string> before;
    for (const v1::Tenant& t : current->config.tenants()) before[t.name()] = SerializeTenant(t);
    absl::StatusOr<v1::AuditEvent> event = mutation(current->config);
    if (!event.ok()) return event.status();
    absl::StatusOr<std::vector<RowChange>> rows = PolicyWriteRows(before, current->config);
    if (!rows.ok()) return rows.status();
    absl::StatusOr<uint64_t> revision = CommitLocked(*rows, *std::move(event));
    if (!revision.ok()) return revision.status();
    return StoredPolicy{*revision, std::move(current->config)};
  }

  // CommitLocked writes `rows`, their change-log entries, the audit event and the next
  // revision (pruning the change log beyond change_log_retention()). The caller commits.
  absl::StatusOr<uint64_t> CommitLocked(const std::vector<RowChange>& rows, v1::AuditEvent event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::pair<uint64_t, uint64_t>> current = RevisionLocked();
    if (!current.ok()) return current.status();
    const uint64_t revision = current->first + 1;
    const uint64_t retention = change_log_retention();
    const uint64_t log_start = revision > retention
                                   ? std::max(current->second, revision - retention + 1)
                                   : current->second;
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    event.set_policy_version(revision);
    event.mutable_time()->set_seconds(now_micros / 1000000);
    event.mutable_time()->set_nanos(static_cast<int32_t>(now_micros % 1000000) * 1000);
    for (const RowChange& row : rows) {
      if (!WriteRowLocked(row, revision, now_micros) ||
          !LogChangeLocked(row, revision, now_micros)) {
        return Error("cannot write the tenant");
      }
    }
    Statement set(db_, "UPDATE logoutd_revision SET revision = ?1, log_start = ?2");
    if (!set.ok()) return Error("cannot write the revision");
    sqlite3_bind_int64(set.get(), 1, static_cast<sqlite3_int64>(revision));
    sqlite3_bind_int64(set.get(), 2, static_cast<sqlite3_int64>(log_start));
    if (sqlite3_step(set.get()) != SQLITE_DONE) return Error("cannot write the revision");
    if (log_start > current->second) {
      Statement prune(db_, "DELETE FROM logoutd_changes WHERE revision < ?1");
      if (!prune.ok()) return Error("cannot prune the change log");
      sqlite3_bind_int64(prune.get(), 1, static_cast<sqlite3_int64>(log_start));
      if (sqlite3_step(prune.get()) != SQLITE_DONE) return Error("cannot prune the change log");
    }
    if (!WriteAuditLocked(event, now_micros)) return Error("cannot write the audit event");
    return revision;
  }

  bool WriteRowLocked(const RowChange& row, uint64_t revision, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!row.body.has_value()) {
      Statement del(db_, "DELETE FROM logoutd_tenants WHERE name = ?1");
      if (!del.ok()) return false;
      sqlite3_bind_text(del.get(), 1, row.name.data(), static_cast<int>(row.name.size()),
                        SQLITE_STATIC);
      return sqlite3_step(del.get()) == SQLITE_DONE;
    }
    Statement upsert(db_,
                     "INSERT INTO logoutd_tenants (name, revision, body, updated_at_micros) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                     "revision = excluded.revision, body = excluded.body, "
                     "updated_at_micros = excluded.updated_at_micros");
    if (!upsert.ok()) return false;
    sqlite3_bind_text(upsert.get(), 1, row.name.data(), static_cast<int>(row.name.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(upsert.get(), 2, static_cast<sqlite3_int64>(revision));
    sqlite3_bind_blob(upsert.get(), 3, row.body->data(), static_cast<int>(row.body->size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(upsert.get(), 4, now_micros);
    return sqlite3_step(upsert.get()) == SQLITE_DONE;
  }

  bool LogChangeLocked(const RowChange& row, uint64_t revision, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement insert(db_,
                     "INSERT INTO logoutd_changes (revision, tenant, op, time_micros) "
                     "VALUES (?1, ?2, ?3, ?4)");
    if (!insert.ok()) return false;
    sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(revision));
    sqlite3_bind_text(insert.get(), 2, row.name.data(), static_cast<int>(row.name.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert.get(), 3, row.body.has_value() ? "upsert" : "delete", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(insert.get(), 4, now_micros);
    return sqlite3_step(insert.get()) == SQLITE_DONE;
  }

  bool WriteAuditLocked(const v1::AuditEvent& e, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement insert(db_,
                     "INSERT INTO logoutd_audit (version, time_micros, actor, action, object, "
                     "before_json, after_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!insert.ok()) return false;
    sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(e.policy_version()));
    sqlite3_bind_int64(insert.get(), 2, now_micros);
    int col = 3;
    for (const std::string* s :
         {&e.actor(), &e.action(), &e.object(), &e.before_json(), &e.after_json()}) {
      sqlite3_bind_text(insert.get(), col++, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
    }
    return sqlite3_step(insert.get()) == SQLITE_DONE;
  }

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<sqlite3*> OpenSqliteFile(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat("sqlite: cannot open ", path, ": ", msg));
  }
  return db;
}

absl::StatusOr<std::unique_ptr<PolicyStore>> OpenSqliteStore(const std::string& path) {
  absl::StatusOr<sqlite3*> db = OpenSqliteFile(path);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<SqliteStore>(*db);
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

}  // namespace logout::store
