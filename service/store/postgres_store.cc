// The PostgreSQL policy store (see postgres_store.h and schema.md).
//
// Connections: each store holds a write connection (Update) and a read connection (Load,
// ListAudit), each behind its own mutex, plus the watcher's own LISTEN connection once
// WatchChanges is called. Update serialises writers in this process on the write mutex and
// across processes on the policy row lock (`SELECT ... FOR UPDATE`, or an advisory lock while
// the row does not exist yet). Every SQL value goes through parameters, never into the text.
// Secrets from the URL (password, sslpassword) are scrubbed from every message we return.
//
// Failures: every libpq or SQL failure is UnavailableError (the transaction is rolled back); a
// stored body that does not parse is DataLossError. A connection found broken is reset once per
// call, and when it broke before COMMIT was sent the call is retried on the new connection (the
// mutation then runs again, as policy_store.h allows). If the connection breaks while COMMIT is
// in flight the outcome is unknown to us: Update returns UnavailableError although the write
// may have committed (the watcher and the next Load see it either way).
//
// WatchChanges delivers a version only when it is higher than the last one it delivered,
// whether it learnt it from a notification or from its poll.
#include "service/store/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "service/common/status_macros.h"

namespace logout::store {
namespace {

// Schema version this code writes and understands. Version 2 added logoutd_delivery_audit; a
// version 1 database is upgraded in place (table created, version raised) by EnsureSchema.
constexpr int64_t kSchemaVersion = 2;
// Largest ListDeliveryEvents page, and events per INSERT statement (9 parameters each).
constexpr int kMaxDeliveryPage = 1000;
constexpr size_t kDeliveryRowsPerInsert = 500;
// pg_advisory_xact_lock keys (advisory locks are per database): one serialises schema
// creation, the other serialises the very first write while the policy row does not exist.
constexpr int64_t kSchemaLockKey = 0x6c6f676f75743031;      // "logout01"
constexpr int64_t kFirstWriteLockKey = 0x6c6f676f75743032;  // "logout02"
constexpr char kChannel[] = "logoutd_policy";
// Largest ListAudit page.
constexpr uint32_t kMaxAuditPage = 1000;
// The watcher's safety-net poll interval, its reconnect backoff, and the bound on each of its
// connection attempts and queries.
constexpr absl::Duration kPollInterval = absl::Seconds(2);
constexpr absl::Duration kInitialBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);
constexpr absl::Duration kWatchIoTimeout = absl::Seconds(10);

// Type OIDs (pg_type.h is server-side; these are fixed by PostgreSQL).
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Redactor removes the URL's secrets from messages (libpq's own messages do not normally
// contain the password, but a message that echoes a parameter might).
class Redactor {
 public:
  explicit Redactor(const std::string& url) {
    // The raw userinfo password and any `password=`/`sslpassword=` query value, as written...
    const size_t scheme_end = url.find("://");
    if (scheme_end != std::string::npos) {
      const size_t authority = scheme_end + 3;
      const size_t authority_end = url.find_first_of("/?", authority);
      const size_t at =
          url.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
      if (at != std::string::npos && at >= authority) {
        const size_t colon = url.find(':', authority);
        if (colon != std::string::npos && colon < at) Add(url.substr(colon + 1, at - colon - 1));
      }
    }
    for (const std::string key : {"password=", "sslpassword="}) {
      for (size_t pos = url.find(key); pos != std::string::npos; pos = url.find(key, pos + 1)) {
        const size_t start = pos + key.size();
        const size_t end = url.find_first_of("& \t", start);
        Add(url.substr(start, end == std::string::npos ? std::string::npos : end - start));
      }
    }
    // ...and as libpq decodes them.
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
    if (error != nullptr) PQfreemem(error);
    if (options != nullptr) {
      for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (o->val == nullptr) continue;
        if (std::strcmp(o->keyword, "password") == 0 ||
            std::strcmp(o->keyword, "sslpassword") == 0) {
          Add(o->val);
        }
      }
      PQconninfoFree(options);
    }
    // Longest first, so that a secret containing another is removed whole.
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }

  // Clean returns `message` with every secret replaced, on one line with single spaces.
  std::string Clean(absl::string_view message) const {
    std::string out(message);
    for (const std::string& secret : secrets_) {
      out = absl::StrReplaceAll(out, {{secret, "<redacted>"}});
    }
    return absl::StrJoin(absl::StrSplit(out, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty()), " ");
  }

 private:
  void Add(std::string secret) {
    if (!secret.empty()) secrets_.push_back(std::move(secret));
  }

  std::vector<std::string> secrets_;
};

// One statement parameter: text (integers, strings) or binary (the body).
struct Param {
  Oid type;
  std::string value;
  bool binary = false;
  bool null = false;
};

Param Int8(int64_t v) { return Param{kInt8Oid, absl::StrCat(v)}; }
Param Text(std::string v) { return Param{kTextOid, std::move(v)}; }
Param Bytes(std::string v) { return Param{kByteaOid, std::move(v), /*binary=*/true}; }

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
void Quiet(PGconn* conn) {
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
}

absl::Status ConnectionError(const Redactor& redactor, PGconn* conn, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(
      "PostgreSQL ", what,
      " failed: ", conn == nullptr ? "out of memory" : redactor.Clean(PQerrorMessage(conn))));
}

// Exec runs `sql` with `params`, asking for binary results. OK only for COMMAND_OK/TUPLES_OK.
absl::StatusOr<ResultPtr> Exec(const Redactor& redactor, PGconn* conn, const char* sql,
                               const std::vector<Param>& params = {}) {
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const Param& p : params) {
    types.push_back(p.type);
    values.push_back(p.null ? nullptr : p.value.data());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  ResultPtr result(PQexecParams(conn, sql, static_cast<int>(params.size()), types.data(),
                                values.data(), lengths.data(), formats.data(), /*resultFormat=*/1));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  std::string message = redactor.Clean(result ? PQresultErrorMessage(result.get()) : "");
  if (message.empty()) message = redactor.Clean(PQerrorMessage(conn));
  const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL query failed: ", message,
                   state != nullptr ? absl::StrCat(" (SQLSTATE ", state, ")") : std::string()));
}

// GetInt reads an integer column of a binary (or text) result.
absl::StatusOr<int64_t> GetInt(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return absl::DataLossError("unexpected NULL integer column");
  const char* data = PQgetvalue(r, row, col);
  const int length = PQgetlength(r, row, col);
  if (PQfformat(r, col) == 0) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(absl::string_view(data, static_cast<size_t>(length)), &v)) {
      return absl::DataLossError("unparsable integer column");
    }
    return v;
  }
  if (length != 2 && length != 4 && length != 8) {
    return absl::DataLossError(absl::StrCat("unexpected integer width ", length));
  }
  uint64_t u = 0;
  for (int i = 0; i < length; ++i) u = (u << 8) | static_cast<unsigned char>(data[i]);
  if (length < 8 && (static_cast<unsigned char>(data[0]) & 0x80) != 0) {
    u |= ~uint64_t{0} << (8 * length);  // sign-extend
  }
  return static_cast<int64_t>(u);
}

// GetBytes returns a text or bytea column's raw bytes ("" for NULL).
std::string GetBytes(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return {};
  return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
}

std::string SerializeDeterministic(const v1::PolicyConfig& config) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    config.SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<v1::PolicyConfig> ParseBody(const std::string& body, int64_t version) {
  v1::PolicyConfig config;
  if (!config.ParseFromString(body)) {
    return absl::DataLossError(
        absl::StrCat("the stored policy (version ", version, ") is not a valid PolicyConfig"));
  }
  return config;
}

// A policy row as read from the database; version 0 when the row does not exist.
struct PolicyRow {
  bool exists = false;
  int64_t version = 0;
  std::string body;
};

absl::StatusOr<PolicyRow> ReadPolicyRow(const Redactor& redactor, PGconn* conn, const char* sql) {
  LOGOUT_ASSIGN_OR_RETURN(ResultPtr r, Exec(redactor, conn, sql));
  PolicyRow row;
  if (PQntuples(r.get()) == 0) return row;
  row.exists = true;
  LOGOUT_ASSIGN_OR_RETURN(row.version, GetInt(r.get(), 0, 0));
  row.body = GetBytes(r.get(), 0, 1);
  return row;
}

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

absl::StatusOr<ConnPtr> Connect(const Redactor& redactor, const std::string& url) {
  ConnectParams params(url);
  ConnPtr conn(PQconnectdbParams(params.keywords.data(), params.values.data(),
                                 /*expand_dbname=*/1));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return ConnectionError(redactor, conn.get(), "connection");
  }
  Quiet(conn.get());
  return conn;
}

// EnsureSchema creates the tables when missing and checks the recorded schema version.
absl::Status EnsureSchema(const Redactor& redactor, PGconn* conn) {
  auto body = [&redactor](PGconn* c) -> absl::Status {
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, "BEGIN").status());
    LOGOUT_RETURN_IF_ERROR(
        Exec(redactor, c, "SELECT pg_advisory_xact_lock($1)", {Int8(kSchemaLockKey)}).status());
    LOGOUT_RETURN_IF_ERROR(
        Exec(redactor, c, "CREATE TABLE IF NOT EXISTS logoutd_schema (version INTEGER NOT NULL)")
            .status());
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c,
                                "CREATE TABLE IF NOT EXISTS logoutd_policy ("
                                "id INTEGER PRIMARY KEY CHECK (id = 1), "
                                "version BIGINT NOT NULL, "
                                "body BYTEA NOT NULL, "
                                "updated_at_micros BIGINT NOT NULL)")
                               .status());
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c,
                                "CREATE TABLE IF NOT EXISTS logoutd_audit ("
                                "version BIGINT PRIMARY KEY, "
                                "time_micros BIGINT NOT NULL, "
                                "actor TEXT, action TEXT, object TEXT, "
                                "before_json TEXT, after_json TEXT)")
                               .status());
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c,
                                "CREATE TABLE IF NOT EXISTS logoutd_delivery_audit ("
                                "id BIGSERIAL PRIMARY KEY, "
                                "time_micros BIGINT NOT NULL, "
                                "tenant TEXT NOT NULL, client_id TEXT NOT NULL, "
                                "uri_origin TEXT NOT NULL, result TEXT NOT NULL, "
                                "attempts INTEGER NOT NULL, http_status INTEGER NOT NULL, "
                                "detail TEXT NOT NULL)")
                               .status());
    LOGOUT_RETURN_IF_ERROR(Exec(redactor, c,
                                "CREATE INDEX IF NOT EXISTS logoutd_delivery_audit_tenant "
                                "ON logoutd_delivery_audit (tenant, id)")
                               .status());
    LOGOUT_ASSIGN_OR_RETURN(ResultPtr r,
                            Exec(redactor, c, "SELECT max(version)::bigint FROM logoutd_schema"));
    if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) {
      LOGOUT_RETURN_IF_ERROR(Exec(redactor, c, "INSERT INTO logoutd_schema (version) VALUES ($1)",
                                  {Int8(kSchemaVersion)})
                                 .status());
    } else {
      LOGOUT_ASSIGN_OR_RETURN(const int64_t found, GetInt(r.get(), 0, 0));
      if (found == 1) {
        // Version 1 lacks only the delivery audit, created above: record the upgrade.
        LOGOUT_RETURN_IF_ERROR(
            Exec(redactor, c, "UPDATE logoutd_schema SET version = $1", {Int8(kSchemaVersion)})
                .status());
      } else if (found != kSchemaVersion) {
        return absl::UnavailableError(absl::StrCat(
            "the database has logoutd schema version ", found, "; this logoutd knows version ",
            kSchemaVersion, found > kSchemaVersion ? " (upgrade logoutd)" : " (unknown version)"));
      }
    }
    return Exec(redactor, c, "COMMIT").status();
  };
  absl::Status status = body(conn);
  if (!status.ok() && PQtransactionStatus(conn) != PQTRANS_IDLE) {
    ResultPtr rollback(PQexec(conn, "ROLLBACK"));
  }
  return status;
}

google::protobuf::Timestamp TimestampFromMicros(int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(static_cast<int32_t>(rest * 1000));
  return t;
}

// Watcher owns the LISTEN thread. Its connection is private to the thread; Stop() wakes the
// thread through an eventfd that every wait polls alongside the socket.
class Watcher {
 public:
  Watcher(const Redactor& redactor, std::string url, std::function<void(uint64_t)> on_change)
      : redactor_(redactor), url_(std::move(url)), on_change_(std::move(on_change)) {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { Run(); });
  }

  ~Watcher() {
    stopping_.store(true, std::memory_order_release);
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof(one));
    }
    thread_.join();
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

 private:
  enum class Wait { kReady, kTimeout, kStopped };

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // WaitFor waits until `fd` (if >= 0) has `events`, the deadline passes, or Stop is called.
  Wait WaitFor(int fd, short events, absl::Time deadline) {
    while (true) {
      if (stopping()) return Wait::kStopped;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return Wait::kTimeout;
      // poll ignores negative descriptors; without an eventfd, wake up often to see the flag.
      pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, events, 0}};
      const absl::Duration cap = wake_fd_ >= 0 ? absl::Seconds(60) : absl::Milliseconds(100);
      const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(std::min(left, cap)) + 1);
      const int n = poll(fds, 2, timeout_ms);
      if (n < 0 && errno != EINTR) return Wait::kTimeout;
      if (stopping()) return Wait::kStopped;
      if (n > 0 && fd >= 0 && (fds[1].revents & (events | POLLERR | POLLHUP)) != 0) {
        return Wait::kReady;
      }
    }
  }

  // Connect opens a connection without blocking Stop (PQconnectStart/PQconnectPoll).
  ConnPtr Connect() {
    ConnectParams params(url_);
    ConnPtr conn(PQconnectStartParams(params.keywords.data(), params.values.data(), 1));
    if (conn == nullptr || PQstatus(conn.get()) == CONNECTION_BAD) return nullptr;
    Quiet(conn.get());
    const absl::Time deadline = absl::Now() + kWatchIoTimeout;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    while (true) {
      if (poll_status == PGRES_POLLING_OK) return conn;
      if (poll_status == PGRES_POLLING_FAILED) return nullptr;
      const short events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
      if (WaitFor(PQsocket(conn.get()), events, deadline) != Wait::kReady) return nullptr;
      poll_status = PQconnectPoll(conn.get());
    }
  }

  // Query sends `sql` and collects its result, waiting on the socket so Stop stays prompt.
  absl::StatusOr<ResultPtr> Query(PGconn* conn, const char* sql) {
    if (!PQsendQueryParams(conn, sql, 0, nullptr, nullptr, nullptr, nullptr, 1)) {
      return ConnectionError(redactor_, conn, "query");
    }
    const absl::Time deadline = absl::Now() + kWatchIoTimeout;
    while (true) {
      const int flushed = PQflush(conn);
      if (flushed < 0) return ConnectionError(redactor_, conn, "query");
      if (flushed == 0) break;
      if (WaitFor(PQsocket(conn), POLLOUT, deadline) != Wait::kReady) {
        return absl::UnavailableError("PostgreSQL query timed out");
      }
    }
    ResultPtr last;
    absl::Status error;
    while (true) {
      while (PQisBusy(conn)) {
        if (WaitFor(PQsocket(conn), POLLIN, deadline) != Wait::kReady) {
          return absl::UnavailableError("PostgreSQL query timed out");
        }
        if (!PQconsumeInput(conn)) return ConnectionError(redactor_, conn, "query");
      }
      ResultPtr r(PQgetResult(conn));
      if (r == nullptr) break;
      const ExecStatusType s = PQresultStatus(r.get());
      if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && error.ok()) {
        error = absl::UnavailableError(absl::StrCat(
            "PostgreSQL query failed: ", redactor_.Clean(PQresultErrorMessage(r.get()))));
      }
      last = std::move(r);
    }
    if (!error.ok()) return error;
    if (last == nullptr) return absl::UnavailableError("PostgreSQL query returned no result");
    return last;
  }

  void Deliver(uint64_t version) {
    if (version <= last_seen_) return;
    last_seen_ = version;
    on_change_(version);
  }

  // PollVersion reads the committed version and delivers it when newer than the last seen.
  bool PollVersion(PGconn* conn) {
    absl::StatusOr<ResultPtr> r = Query(conn, "SELECT version FROM logoutd_policy WHERE id = 1");
    if (!r.ok()) return false;
    if (PQntuples(r->get()) == 0) return true;
    absl::StatusOr<int64_t> version = GetInt(r->get(), 0, 0);
    if (version.ok() && *version > 0) Deliver(static_cast<uint64_t>(*version));
    return true;
  }

  // Listen serves one connection until it breaks or Stop is called.
  void Listen(PGconn* conn) {
    if (!Query(conn, "LISTEN logoutd_policy").ok()) return;
    backoff_ = kInitialBackoff;
    absl::Time next_poll = absl::Now();
    while (!stopping()) {
      bool poll_now = false;
      while (PGnotify* n = PQnotifies(conn)) {
        uint64_t version = 0;
        if (std::strcmp(n->relname, kChannel) == 0 && absl::SimpleAtoi(n->extra, &version)) {
          Deliver(version);
        } else {
          poll_now = true;  // unknown payload: look at the table instead
        }
        PQfreemem(n);
      }
      if (stopping()) return;
      if (poll_now || absl::Now() >= next_poll) {
        if (!PollVersion(conn)) return;
        next_poll = absl::Now() + kPollInterval;
        continue;  // the poll may have consumed notifications
      }
      const Wait w = WaitFor(PQsocket(conn), POLLIN, next_poll);
      if (w == Wait::kStopped) return;
      if (w == Wait::kReady && !PQconsumeInput(conn)) return;
      if (PQstatus(conn) != CONNECTION_OK) return;
    }
  }

  void Run() {
    while (!stopping()) {
      ConnPtr conn = Connect();
      if (conn != nullptr) Listen(conn.get());
      conn.reset();
      if (stopping()) return;
      WaitFor(-1, 0, absl::Now() + backoff_);
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
  }

  const Redactor& redactor_;
  const std::string url_;
  const std::function<void(uint64_t)> on_change_;
  std::atomic<bool> stopping_{false};
  int wake_fd_ = -1;
  // Touched only by the watcher thread.
  uint64_t last_seen_ = 0;
  absl::Duration backoff_ = kInitialBackoff;
  std::thread thread_;  // last: starts after everything above is initialised
};

// PostgresStore implements PolicyStore over libpq. Thread-safe.
class PostgresStore final : public PolicyStore {
 public:
  PostgresStore(std::string url, std::unique_ptr<Redactor> redactor, ConnPtr write_conn,
                ConnPtr read_conn)
      : url_(std::move(url)), redactor_(std::move(redactor)) {
    absl::MutexLock w(&writer_.mu);
    writer_.conn = std::move(write_conn);
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
          LOGOUT_ASSIGN_OR_RETURN(
              PolicyRow row,
              ReadPolicyRow(*redactor_, conn,
                            "SELECT version, body FROM logoutd_policy WHERE id = 1"));
          StoredPolicy policy;
          if (!row.exists) return policy;
          LOGOUT_ASSIGN_OR_RETURN(policy.config, ParseBody(row.body, row.version));
          policy.version = static_cast<uint64_t>(row.version);
          return policy;
        });
  }

  absl::StatusOr<StoredPolicy> Update(const Mutation& mutation) override {
    return RunOnSession<StoredPolicy>(
        *redactor_, writer_,
        [this, &mutation](PGconn* conn, bool& committing) -> absl::StatusOr<StoredPolicy> {
          return UpdateInTransaction(conn, mutation, committing);
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
               *redactor_, writer_,
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
    watcher_ = std::make_unique<Watcher>(*redactor_, url_, std::move(on_change));
  }

 private:
  absl::StatusOr<StoredPolicy> UpdateInTransaction(PGconn* conn, const Mutation& mutation,
                                                   bool& committing) {
    constexpr char kLockRow[] = "SELECT version, body FROM logoutd_policy WHERE id = 1 FOR UPDATE";
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "BEGIN").status());
    LOGOUT_ASSIGN_OR_RETURN(PolicyRow row, ReadPolicyRow(*redactor_, conn, kLockRow));
    if (!row.exists) {
      // No row to lock yet: serialise first writers on an advisory lock, then look again (a
      // writer that held it before us has committed its row by the time we get it).
      LOGOUT_RETURN_IF_ERROR(
          Exec(*redactor_, conn, "SELECT pg_advisory_xact_lock($1)", {Int8(kFirstWriteLockKey)})
              .status());
      LOGOUT_ASSIGN_OR_RETURN(row, ReadPolicyRow(*redactor_, conn, kLockRow));
    }
    StoredPolicy next;
    if (row.exists) {
      LOGOUT_ASSIGN_OR_RETURN(next.config, ParseBody(row.body, row.version));
    }
    absl::StatusOr<v1::AuditEvent> event = mutation(next.config);
    if (!event.ok()) return event.status();  // RunOnSession rolls back

    const int64_t new_version = row.version + 1;
    const int64_t now_micros = absl::ToUnixMicros(absl::Now());
    next.version = static_cast<uint64_t>(new_version);
    event->set_policy_version(next.version);
    *event->mutable_time() = TimestampFromMicros(now_micros);

    std::vector<Param> policy_params = {
        Int8(new_version), Bytes(SerializeDeterministic(next.config)), Int8(now_micros)};
    LOGOUT_RETURN_IF_ERROR(
        Exec(*redactor_, conn,
             row.exists ? "UPDATE logoutd_policy SET version = $1, body = $2, "
                          "updated_at_micros = $3 WHERE id = 1"
                        : "INSERT INTO logoutd_policy (id, version, body, updated_at_micros) "
                          "VALUES (1, $1, $2, $3)",
             policy_params)
            .status());
    LOGOUT_RETURN_IF_ERROR(
        Exec(*redactor_, conn,
             "INSERT INTO logoutd_audit (version, time_micros, actor, action, object, "
             "before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
             {Int8(new_version), Int8(now_micros), Text(event->actor()), Text(event->action()),
              Text(event->object()), Text(event->before_json()), Text(event->after_json())})
            .status());
    // Queued now, delivered to listeners when (and only if) the transaction commits.
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "SELECT pg_notify($1, $2)",
                                {Text(kChannel), Text(absl::StrCat(new_version))})
                               .status());
    committing = true;
    LOGOUT_RETURN_IF_ERROR(Exec(*redactor_, conn, "COMMIT").status());
    return next;
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
  Session writer_;
  Session reader_;
  absl::Mutex watch_mu_;
  std::unique_ptr<Watcher> watcher_ ABSL_GUARDED_BY(watch_mu_);
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
  LOGOUT_ASSIGN_OR_RETURN(ConnPtr write_conn, Connect(*redactor, url));
  LOGOUT_RETURN_IF_ERROR(EnsureSchema(*redactor, write_conn.get()));
  LOGOUT_ASSIGN_OR_RETURN(ConnPtr read_conn, Connect(*redactor, url));
  return std::make_unique<PostgresStore>(url, std::move(redactor), std::move(write_conn),
                                         std::move(read_conn));
}

}  // namespace logout::store
