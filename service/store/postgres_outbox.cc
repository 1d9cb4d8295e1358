// The PostgreSQL outbox (outbox.h): two sessions of its own (writes, and claims/reads), so
// deliveries never queue behind policy writes. Claims use FOR UPDATE SKIP LOCKED, so replicas
// claiming at once never take the same job, and a lease that expired is taken over.
#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/status_macros.h"
#include "service/store/outbox.h"
#include "service/store/outbox_sql.h"
#include "service/store/pg_util.h"

namespace logout::store {
namespace {

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

// Rows per INSERT statement (16 parameters each).
constexpr size_t kRowsPerInsert = 200;

absl::StatusOr<OutboxJob> ReadJob(const PGresult* r, int row) {
  OutboxJob j;
  LOGOUT_ASSIGN_OR_RETURN(const int64_t id, GetInt(r, row, 0));
  j.id = static_cast<uint64_t>(id);
  j.kind = GetBytes(r, row, 1);
  j.tenant = GetBytes(r, row, 2);
  j.target = GetBytes(r, row, 3);
  j.uri = GetBytes(r, row, 4);
  j.origin = GetBytes(r, row, 5);
  j.iss = GetBytes(r, row, 6);
  j.sub = GetBytes(r, row, 7);
  j.sid = GetBytes(r, row, 8);
  j.initiator = GetBytes(r, row, 9);
  LOGOUT_ASSIGN_OR_RETURN(j.event_time_micros, GetInt(r, row, 10));
  LOGOUT_ASSIGN_OR_RETURN(j.created_micros, GetInt(r, row, 11));
  LOGOUT_ASSIGN_OR_RETURN(j.due_micros, GetInt(r, row, 12));
  LOGOUT_ASSIGN_OR_RETURN(j.expires_micros, GetInt(r, row, 13));
  LOGOUT_ASSIGN_OR_RETURN(const int64_t attempts, GetInt(r, row, 14));
  j.attempts = static_cast<int32_t>(attempts);
  ParseJobState(GetBytes(r, row, 15), &j.state);
  j.detail = GetBytes(r, row, 16);
  LOGOUT_ASSIGN_OR_RETURN(const int64_t status, GetInt(r, row, 17));
  j.http_status = static_cast<int32_t>(status);
  LOGOUT_ASSIGN_OR_RETURN(j.finished_micros, GetInt(r, row, 18));
  j.lease_owner = GetBytes(r, row, 19);
  LOGOUT_ASSIGN_OR_RETURN(j.lease_until_micros, GetInt(r, row, 20));
  return j;
}

// A list for `= ANY(string_to_array($n, E'\n'))`: origins, states and ids never hold a newline.
std::string Lines(const std::vector<std::string>& items) { return absl::StrJoin(items, "\n"); }

class PostgresOutbox final : public Outbox {
 public:
  PostgresOutbox(std::unique_ptr<Redactor> redactor, pg::ConnPtr writer, pg::ConnPtr reader)
      : redactor_(std::move(redactor)) {
    absl::MutexLock w(&writer_.mu);
    writer_.conn = std::move(writer);
    absl::MutexLock r(&reader_.mu);
    reader_.conn = std::move(reader);
  }

  absl::Status Enqueue(std::vector<OutboxJob>& jobs, const Lease& lease) override {
    if (jobs.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<uint64_t>> ids = RunOnSession<std::vector<uint64_t>>(
        *redactor_, writer_,
        [&](PGconn* conn, bool& committing) -> absl::StatusOr<std::vector<uint64_t>> {
          std::vector<uint64_t> out;
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
          for (size_t start = 0; start < jobs.size(); start += kRowsPerInsert) {
            const size_t end = std::min(jobs.size(), start + kRowsPerInsert);
            std::string sql = outbox_sql::kInsert;
            std::vector<Param> params;
            for (size_t i = start; i < end; ++i) {
              const OutboxJob& j = jobs[i];
              const size_t b = params.size();
              absl::StrAppend(&sql, i == start ? "" : ", ", "(");
              for (int k = 1; k <= 14; ++k) absl::StrAppend(&sql, k == 1 ? "" : ", ", "$", b + k);
              absl::StrAppend(&sql, ", 'pending', '', 0, 0, $", b + 15, ", $", b + 16, ")");
              for (const std::string* s : {&j.kind, &j.tenant, &j.target, &j.uri, &j.origin, &j.iss,
                                           &j.sub, &j.sid, &j.initiator}) {
                params.push_back(Text(*s));
              }
              for (int64_t v : {j.event_time_micros, j.created_micros, j.due_micros,
                                j.expires_micros, static_cast<int64_t>(j.attempts)}) {
                params.push_back(Int8(v));
              }
              params.push_back(Text(lease.owner));
              params.push_back(Int8(lease.owner.empty() ? 0 : lease.until_micros));
            }
            absl::StrAppend(&sql, " RETURNING id");
            LOGOUT_ASSIGN_OR_RETURN(ResultPtr r, Exec(*redactor_, conn, sql.c_str(), params));
            for (int row = 0; row < PQntuples(r.get()); ++row) {
              LOGOUT_ASSIGN_OR_RETURN(const int64_t id, GetInt(r.get(), row, 0));
              out.push_back(static_cast<uint64_t>(id));
            }
          }
          committing = true;
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
          return out;
        });
    if (!ids.ok()) return ids.status();
    if (ids->size() != jobs.size()) return absl::InternalError("outbox insert returned no ids");
    // Ids come from the sequence row by row in VALUES order: ascending is that order.
    std::sort(ids->begin(), ids->end());
    for (size_t i = 0; i < jobs.size(); ++i) {
      jobs[i].id = (*ids)[i];
      jobs[i].state = JobState::kPending;
      jobs[i].lease_owner = lease.owner;
      jobs[i].lease_until_micros = lease.owner.empty() ? 0 : lease.until_micros;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<ClaimedJob>> Claim(const ClaimRequest& request) override {
    using Jobs = std::vector<ClaimedJob>;
    if (request.limit <= 0) return Jobs{};
    return RunOnSession<Jobs>(
        *redactor_, reader_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<Jobs> {
          committing = true;  // one statement: autocommit
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr r,
              Exec(*redactor_, conn,
                   "WITH c AS (SELECT id, lease_owner AS prev FROM logoutd_outbox "
                   " WHERE state = 'pending' AND due_micros <= $1 AND lease_until_micros < $1 "
                   " AND NOT (origin = ANY(string_to_array($2, E'\\n'))) "
                   " ORDER BY due_micros LIMIT $3 FOR UPDATE SKIP LOCKED) "
                   "UPDATE logoutd_outbox o SET lease_owner = $4, lease_until_micros = $5 "
                   "FROM c WHERE o.id = c.id RETURNING o.*, c.prev",
                   {Int8(request.now_micros), Text(Lines(request.skip_origins)),
                    Int8(request.limit), Text(request.owner), Int8(request.lease_until_micros)}));
          Jobs out;
          for (int row = 0; row < PQntuples(r.get()); ++row) {
            LOGOUT_ASSIGN_OR_RETURN(OutboxJob job, ReadJob(r.get(), row));
            const std::string prev = GetBytes(r.get(), row, 21);
            out.push_back({std::move(job), !prev.empty() && prev != request.owner});
          }
          std::sort(out.begin(), out.end(), [](const ClaimedJob& a, const ClaimedJob& b) {
            return a.job.due_micros < b.job.due_micros;
          });
          return out;
        });
  }

  absl::StatusOr<int> Settle(const std::vector<Settlement>& settlements) override {
    if (settlements.empty()) return 0;
    return RunOnSession<int>(
        *redactor_, writer_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<int> {
          int lost = 0;
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
          for (const Settlement& s : settlements) {
            LOGOUT_ASSIGN_OR_RETURN(
                ResultPtr r,
                Exec(*redactor_, conn,
                     "UPDATE logoutd_outbox SET state = $1, attempts = $2, detail = $3, "
                     "http_status = $4, "
                     "due_micros = CASE WHEN $1 = 'pending' THEN $5 ELSE due_micros END, "
                     "finished_micros = $6, lease_owner = '', lease_until_micros = 0 "
                     "WHERE id = $7 AND state = 'pending' AND lease_owner = $8",
                     {Text(std::string(JobStateName(s.state))), Int8(s.attempts), Text(s.detail),
                      Int8(s.http_status), Int8(s.due_micros),
                      Int8(s.state == JobState::kPending ? 0 : s.finished_micros),
                      Int8(static_cast<int64_t>(s.id)), Text(s.owner)}));
            if (std::string(PQcmdTuples(r.get())) == "0") ++lost;
          }
          committing = true;
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
          return lost;
        });
  }

  absl::Status ReleaseLeases(const std::string& owner) override {
    return RunOnSession<bool>(
               *redactor_, writer_,
               [&](PGconn* conn, bool& committing) -> absl::StatusOr<bool> {
                 committing = true;
                 LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn,
                                             "UPDATE logoutd_outbox SET lease_owner = '', "
                                             "lease_until_micros = 0 WHERE state = 'pending' AND "
                                             "lease_owner != '' AND ($1 = '' OR lease_owner = $1)",
                                             {Text(owner)})
                                            .status());
                 return true;
               })
        .status();
  }

  absl::StatusOr<std::vector<OutboxJob>> List(const ListFilter& f) override {
    using Jobs = std::vector<OutboxJob>;
    const int limit = std::min(f.limit, kMaxOutboxPage);
    if (limit <= 0) return Jobs{};
    std::vector<std::string> states;
    for (JobState s : f.states) states.emplace_back(JobStateName(s));
    std::vector<std::string> ids;
    for (uint64_t id : f.ids) ids.push_back(absl::StrCat(id));
    const int64_t before = f.before_id == 0 || f.before_id > static_cast<uint64_t>(INT64_MAX)
                               ? INT64_MAX
                               : static_cast<int64_t>(f.before_id);
    return RunOnSession<Jobs>(
        *redactor_, reader_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<Jobs> {
          committing = true;
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr r,
              Exec(*redactor_, conn,
                   absl::StrCat(outbox_sql::kSelect,
                                " WHERE id < $1 AND ($2 = '' OR tenant = $2) "
                                "AND ($3 = '' OR kind = $3) "
                                "AND ($5 = '' OR state = ANY(string_to_array($5, E'\\n'))) "
                                "AND ($6 = '' OR id = ANY(string_to_array($6, E'\\n')::bigint[])) "
                                "ORDER BY id DESC LIMIT $4")
                       .c_str(),
                   {Int8(before), Text(f.tenant), Text(f.kind), Int8(limit), Text(Lines(states)),
                    Text(Lines(ids))}));
          Jobs out;
          for (int row = 0; row < PQntuples(r.get()); ++row) {
            LOGOUT_ASSIGN_OR_RETURN(OutboxJob job, ReadJob(r.get(), row));
            out.push_back(std::move(job));
          }
          return out;
        });
  }

  absl::StatusOr<int64_t> Requeue(const std::string& tenant, const std::vector<uint64_t>& ids,
                                  int64_t now_micros, int64_t expires_micros) override {
    std::vector<std::string> id_texts;
    for (uint64_t id : ids) id_texts.push_back(absl::StrCat(id));
    return RunOnSession<int64_t>(
        *redactor_, writer_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<int64_t> {
          committing = true;
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr r,
              Exec(*redactor_, conn,
                   "UPDATE logoutd_outbox SET state = 'pending', due_micros = $1, "
                   "expires_micros = $2, finished_micros = 0, lease_owner = '', "
                   "lease_until_micros = 0 WHERE state = 'dead' AND ($3 = '' OR tenant = $3) "
                   "AND ($4 = '' OR id = ANY(string_to_array($4, E'\\n')::bigint[]))",
                   {Int8(now_micros), Int8(expires_micros), Text(tenant), Text(Lines(id_texts))}));
          int64_t n = 0;
          absl::SimpleAtoi(PQcmdTuples(r.get()), &n);
          return n;
        });
  }

  absl::StatusOr<OutboxStats> Stats(int64_t now_micros) override {
    return RunOnSession<OutboxStats>(
        *redactor_, reader_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<OutboxStats> {
          committing = true;
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr r,
              Exec(*redactor_, conn,
                   "SELECT (SELECT count(*) FROM logoutd_outbox WHERE state = 'pending'), "
                   "(SELECT count(*) FROM logoutd_outbox WHERE state = 'dead'), "
                   "(SELECT coalesce(min(due_micros), 0) FROM logoutd_outbox "
                   " WHERE state = 'pending' AND due_micros <= $1)",
                   {Int8(now_micros)}));
          OutboxStats s;
          LOGOUT_ASSIGN_OR_RETURN(s.pending, GetInt(r.get(), 0, 0));
          LOGOUT_ASSIGN_OR_RETURN(s.dead, GetInt(r.get(), 0, 1));
          LOGOUT_ASSIGN_OR_RETURN(s.oldest_due_micros, GetInt(r.get(), 0, 2));
          return s;
        });
  }

  absl::StatusOr<int64_t> Prune(int64_t keep_finished, int64_t dead_before_micros) override {
    return RunOnSession<int64_t>(
        *redactor_, writer_, [&](PGconn* conn, bool& committing) -> absl::StatusOr<int64_t> {
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
          LOGOUT_ASSIGN_OR_RETURN(
              ResultPtr a,
              Exec(*redactor_, conn,
                   "DELETE FROM logoutd_outbox WHERE state IN ('delivered', 'rejected') AND id < "
                   "(SELECT coalesce(min(id), 0) FROM (SELECT id FROM logoutd_outbox "
                   " WHERE state IN ('delivered', 'rejected') ORDER BY id DESC LIMIT $1) k)",
                   {Int8(std::max<int64_t>(1, keep_finished))}));
          LOGOUT_ASSIGN_OR_RETURN(ResultPtr b,
                                  Exec(*redactor_, conn,
                                       "DELETE FROM logoutd_outbox WHERE state = 'dead' AND "
                                       "finished_micros < $1",
                                       {Int8(dead_before_micros)}));
          committing = true;
          LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
          int64_t x = 0;
          int64_t y = 0;
          absl::SimpleAtoi(PQcmdTuples(a.get()), &x);
          absl::SimpleAtoi(PQcmdTuples(b.get()), &y);
          return x + y;
        });
  }

  bool single_process() const override { return false; }

 private:
  const std::unique_ptr<Redactor> redactor_;
  Session writer_;
  Session reader_;
};

// The table, under the schema lock so replicas starting together create it once.
absl::Status EnsureOutboxTable(const Redactor& redactor, PGconn* conn) {
  absl::Status s = [&]() -> absl::Status {
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, conn, "BEGIN").status());
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, conn, "SELECT pg_advisory_xact_lock($1)",
                                {Int8(0x6c6f676f75743031)})  // the store's schema lock key
                               .status());
    const std::string table = absl::StrCat("CREATE TABLE IF NOT EXISTS logoutd_outbox (",
                                           "id BIGSERIAL PRIMARY KEY, ", outbox_sql::kColumns, ")");
    for (const char* sql : {table.c_str(), outbox_sql::kDueIndex, outbox_sql::kTenantIndex}) {
      LOGOUT_RETURN_IF_ERROR(Exec(redactor, conn, sql).status());
    }
    return Exec(redactor, conn, "COMMIT").status();
  }();
  if (!s.ok() && PQtransactionStatus(conn) != PQTRANS_IDLE) {
    ResultPtr rollback(PQexec(conn, "ROLLBACK"));
  }
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Outbox>> OpenPostgresOutbox(const std::string& url) {
  auto redactor = std::make_unique<Redactor>(url);
  LOGOUT_ASSIGN_OR_RETURN(pg::ConnPtr writer, pg::Connect(*redactor, url));
  LOGOUT_RETURN_IF_ERROR(EnsureOutboxTable(*redactor, writer.get()));
  LOGOUT_ASSIGN_OR_RETURN(pg::ConnPtr reader, pg::Connect(*redactor, url));
  return std::make_unique<PostgresOutbox>(std::move(redactor), std::move(writer),
                                          std::move(reader));
}

}  // namespace logout::store
