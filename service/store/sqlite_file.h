// Internal to the SQLite store and outbox: opening the database file the same way for both.
#ifndef SERVICE_STORE_SQLITE_FILE_H_
#define SERVICE_STORE_SQLITE_FILE_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/statusor.h"

namespace logout::store {

// OpenSqliteFile opens (creating if needed) the database at `path` for reading and writing
// from several threads (the caller serialises its statements). The caller closes it
// (sqlite3_close_v2). UnavailableError, naming the path, when it cannot be opened.
absl::StatusOr<sqlite3*> OpenSqliteFile(const std::string& path);

}  // namespace logout::store

#endif  // SERVICE_STORE_SQLITE_FILE_H_
