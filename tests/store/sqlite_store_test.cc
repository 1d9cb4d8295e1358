#include "service/store/sqlite_store.h"

#include <sqlite3.h>

#include <atomic>
#include <fstream>

#include "gtest/gtest.h"
#include "service/common/deterministic_bytes.h"
#include "tests/store/policy_store_contract.h"
#include "tests/testing/temp_dir.h"

namespace logout::store {
namespace {

StoreFactory SqliteFactory() {
  return StoreFactory{"Sqlite",
                      [] {
                        // A fresh directory: an earlier test process with the same pid (pids
                        // are reused during a long run) may have left a database behind.
                        return testing::FreshTempDir("sqlite_store") + "/logoutd.db";
                      },
                      [](const std::string& path) { return OpenSqliteStore(path); }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, PolicyStoreContractTest, ::testing::Values(SqliteFactory()),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) {
                           return info.param.name;
                         });

TEST(SqliteStoreTest, UsesWalJournal) {
  const std::string path = SqliteFactory().new_location();
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  const std::string path = SqliteFactory().new_location();
  {
    std::ofstream out(path);
    out << "this is not a database, it is a text file long enough to have a header........";
  }
  auto store = OpenSqliteStore(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
}

TEST(SqliteStoreTest, RefusesANewerSchema) {
  const std::string path = SqliteFactory().new_location();
  ASSERT_TRUE(OpenSqliteStore(path).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE logoutd_schema SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenSqliteStore(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos);
}

// The tables of schema versions 1 and 2, exactly as that code created them (version 2 added
// the delivery audit).
constexpr char kVersion1Tables[] =
    "CREATE TABLE logoutd_schema (version INTEGER NOT NULL);"
    "CREATE TABLE logoutd_policy (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " version INTEGER NOT NULL, body BLOB NOT NULL, updated_at_micros INTEGER NOT NULL);"
    "CREATE TABLE logoutd_audit (version INTEGER PRIMARY KEY, time_micros INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL,"
    " before_json TEXT NOT NULL, after_json TEXT NOT NULL);";

// Runs `sql` on its own connection, as another program would.
void ExecSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

int SchemaVersion(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return -1;
  sqlite3_stmt* stmt = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db, "SELECT version FROM logoutd_schema", -1, &stmt, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}

TEST(SqliteStoreTest, UpgradesAVersion1DatabaseInPlace) {
  const std::string path = SqliteFactory().new_location();
  // Exactly what the version 1 code created, with one committed policy write.
  ExecSql(path,
          (std::string(kVersion1Tables) +
           "INSERT INTO logoutd_schema (version) VALUES (1);"
           "INSERT INTO logoutd_policy VALUES (1, 3, X'0a060a0461636d65', 1700000000000000);"
           "INSERT INTO logoutd_audit VALUES (3, 1700000000000000, 'token:ab', 'CreateTenant',"
           " 'tenant/acme', '', '{}');")
              .c_str());
  ASSERT_EQ(SchemaVersion(path), 1);
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(SchemaVersion(path), 3);
  auto p = (*store)->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 3u);
  ASSERT_EQ(p->config.tenants_size(), 1);
  EXPECT_EQ(p->config.tenants(0).name(), "acme");
  EXPECT_EQ((*store)->ListAudit(0, 10)->size(), 1u);
  ASSERT_TRUE(
      (*store)->AppendDeliveryEvents({DeliveryEvent("acme", "web", "delivered", 1, 200, 5)}).ok());
  // Writes keep working on the upgraded file, and opening it again changes nothing.
  ASSERT_TRUE((*store)
                  ->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
                    c.add_tenants()->set_name("beta");
                    return v1::AuditEvent();
                  })
                  .ok());
  store->reset();
  auto again = OpenSqliteStore(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(SchemaVersion(path), 3);
  EXPECT_EQ((*again)->Load()->version, 4u);
  auto events = (*again)->ListDeliveryEvents("", 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].client_id(), "web");
}

TEST(SqliteStoreTest, UpgradesAVersion2DatabaseWithEverything) {
  const std::string path = SqliteFactory().new_location();
  // Exactly what the version 2 code created (its kSchema), holding a policy with every kind of
  // object, two audit events and a delivery event.
  ExecSql(
      path,
      (std::string(kVersion1Tables) +
       "CREATE TABLE logoutd_delivery_audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
       " time_micros INTEGER NOT NULL, tenant TEXT NOT NULL, client_id TEXT NOT NULL,"
       " uri_origin TEXT NOT NULL, result TEXT NOT NULL, attempts INTEGER NOT NULL,"
       " http_status INTEGER NOT NULL, detail TEXT NOT NULL);"
       "CREATE INDEX logoutd_delivery_audit_tenant ON logoutd_delivery_audit (tenant, id);"
       "INSERT INTO logoutd_schema (version) VALUES (2);"
       "INSERT INTO logoutd_audit VALUES (41, 1, 'token:ab', 'ImportPolicy', 'policy', '', '{}');"
       "INSERT INTO logoutd_audit VALUES (42, 2, 'token:ab', 'UpdateClient',"
       " 'tenant/acme/client/web', '{}', '{}');"
       "INSERT INTO logoutd_delivery_audit (time_micros, tenant, client_id, uri_origin, result,"
       " attempts, http_status, detail) VALUES (5, 'acme', 'web', 'https://web.example.com',"
       " 'delivered', 1, 200, '');")
          .c_str());
  {
    const std::string body = common::DeterministicBytes(EverythingPolicy());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO logoutd_policy VALUES (1, 42, ?1, 2)", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(SchemaVersion(path), 3);
  auto p = (*store)->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 42u);
  EXPECT_EQ(common::DeterministicBytes(p->config),
            common::DeterministicBytes(EverythingPolicyByName()));
  auto audit = (*store)->ListAudit(0, 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].object(), "tenant/acme/client/web");
  EXPECT_EQ((*store)->ListDeliveryEvents("acme", 0, 10)->size(), 1u);
  // The change log starts after the upgrade: a replica at 41 reloads everything, one at 42
  // has nothing to do; the next write is revision 43 and is logged.
  EXPECT_FALSE((*store)->LoadChanges(41)->complete);
  EXPECT_TRUE((*store)->LoadChanges(42)->tenants.empty());
  auto w =
      (*store)->UpdateTenant("acme", InTenant("acme", true, [](v1::PolicyConfig& c) {
                               c.mutable_tenants(0)->mutable_clients(0)->add_allowed_logout_urls(
                                   "https://web.example.com/2");
                             }));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, 43u);
  auto changes = (*store)->LoadChanges(42);
  ASSERT_EQ(changes->tenants.size(), 1u);
  EXPECT_EQ(changes->tenants[0].config->clients(0).client_secret(), "s3cret-that-must-survive");
}

TEST(SqliteStoreTest, UnwritableLocationIsUnavailable) {
  EXPECT_EQ(OpenSqliteStore("/nonexistent-dir/x.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace logout::store
