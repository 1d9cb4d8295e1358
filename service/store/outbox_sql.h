// SQL shared by the SQLite and PostgreSQL outboxes (service/store/outbox.h): the table, its
// indexes and the column list every read returns, in OutboxJob's order. Internal to the store.
#ifndef SERVICE_STORE_OUTBOX_SQL_H_
#define SERVICE_STORE_OUTBOX_SQL_H_

namespace logout::store::outbox_sql {

// Every column but the id, as the CREATE TABLE statements declare them; `%ID%` is the id
// column's declaration, which differs (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL:
// BIGSERIAL PRIMARY KEY).
inline constexpr char kColumns[] =
    "kind TEXT NOT NULL, tenant TEXT NOT NULL, target TEXT NOT NULL, uri TEXT NOT NULL, "
    "origin TEXT NOT NULL, iss TEXT NOT NULL, sub TEXT NOT NULL, sid TEXT NOT NULL, "
    "initiator TEXT NOT NULL, event_time_micros BIGINT NOT NULL, "
    "created_micros BIGINT NOT NULL, due_micros BIGINT NOT NULL, "
    "expires_micros BIGINT NOT NULL, attempts INTEGER NOT NULL, "
    "state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'rejected', 'dead')), "
    "detail TEXT NOT NULL, http_status INTEGER NOT NULL, finished_micros BIGINT NOT NULL, "
    "lease_owner TEXT NOT NULL, lease_until_micros BIGINT NOT NULL";

// Pending jobs by due time (what Claim scans), and every job by tenant (List, Requeue).
inline constexpr char kDueIndex[] =
    "CREATE INDEX IF NOT EXISTS logoutd_outbox_due ON logoutd_outbox (due_micros) "
    "WHERE state = 'pending'";
inline constexpr char kTenantIndex[] =
    "CREATE INDEX IF NOT EXISTS logoutd_outbox_tenant ON logoutd_outbox (tenant, id)";

// What every read selects (ReadJob's column order).
inline constexpr char kSelect[] =
    "SELECT id, kind, tenant, target, uri, origin, iss, sub, sid, initiator, event_time_micros, "
    "created_micros, due_micros, expires_micros, attempts, state, detail, http_status, "
    "finished_micros, lease_owner, lease_until_micros FROM logoutd_outbox";

// Enqueue's INSERT columns (values 1..20 in this order).
inline constexpr char kInsert[] =
    "INSERT INTO logoutd_outbox (kind, tenant, target, uri, origin, iss, sub, sid, initiator, "
    "event_time_micros, created_micros, due_micros, expires_micros, attempts, state, detail, "
    "http_status, finished_micros, lease_owner, lease_until_micros) VALUES ";

}  // namespace logout::store::outbox_sql

#endif  // SERVICE_STORE_OUTBOX_SQL_H_
