// The SQLite outbox (outbox.h): its own connection to the store's file, so deliveries never
// wait behind the policy store's mutex (SQLite's file lock still serialises the two writers;
// each waits up to 5 s). One process owns the file, so leases only matter within it.
#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "service/store/outbox.h"
#include "service/store/outbox_sql.h"
#include "service/store/sqlite_file.h"

namespace logout::store {
namespace {

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    ok_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) == SQLITE_OK;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() const { return stmt_; }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // `v` must outlive the step.
  void Str(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

OutboxJob ReadJob(const Stmt& s) {
  OutboxJob j;
  j.id = static_cast<uint64_t>(s.Int(0));
  j.kind = s.Text(1);
  j.tenant = s.Text(2);
  j.target = s.Text(3);
  j.uri = s.Text(4);
  j.origin = s.Text(5);
  j.iss = s.Text(6);
  j.sub = s.Text(7);
  j.sid = s.Text(8);
  j.initiator = s.Text(9);
  j.event_time_micros = s.Int(10);
  j.created_micros = s.Int(11);
  j.due_micros = s.Int(12);
  j.expires_micros = s.Int(13);
  j.attempts = static_cast<int32_t>(s.Int(14));
  ParseJobState(s.Text(15), &j.state);
  j.detail = s.Text(16);
  j.http_status = static_cast<int32_t>(s.Int(17));
  j.finished_micros = s.Int(18);
  j.lease_owner = s.Text(19);
  j.lease_until_micros = s.Int(20);
  return j;
}

class SqliteOutbox final : public Outbox {
 public:
  explicit SqliteOutbox(sqlite3* db) : db_(db) {}
  ~SqliteOutbox() override { sqlite3_close_v2(db_); }

  absl::Status Init() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (sqlite3_busy_timeout(db_, 5000) != SQLITE_OK || !Exec("PRAGMA journal_mode=WAL") ||
        !Exec("PRAGMA synchronous=FULL")) {
      return Error("cannot configure the database");
    }
    const std::string table =
        absl::StrCat("CREATE TABLE IF NOT EXISTS logoutd_outbox (",
                     "id INTEGER PRIMARY KEY AUTOINCREMENT, ", outbox_sql::kColumns, ")");
    if (!Exec("BEGIN IMMEDIATE")) return Error("cannot lock the database");
    if (!Exec(table.c_str()) || !Exec(outbox_sql::kDueIndex) || !Exec(outbox_sql::kTenantIndex)) {
      absl::Status s = Error("cannot create the outbox table");
      Exec("ROLLBACK");
      return s;
    }
    return Commit();
  }

  absl::Status Enqueue(std::vector<OutboxJob>& jobs, const Lease& lease) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (jobs.empty()) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    if (!Exec("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    bool ok;
    {
      Stmt insert(db_, absl::StrCat(outbox_sql::kInsert,
                                    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                                    "'pending', '', 0, 0, ?15, ?16)"));
      ok = insert.ok();
      for (size_t i = 0; ok && i < jobs.size(); ++i) {
        OutboxJob& j = jobs[i];
        sqlite3_reset(insert.get());
        int col = 1;
        for (const std::string* s : {&j.kind, &j.tenant, &j.target, &j.uri, &j.origin, &j.iss,
                                     &j.sub, &j.sid, &j.initiator}) {
          insert.Str(col++, *s);
        }
        insert.Int(10, j.event_time_micros);
        insert.Int(11, j.created_micros);
        insert.Int(12, j.due_micros);
        insert.Int(13, j.expires_micros);
        insert.Int(14, j.attempts);
        insert.Str(15, lease.owner);
        insert.Int(16, lease.owner.empty() ? 0 : lease.until_micros);
        ok = sqlite3_step(insert.get()) == SQLITE_DONE;
        if (ok) {
          j.id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
          j.state = JobState::kPending;
          j.lease_owner = lease.owner;
          j.lease_until_micros = lease.owner.empty() ? 0 : lease.until_micros;
        }
      }
    }
    if (!ok) return Rollback("cannot write the outbox");
    return Commit();
  }

  absl::StatusOr<std::vector<ClaimedJob>> Claim(const ClaimRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<ClaimedJob> claimed;
    if (request.limit <= 0) return claimed;
    absl::MutexLock lock(&mu_);
    // Read first, outside a write lock: most polls find nothing due.
    std::string where = "WHERE state = 'pending' AND due_micros <= ?1 AND lease_until_micros < ?1";
    if (!request.skip_origins.empty()) {
      std::vector<std::string> marks;
      for (size_t i = 0; i < request.skip_origins.size(); ++i)
        marks.push_back(absl::StrCat("?", i + 3));
      absl::StrAppend(&where, " AND origin NOT IN (", absl::StrJoin(marks, ", "), ")");
    }
    const std::string select =
        absl::StrCat(outbox_sql::kSelect, " ", where, " ORDER BY due_micros LIMIT ?2");
    {
      // Most polls find nothing due: check without taking the write lock.
      Stmt any(db_, absl::StrCat("SELECT 1 FROM logoutd_outbox ", where, " LIMIT ?2"));
      if (!any.ok()) return Error("cannot read the outbox");
      any.Int(1, request.now_micros);
      any.Int(2, 1);
      for (size_t i = 0; i < request.skip_origins.size(); ++i) {
        any.Str(static_cast<int>(i + 3), request.skip_origins[i]);
      }
      const int rc = sqlite3_step(any.get());
      if (rc == SQLITE_DONE) return claimed;
      if (rc != SQLITE_ROW) return Error("cannot read the outbox");
    }
    if (!Exec("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    {
      Stmt s(db_, select);
      if (!s.ok()) return Rollback("cannot read the outbox");
      s.Int(1, request.now_micros);
      s.Int(2, request.limit);
      for (size_t i = 0; i < request.skip_origins.size(); ++i) {
        s.Str(static_cast<int>(i + 3), request.skip_origins[i]);
      }
      int rc;
      while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        ClaimedJob& c = claimed.emplace_back();
        c.job = ReadJob(s);
        c.taken_over = !c.job.lease_owner.empty() && c.job.lease_owner != request.owner;
      }
      if (rc != SQLITE_DONE) return Rollback("cannot read the outbox");
    }
    if (claimed.empty()) {
      Exec("COMMIT");
      return claimed;
    }
    {
      Stmt u(db_,
             "UPDATE logoutd_outbox SET lease_owner = ?1, lease_until_micros = ?2 WHERE id = ?3");
      if (!u.ok()) return Rollback("cannot lease outbox jobs");
      for (ClaimedJob& c : claimed) {
        sqlite3_reset(u.get());
        u.Str(1, request.owner);
        u.Int(2, request.lease_until_micros);
        u.Int(3, static_cast<int64_t>(c.job.id));
        if (sqlite3_step(u.get()) != SQLITE_DONE) return Rollback("cannot lease outbox jobs");
        c.job.lease_owner = request.owner;
        c.job.lease_until_micros = request.lease_until_micros;
      }
    }
    if (absl::Status s = Commit(); !s.ok()) return s;
    return claimed;
  }

  absl::StatusOr<int> Settle(const std::vector<Settlement>& settlements) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (settlements.empty()) return 0;
    absl::MutexLock lock(&mu_);
    if (!Exec("BEGIN IMMEDIATE")) return Error("cannot start a write transaction");
    int lost = 0;
    {
      Stmt u(db_,
             "UPDATE logoutd_outbox SET state = ?1, attempts = ?2, detail = ?3, http_status = ?4, "
             "due_micros = CASE WHEN ?1 = 'pending' THEN ?5 ELSE due_micros END, "
             "finished_micros = ?6, lease_owner = '', lease_until_micros = 0 "
             "WHERE id = ?7 AND state = 'pending' AND lease_owner = ?8");
      if (!u.ok()) return Rollback("cannot settle outbox jobs");
      for (const Settlement& s : settlements) {
        sqlite3_reset(u.get());
        const std::string state(JobStateName(s.state));
        u.Str(1, state);
        u.Int(2, s.attempts);
        u.Str(3, s.detail);
        u.Int(4, s.http_status);
        u.Int(5, s.due_micros);
        u.Int(6, s.state == JobState::kPending ? 0 : s.finished_micros);
        u.Int(7, static_cast<int64_t>(s.id));
        u.Str(8, s.owner);
        if (sqlite3_step(u.get()) != SQLITE_DONE) return Rollback("cannot settle outbox jobs");
        if (sqlite3_changes(db_) == 0) ++lost;
      }
    }
    if (absl::Status s = Commit(); !s.ok()) return s;
    return lost;
  }

  absl::Status ReleaseLeases(const std::string& owner) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Stmt u(db_,
           "UPDATE logoutd_outbox SET lease_owner = '', lease_until_micros = 0 "
           "WHERE state = 'pending' AND lease_owner != '' AND (?1 = '' OR lease_owner = ?1)");
    if (!u.ok()) return Error("cannot release leases");
    u.Str(1, owner);
    if (sqlite3_step(u.get()) != SQLITE_DONE) return Error("cannot release leases");
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<OutboxJob>> List(const ListFilter& f) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<OutboxJob> jobs;
    const int limit = std::min(f.limit, kMaxOutboxPage);
    if (limit <= 0) return jobs;
    std::vector<std::string> conditions = {"id < ?1", "(?2 = '' OR tenant = ?2)",
                                           "(?3 = '' OR kind = ?3)"};
    std::vector<std::string> texts;
    for (JobState s : f.states) texts.emplace_back(JobStateName(s));
    int next = 5;
    if (!texts.empty()) {
      std::vector<std::string> marks;
      for (size_t i = 0; i < texts.size(); ++i) marks.push_back(absl::StrCat("?", next++));
      conditions.push_back(absl::StrCat("state IN (", absl::StrJoin(marks, ", "), ")"));
    }
    const int first_id = next;
    if (!f.ids.empty()) {
      std::vector<std::string> marks;
      for (size_t i = 0; i < f.ids.size(); ++i) marks.push_back(absl::StrCat("?", next++));
      conditions.push_back(absl::StrCat("id IN (", absl::StrJoin(marks, ", "), ")"));
    }
    absl::MutexLock lock(&mu_);
    Stmt s(db_, absl::StrCat(outbox_sql::kSelect, " WHERE ", absl::StrJoin(conditions, " AND "),
                             " ORDER BY id DESC LIMIT ?4"));
    if (!s.ok()) return Error("cannot read the outbox");
    s.Int(1, f.before_id == 0 || f.before_id > static_cast<uint64_t>(INT64_MAX)
                 ? INT64_MAX
                 : static_cast<int64_t>(f.before_id));
    s.Str(2, f.tenant);
    s.Str(3, f.kind);
    s.Int(4, limit);
    for (size_t i = 0; i < texts.size(); ++i) s.Str(static_cast<int>(5 + i), texts[i]);
    for (size_t i = 0; i < f.ids.size(); ++i) {
      s.Int(static_cast<int>(first_id + i), static_cast<int64_t>(f.ids[i]));
    }
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) jobs.push_back(ReadJob(s));
    if (rc != SQLITE_DONE) return Error("cannot read the outbox");
    return jobs;
  }

  absl::StatusOr<int64_t> Requeue(const std::string& tenant, const std::vector<uint64_t>& ids,
                                  int64_t now_micros, int64_t expires_micros) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::string sql =
        "UPDATE logoutd_outbox SET state = 'pending', due_micros = ?1, expires_micros = ?2, "
        "finished_micros = 0, lease_owner = '', lease_until_micros = 0 "
        "WHERE state = 'dead' AND (?3 = '' OR tenant = ?3)";
    if (!ids.empty()) {
      std::vector<std::string> marks;
      for (size_t i = 0; i < ids.size(); ++i) marks.push_back(absl::StrCat("?", i + 4));
      absl::StrAppend(&sql, " AND id IN (", absl::StrJoin(marks, ", "), ")");
    }
    absl::MutexLock lock(&mu_);
    Stmt u(db_, sql);
    if (!u.ok()) return Error("cannot requeue dead letters");
    u.Int(1, now_micros);
    u.Int(2, expires_micros);
    u.Str(3, tenant);
    for (size_t i = 0; i < ids.size(); ++i) {
      u.Int(static_cast<int>(i + 4), static_cast<int64_t>(ids[i]));
    }
    if (sqlite3_step(u.get()) != SQLITE_DONE) return Error("cannot requeue dead letters");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  absl::StatusOr<OutboxStats> Stats(int64_t now_micros) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Stmt s(db_,
           "SELECT (SELECT count(*) FROM logoutd_outbox WHERE state = 'pending'), "
           "(SELECT count(*) FROM logoutd_outbox WHERE state = 'dead'), "
           "(SELECT coalesce(min(due_micros), 0) FROM logoutd_outbox "
           " WHERE state = 'pending' AND due_micros <= ?1)");
    if (!s.ok()) return Error("cannot read outbox statistics");
    s.Int(1, now_micros);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return Error("cannot read outbox statistics");
    return OutboxStats{s.Int(0), s.Int(1), s.Int(2)};
  }

  absl::StatusOr<int64_t> Prune(int64_t keep_finished, int64_t dead_before_micros) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    int64_t removed = 0;
    {
      // The newest `keep_finished` finished jobs stay: find the id of the oldest of them.
      Stmt d(db_,
             "DELETE FROM logoutd_outbox WHERE state IN ('delivered', 'rejected') AND id < "
             "(SELECT coalesce(min(id), 0) FROM (SELECT id FROM logoutd_outbox "
             " WHERE state IN ('delivered', 'rejected') ORDER BY id DESC LIMIT ?1))");
      if (!d.ok()) return Error("cannot prune the outbox");
      d.Int(1, std::max<int64_t>(1, keep_finished));
      if (sqlite3_step(d.get()) != SQLITE_DONE) return Error("cannot prune the outbox");
      removed += sqlite3_changes(db_);
    }
    Stmt d(db_, "DELETE FROM logoutd_outbox WHERE state = 'dead' AND finished_micros < ?1");
    if (!d.ok()) return Error("cannot prune the outbox");
    d.Int(1, dead_before_micros);
    if (sqlite3_step(d.get()) != SQLITE_DONE) return Error("cannot prune the outbox");
    removed += sqlite3_changes(db_);
    return removed;
  }

  bool single_process() const override { return true; }

 private:
  absl::Status Error(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::UnavailableError(absl::StrCat("sqlite outbox: ", what, ": ", sqlite3_errmsg(db_)));
  }
  bool Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  absl::Status Rollback(absl::string_view what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::Status s = Error(what);
    Exec("ROLLBACK");
    return s;
  }
  absl::Status Commit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (Exec("COMMIT")) return absl::OkStatus();
    return Rollback("cannot commit");
  }

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Outbox>> OpenSqliteOutbox(const std::string& path) {
  absl::StatusOr<sqlite3*> db = OpenSqliteFile(path);
  if (!db.ok()) return db.status();
  auto outbox = std::make_unique<SqliteOutbox>(*db);
  if (absl::Status s = outbox->Init(); !s.ok()) return s;
  return outbox;
}

}  // namespace logout::store
