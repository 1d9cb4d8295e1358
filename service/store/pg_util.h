// libpq helpers shared by the PostgreSQL store and its change watcher: owned connections and
// results, secret redaction, parameterised statements with binary results, typed column reads,
// and sessions (one connection, one caller at a time, reset once when it breaks).
//
//   pg::Redactor redactor(url);
//   LOGOUT_ASSIGN_OR_RETURN(pg::ConnPtr conn, pg::Connect(redactor, url));
//   LOGOUT_ASSIGN_OR_RETURN(pg::ResultPtr r, pg::Exec(redactor, conn.get(),
//                                                     "SELECT $1::bigint", {pg::Int8(7)}));
#ifndef SERVICE_STORE_PG_UTIL_H_
#define SERVICE_STORE_PG_UTIL_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/timestamp.pb.h"

namespace logout::store::pg {

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Redactor removes the URL's secrets from messages (libpq's own messages do not normally
// contain the password, but a message that echoes a parameter might). Thread-safe (immutable).
class Redactor {
 public:
  explicit Redactor(const std::string& url);

  // Clean returns `message` with every secret replaced, on one line with single spaces.
  std::string Clean(absl::string_view message) const;

 private:
  void Add(std::string secret) {
    if (!secret.empty()) secrets_.push_back(std::move(secret));
  }

  std::vector<std::string> secrets_;
};

// One statement parameter: text (integers, strings) or binary (a body).
struct Param {
  Oid type;
  std::string value;
  bool binary = false;
  bool null = false;
};

Param Int8(int64_t v);
Param Text(std::string v);
Param Bytes(std::string v);

// ConnectParams are the libpq keyword/value arrays for `url` with our defaults; settings given
// in the URL win because the expanded dbname comes last. The defaults bound a connect
// attempt, notice a dead peer, and keep one stuck writer from blocking the others for ever:
// a lock wait gives up after 30 s, and a transaction left idle for 60 s is ended by the server.
struct ConnectParams {
  explicit ConnectParams(const std::string& url) {
    keywords = {"connect_timeout",
                "application_name",
                "keepalives",
                "keepalives_idle",
                "keepalives_interval",
                "keepalives_count",
                "options",
                "dbname",
                nullptr};
    values = {"5",
              "logoutd",
              "1",
              "30",
              "10",
              "3",
              "-c lock_timeout=30s -c idle_in_transaction_session_timeout=60s",
              url.c_str(),
              nullptr};
  }
  // Both point into string literals and `url`, which must outlive them.
  std::vector<const char*> keywords;
  std::vector<const char*> values;
};

// Quiet drops server notices ("relation already exists, skipping") and asynchronous messages
// that libpq would otherwise print to stderr; failures reach us through results instead.
void Quiet(PGconn* conn);

// ConnectionError is the UnavailableError for a failed connection or query, redacted.
absl::Status ConnectionError(const Redactor& redactor, PGconn* conn, absl::string_view what);

// Exec runs `sql` with `params`, asking for binary results. OK only for COMMAND_OK/TUPLES_OK;
// otherwise UnavailableError with the server's message and SQLSTATE.
absl::StatusOr<ResultPtr> Exec(const Redactor& redactor, PGconn* conn, const char* sql,
                               const std::vector<Param>& params = {});

// GetInt reads an integer column of a binary (or text) result.
absl::StatusOr<int64_t> GetInt(const PGresult* r, int row, int col);

// GetBytes returns a text or bytea column's raw bytes ("" for NULL).
std::string GetBytes(const PGresult* r, int row, int col);

// Connect opens a blocking connection with ConnectParams' defaults.
absl::StatusOr<ConnPtr> Connect(const Redactor& redactor, const std::string& url);

google::protobuf::Timestamp TimestampFromMicros(int64_t micros);

// Session is one connection used by one caller at a time.
struct Session {
  absl::Mutex mu;
  ConnPtr conn ABSL_GUARDED_BY(mu);
};

// RunOnSession runs `body(conn, committing)` on the session's connection under its mutex.
// A broken connection is reset (PQreset) at most once per call: up front when it is already
// known broken, or after `body` failed with UnavailableError because the connection broke,
// provided `body` had not started COMMIT (so nothing can have been written) — then `body` runs
// again. Any transaction left open by a failure is rolled back before returning.
template <typename T, typename Body>
absl::StatusOr<T> RunOnSession(const Redactor& redactor, Session& session, Body body) {
  absl::MutexLock lock(&session.mu);
  PGconn* conn = session.conn.get();
  bool reset_used = false;
  if (PQstatus(conn) != CONNECTION_OK) {
    reset_used = true;
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) return ConnectionError(redactor, conn, "reconnect");
  }
  while (true) {
    bool committing = false;
    absl::StatusOr<T> result = body(conn, committing);
    if (!result.ok() && PQstatus(conn) == CONNECTION_OK &&
        PQtransactionStatus(conn) != PQTRANS_IDLE) {
      ResultPtr rollback(PQexec(conn, "ROLLBACK"));
      if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        // Cannot get back to a clean state: start over on the next call.
        PQreset(conn);
      }
    }
    if (result.ok() || reset_used || committing ||
        result.status().code() != absl::StatusCode::kUnavailable ||
        PQstatus(conn) == CONNECTION_OK) {
      return result;
    }
    reset_used = true;
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
      return absl::UnavailableError(absl::StrCat(
          result.status().message(), "; reconnect failed: ", redactor.Clean(PQerrorMessage(conn))));
    }
  }
}

}  // namespace logout::store::pg

#endif  // SERVICE_STORE_PG_UTIL_H_
