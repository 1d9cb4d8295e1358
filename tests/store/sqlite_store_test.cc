#include "service/store/sqlite_store.h"

#include <sqlite3.h>

#include <atomic>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/store/policy_store_contract.h"

namespace logout::store {
namespace {

StoreFactory SqliteFactory() {
  return StoreFactory{"Sqlite",
                      [] {
                        static std::atomic<int> counter{0};
                        return ::testing::TempDir() + "/sqlite_store_" + std::to_string(getpid()) +
                               "_" + std::to_string(counter++) + ".db";
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

TEST(SqliteStoreTest, UnwritableLocationIsUnavailable) {
  EXPECT_EQ(OpenSqliteStore("/nonexistent-dir/x.db").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace logout::store
