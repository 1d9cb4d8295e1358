#include "service/store/pg_util.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace logout::store::pg {
namespace {

// Type OIDs (pg_type.h is server-side; these are fixed by PostgreSQL).
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kByteaOid = 17;

}  // namespace

Redactor::Redactor(const std::string& url) {
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
      if (std::strcmp(o->keyword, "password") == 0 || std::strcmp(o->keyword, "sslpassword") == 0) {
        Add(o->val);
      }
    }
    PQconninfoFree(options);
  }
  // Longest first, so that a secret containing another is removed whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Clean(absl::string_view message) const {
  std::string out(message);
  for (const std::string& secret : secrets_) {
    out = absl::StrReplaceAll(out, {{secret, "<redacted>"}});
  }
  return absl::StrJoin(absl::StrSplit(out, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty()), " ");
}

Param Int8(int64_t v) { return Param{kInt8Oid, absl::StrCat(v)}; }
Param Text(std::string v) { return Param{kTextOid, std::move(v)}; }
Param Bytes(std::string v) { return Param{kByteaOid, std::move(v), /*binary=*/true}; }

void Quiet(PGconn* conn) {
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
}

absl::Status ConnectionError(const Redactor& redactor, PGconn* conn, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(
      "PostgreSQL ", what,
      " failed: ", conn == nullptr ? "out of memory" : redactor.Clean(PQerrorMessage(conn))));
}

absl::StatusOr<ResultPtr> Exec(const Redactor& redactor, PGconn* conn, const char* sql,
                               const std::vector<Param>& params) {
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

std::string GetBytes(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return {};
  return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
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

}  // namespace logout::store::pg
