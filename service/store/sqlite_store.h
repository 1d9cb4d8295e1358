// The embedded default policy store: one SQLite file in WAL mode.
//
//   auto store = SqliteStore::Open("/var/lib/logoutd/logoutd.db");
#ifndef SERVICE_STORE_SQLITE_STORE_H_
#define SERVICE_STORE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/store/outbox.h"
#include "service/store/policy_store.h"

namespace logout::store {

// OpenSqliteStore opens (creating if needed) the database at `path`: WAL journal, synchronous
// FULL, the schema of schema.md created or migrated. One process should write a file at a time
// (a second writer waits on SQLite's lock, up to 5 s, then gets UnavailableError).
// UnavailableError when the file cannot be opened or is not a logoutd database.
absl::StatusOr<std::unique_ptr<PolicyStore>> OpenSqliteStore(const std::string& path);

// OpenSqliteOutbox opens the outbox (outbox.h) of the database at `path` on a connection of
// its own, creating its table when missing.
absl::StatusOr<std::unique_ptr<Outbox>> OpenSqliteOutbox(const std::string& path);

}  // namespace logout::store

#endif  // SERVICE_STORE_SQLITE_STORE_H_
