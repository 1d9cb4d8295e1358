// The multi-replica policy store: PostgreSQL, shared by every logoutd replica.
//
//   auto store = OpenPostgresStore("postgresql://logoutd@db:5432/logoutd");
#ifndef SERVICE_STORE_POSTGRES_STORE_H_
#define SERVICE_STORE_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/store/outbox.h"
#include "service/store/policy_store.h"

namespace logout::store {

// OpenPostgresStore connects with libpq to `url` (a libpq connection URI), creates or migrates
// the schema (the same tables as the SQLite store), and returns a store whose Update runs in
// one transaction holding a row lock on the policy row (the etag/version check happens inside
// it) and sends NOTIFY after commit; WatchChanges LISTENs on a dedicated connection and also
// polls the version every 2 s as a safety net. UnavailableError when the server
// cannot be reached (the message never contains the password).
absl::StatusOr<std::unique_ptr<PolicyStore>> OpenPostgresStore(const std::string& url);

// OpenPostgresOutbox opens the outbox (outbox.h) of the database at `url` on two connections
// of its own, creating its table when missing.
absl::StatusOr<std::unique_ptr<Outbox>> OpenPostgresOutbox(const std::string& url);

}  // namespace logout::store

#endif  // SERVICE_STORE_POSTGRES_STORE_H_
