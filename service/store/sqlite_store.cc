#include "service/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace logout::store {
namespace {

// Version 2 added logoutd_delivery_audit; a version 1 database is upgraded in place (the new
// table is created by kSchema, then the recorded version is raised) in one transaction.
constexpr int kSchemaVersion = 2;
// Largest ListDeliveryEvents page.
constexpr int kMaxDeliveryPage = 1000;

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS logoutd_schema (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS logoutd_policy ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version INTEGER NOT NULL,"
    " body BLOB NOT NULL,"
    " updated_at_micros INTEGER NOT NULL)",
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
    Statement select(db_, "SELECT version FROM logoutd_schema");
    if (!select.ok()) {
      ExecLocked("ROLLBACK");
      return Error("cannot read the schema version");
    }
    if (sqlite3_step(select.get()) == SQLITE_ROW) {
      const int version = sqlite3_column_int(select.get(), 0);
      if (version > kSchemaVersion) {
        ExecLocked("ROLLBACK");
        return absl::UnavailableError(absl::StrCat("the database has schema version ", version,
                                                   "; this logoutd knows ", kSchemaVersion));
      }
      if (version < kSchemaVersion &&
          !ExecLocked(
              absl::StrCat("UPDATE logoutd_schema SET version = ", kSchemaVersion).c_str())) {
        ExecLocked("ROLLBACK");
        return Error("cannot upgrade the schema version");
      }
    } else if (!ExecLocked(absl::StrCat("INSERT INTO logoutd_schema (version) VALUES (",
                                        kSchemaVersion, ")")
                               .c_str())) {
      ExecLocked("ROLLBACK");
      return Error("cannot record the schema version");
    }
    if (!ExecLocked("COMMIT")) return Error("cannot commit the schema");
    return absl::OkStatus();
  }

  absl::StatusOr<StoredPolicy> Load() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return LoadLocked();
  }

  absl::StatusOr<StoredPolicy> Update(const Mutation& mutation) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // IMMEDIATE takes the write lock now, so the read below is the latest committed version.
    if (!ExecLocked("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    absl::StatusOr<StoredPolicy> current = LoadLocked();
    if (!current.ok()) {
      ExecLocked("ROLLBACK");
      return current.status();
    }
    absl::StatusOr<v1::AuditEvent> event = mutation(current->config);
    if (!event.ok()) {
      ExecLocked("ROLLBACK");
      return event.status();
    }
    StoredPolicy next{current->version + 1, std::move(current->config)};
    std::string body;
    {
      google::protobuf::io::StringOutputStream out(&body);
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      if (!next.config.SerializeToCodedStream(&coded)) {
        ExecLocked("ROLLBACK");
        return absl::InternalError("cannot serialise the policy");
      }
    }
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    event->set_policy_version(next.version);
    event->mutable_time()->set_seconds(now_micros / 1000000);
    event->mutable_time()->set_nanos(static_cast<int32_t>(now_micros % 1000000) * 1000);
    if (!WritePolicyLocked(next.version, body, now_micros) ||
        !WriteAuditLocked(*event, now_micros)) {
      ExecLocked("ROLLBACK");
      return Error("cannot write the policy");
    }
    if (!ExecLocked("COMMIT")) {
      ExecLocked("ROLLBACK");
      return Error("cannot commit the policy");
    }
    return next;
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

  static int64_t MicrosOf(const google::protobuf::Timestamp& t) {
    return t.seconds() * 1000000 + t.nanos() / 1000;
  }

  absl::Status Error(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::UnavailableError(absl::StrCat("sqlite: ", what, ": ", sqlite3_errmsg(db_)));
  }

  bool ExecLocked(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  absl::StatusOr<StoredPolicy> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement select(db_, "SELECT version, body FROM logoutd_policy WHERE id = 1");
    if (!select.ok()) return Error("cannot read the policy");
    StoredPolicy p;
    const int rc = sqlite3_step(select.get());
    if (rc == SQLITE_DONE) return p;
    if (rc != SQLITE_ROW) return Error("cannot read the policy");
    p.version = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0));
    const void* blob = sqlite3_column_blob(select.get(), 1);
    const int size = sqlite3_column_bytes(select.get(), 1);
    if (!p.config.ParseFromArray(blob, size)) {
      return absl::DataLossError("sqlite: the stored policy does not parse");
    }
    return p;
  }

  bool WritePolicyLocked(uint64_t version, const std::string& body, int64_t now_micros)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Statement upsert(db_,
                     "INSERT INTO logoutd_policy (id, version, body, updated_at_micros) "
                     "VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET "
                     "version = excluded.version, body = excluded.body, "
                     "updated_at_micros = excluded.updated_at_micros");
    if (!upsert.ok()) return false;
    sqlite3_bind_int64(upsert.get(), 1, static_cast<sqlite3_int64>(version));
    sqlite3_bind_blob(upsert.get(), 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    sqlite3_bind_int64(upsert.get(), 3, now_micros);
    return sqlite3_step(upsert.get()) == SQLITE_DONE;
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

absl::StatusOr<std::unique_ptr<PolicyStore>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::UnavailableError(absl::StrCat("sqlite: cannot open ", path, ": ", msg));
  }
  auto store = std::make_unique<SqliteStore>(db);
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

}  // namespace logout::store
