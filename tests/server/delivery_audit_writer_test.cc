// DeliveryAuditWriter against a real SQLite store: batches reach the store, Shutdown flushes
// within its grace, a full queue drops instead of blocking, and a store failure drops the batch
// and is reported once per failed batch.
#include "service/server/delivery_audit_writer.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/store/policy_store.h"
#include "tests/testing/temp_dir.h"

namespace logout::server {
namespace {

// A database in a fresh directory (pids are reused during a long run: an earlier test process
// may have left files behind under the same name).
std::string NewPath() { return testing::FreshTempDir("delivery_audit") + "/logoutd.db"; }

v1::BackchannelDeliveryEvent Event(int i) {
  v1::BackchannelDeliveryEvent e;
  e.set_tenant("acme");
  e.set_client_id(absl::StrCat("c", i));
  e.set_uri_origin("https://rp.example:443");
  e.set_result("delivered");
  e.set_attempts(1);
  e.set_http_status(200);
  return e;
}

class DeliveryAuditWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = NewPath();
    auto store = store::OpenPolicyStore("sqlite:" + path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  size_t Stored() {
    auto events = store_->ListDeliveryEvents("", 0, 1000);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? events->size() : 0;
  }

  std::function<void(const absl::Status&)> CountErrors() {
    return [this](const absl::Status& s) {
      EXPECT_FALSE(s.ok());
      ++errors_;
    };
  }

  std::string path_;
  std::unique_ptr<store::PolicyStore> store_;
  std::atomic<int> errors_{0};
};

TEST_F(DeliveryAuditWriterTest, BatchesReachTheStoreWithoutShutdown) {
  DeliveryAuditWriter writer(
      store_.get(), CountErrors(),
      {.queue_capacity = 10000, .batch_size = 100, .batch_interval = absl::Milliseconds(50)});
  for (int i = 0; i < 250; ++i) writer.Add(Event(i));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (writer.written() < 250 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(writer.written(), 250u);
  EXPECT_EQ(Stored(), 250u);
  auto newest = store_->ListDeliveryEvents("", 0, 1);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ((*newest)[0].client_id(), "c249");  // order kept
  EXPECT_EQ(writer.dropped(), 0u);
  EXPECT_EQ(errors_.load(), 0);
}

TEST_F(DeliveryAuditWriterTest, ShutdownFlushesWhatIsQueuedWithinItsGrace) {
  DeliveryAuditWriter writer(store_.get(), CountErrors(),
                             {.queue_capacity = 10000,
                              .batch_size = 1000,
                              .batch_interval = absl::Hours(1)});  // would never flush alone
  for (int i = 0; i < 30; ++i) writer.Add(Event(i));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(Stored(), 0u);
  writer.Shutdown(absl::Seconds(5));
  EXPECT_EQ(Stored(), 30u);
  EXPECT_EQ(writer.written(), 30u);
  writer.Add(Event(99));  // after Shutdown: dropped, never written
  EXPECT_EQ(writer.dropped(), 1u);
  writer.Shutdown(absl::Seconds(5));  // idempotent
  EXPECT_EQ(Stored(), 30u);
}

TEST_F(DeliveryAuditWriterTest, ShutdownWithoutGraceDropsTheQueue) {
  DeliveryAuditWriter writer(
      store_.get(), CountErrors(),
      {.queue_capacity = 10000, .batch_size = 1000, .batch_interval = absl::Hours(1)});
  for (int i = 0; i < 30; ++i) writer.Add(Event(i));
  writer.Shutdown(absl::ZeroDuration());
  EXPECT_EQ(Stored(), 0u);
  EXPECT_EQ(writer.dropped(), 30u);
}

TEST_F(DeliveryAuditWriterTest, AFullQueueDropsInsteadOfBlocking) {
  DeliveryAuditWriter writer(
      store_.get(), CountErrors(),
      {.queue_capacity = 10, .batch_size = 1000, .batch_interval = absl::Hours(1)});
  const absl::Time start = absl::Now();
  for (int i = 0; i < 15; ++i) writer.Add(Event(i));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(writer.dropped(), 5u);
  writer.Shutdown(absl::Seconds(5));
  EXPECT_EQ(Stored(), 10u);
  auto newest = store_->ListDeliveryEvents("", 0, 1);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ((*newest)[0].client_id(), "c9");  // the first ten were kept
}

TEST_F(DeliveryAuditWriterTest, AStoreFailureDropsTheBatchAndIsReported) {
  // Another program removes the table: every append now fails inside the store.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE logoutd_delivery_audit", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  DeliveryAuditWriter writer(
      store_.get(), CountErrors(),
      {.queue_capacity = 10000, .batch_size = 10, .batch_interval = absl::Milliseconds(20)});
  for (int i = 0; i < 25; ++i) writer.Add(Event(i));
  writer.Shutdown(absl::Seconds(5));
  EXPECT_EQ(writer.written(), 0u);
  EXPECT_EQ(writer.dropped(), 25u);
  EXPECT_GE(errors_.load(), 3);  // one report per failed batch of at most 10, no retry
}

}  // namespace
}  // namespace logout::server
