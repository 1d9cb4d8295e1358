// The behaviour every PolicyStore must have, as value-parameterised tests. A store test file
// instantiates it with a StoreFactory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, PolicyStoreContractTest, ::testing::Values(SqliteFactory()),
//                            [](const auto& info) { return info.param.name; });
#ifndef TESTS_STORE_POLICY_STORE_CONTRACT_H_
#define TESTS_STORE_POLICY_STORE_CONTRACT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/store/policy_store.h"

namespace logout::store {

struct StoreFactory {
  std::string name;
  // A fresh, empty location (a SQLite path, a PostgreSQL database URL).
  std::function<std::string()> new_location;
  std::function<absl::StatusOr<std::unique_ptr<PolicyStore>>(const std::string&)> open;
  friend void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }
};

class PolicyStoreContractTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    location_ = GetParam().new_location();
    auto store = GetParam().open(location_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // A mutation that appends tenant `name` and returns its audit event.
  static Mutation AddTenant(const std::string& name) {
    return [name](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
      config.add_tenants()->set_name(name);
      v1::AuditEvent event;
      event.set_actor("test");
      event.set_action("CreateTenant");
      event.set_object("tenant/" + name);
      event.set_after_json(absl::StrCat(R"({"name":")", name, R"("})"));
      return event;
    };
  }

  std::string location_;
  std::unique_ptr<PolicyStore> store_;
};

TEST_P(PolicyStoreContractTest, EmptyStoreIsVersionZero) {
  auto p = store_->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 0u);
  EXPECT_EQ(p->config.tenants_size(), 0);
}

TEST_P(PolicyStoreContractTest, UpdateCommitsNextVersionWithAudit) {
  auto w = store_->Update(AddTenant("a"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 1u);
  auto p = store_->Load();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 1u);
  ASSERT_EQ(p->config.tenants_size(), 1);
  EXPECT_EQ(p->config.tenants(0).name(), "a");
  auto audit = store_->ListAudit(0, 10);
  ASSERT_TRUE(audit.ok()) << audit.status();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].policy_version(), 1u);
  EXPECT_EQ((*audit)[0].actor(), "test");
  EXPECT_EQ((*audit)[0].action(), "CreateTenant");
  EXPECT_EQ((*audit)[0].object(), "tenant/a");
  EXPECT_EQ((*audit)[0].after_json(), R"({"name":"a"})");
  EXPECT_GT((*audit)[0].time().seconds(), 1600000000);
}

TEST_P(PolicyStoreContractTest, FailedMutationWritesNothing) {
  ASSERT_TRUE(store_->Update(AddTenant("a")).ok());
  auto w = store_->Update([](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
    config.add_tenants()->set_name("half-written");
    return absl::AbortedError("etag mismatch");
  });
  EXPECT_EQ(w.status().code(), absl::StatusCode::kAborted);
  auto p = store_->Load();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 1u);
  EXPECT_EQ(p->config.tenants_size(), 1);
  EXPECT_EQ(store_->ListAudit(0, 10)->size(), 1u);
}

TEST_P(PolicyStoreContractTest, ReopenKeepsEveryCommittedWrite) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Update(AddTenant(absl::StrCat("t", i))).ok());
  store_.reset();
  auto reopened = GetParam().open(location_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto p = (*reopened)->Load();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 5u);
  ASSERT_EQ(p->config.tenants_size(), 5);
  EXPECT_EQ(p->config.tenants(4).name(), "t4");
}

TEST_P(PolicyStoreContractTest, ConcurrentWritersSerialise) {
  // Two handles on the same location (as two replicas would have), several threads each.
  auto second = GetParam().open(location_);
  ASSERT_TRUE(second.ok()) << second.status();
  constexpr int kThreads = 4;
  constexpr int kWrites = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    PolicyStore* store = t % 2 == 0 ? store_.get() : second->get();
    threads.emplace_back([store, t, &failures] {
      for (int i = 0; i < kWrites; ++i) {
        if (!store->Update(AddTenant(absl::StrCat("w", t, "-", i))).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto p = store_->Load();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, static_cast<uint64_t>(kThreads * kWrites));
  EXPECT_EQ(p->config.tenants_size(), kThreads * kWrites);  // no write lost
  auto audit = store_->ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), static_cast<size_t>(kThreads * kWrites));
  for (size_t i = 0; i < audit->size(); ++i) {
    EXPECT_EQ((*audit)[i].policy_version(), kThreads * kWrites - i);  // newest first, contiguous
  }
}

TEST_P(PolicyStoreContractTest, AuditPagesNewestFirst) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store_->Update(AddTenant(absl::StrCat("t", i))).ok());
  auto page1 = store_->ListAudit(0, 3);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 3u);
  EXPECT_EQ((*page1)[0].policy_version(), 7u);
  EXPECT_EQ((*page1)[2].policy_version(), 5u);
  auto page2 = store_->ListAudit(5, 3);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 3u);
  EXPECT_EQ((*page2)[0].policy_version(), 4u);
}

TEST_P(PolicyStoreContractTest, ContentSurvivesByteForByte) {
  v1::PolicyConfig big;
  v1::Tenant* t = big.add_tenants();
  t->set_name("acme");
  for (int i = 0; i < 2000; ++i)
    t->add_allowed_logout_urls(absl::StrCat("https://a", i, ".example.com/\xC3\xA9"));
  auto w = store_->Update([&big](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
    config = big;
    return v1::AuditEvent();
  });
  ASSERT_TRUE(w.ok()) << w.status();
  auto p = store_->Load();
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.SerializeAsString(), big.SerializeAsString());
}

// One finished delivery job as the server's delivery audit writer records it.
inline v1::BackchannelDeliveryEvent DeliveryEvent(const std::string& tenant,
                                                  const std::string& client_id,
                                                  const std::string& result, int attempts,
                                                  int http_status, int64_t seconds) {
  v1::BackchannelDeliveryEvent e;
  e.set_tenant(tenant);
  e.set_client_id(client_id);
  e.set_uri_origin("https://" + client_id + ".rp.example:8443");
  e.set_result(result);
  e.set_attempts(static_cast<uint32_t>(attempts));
  e.set_http_status(static_cast<uint32_t>(http_status));
  e.set_detail(result == "delivered" ? "" : "http_status");
  e.mutable_time()->set_seconds(seconds);
  e.mutable_time()->set_nanos(123456000);
  return e;
}

TEST_P(PolicyStoreContractTest, DeliveryEventsAreListedNewestFirstWithEveryField) {
  auto empty = store_->ListDeliveryEvents("", 0, 100);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(store_->AppendDeliveryEvents({}).ok());
  ASSERT_TRUE(
      store_
          ->AppendDeliveryEvents({DeliveryEvent("acme", "web", "delivered", 1, 200, 1700000001),
                                  DeliveryEvent("acme", "api", "gave_up", 4, 503, 1700000002)})
          .ok());
  ASSERT_TRUE(
      store_->AppendDeliveryEvents({DeliveryEvent("beta", "app", "rejected", 1, 400, 1700000003)})
          .ok());
  auto events = store_->ListDeliveryEvents("", 0, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_GT((*events)[0].id(), (*events)[1].id());
  EXPECT_GT((*events)[1].id(), (*events)[2].id());
  const v1::BackchannelDeliveryEvent& newest = (*events)[0];
  EXPECT_EQ(newest.tenant(), "beta");
  EXPECT_EQ(newest.client_id(), "app");
  EXPECT_EQ(newest.uri_origin(), "https://app.rp.example:8443");
  EXPECT_EQ(newest.result(), "rejected");
  EXPECT_EQ(newest.attempts(), 1u);
  EXPECT_EQ(newest.http_status(), 400u);
  EXPECT_EQ(newest.detail(), "http_status");
  EXPECT_EQ(newest.time().seconds(), 1700000003);
  EXPECT_EQ(newest.time().nanos(), 123456000);
  EXPECT_EQ((*events)[1].client_id(), "api");
  EXPECT_EQ((*events)[1].result(), "gave_up");
  EXPECT_EQ((*events)[1].attempts(), 4u);
  EXPECT_EQ((*events)[1].http_status(), 503u);
  EXPECT_EQ((*events)[2].client_id(), "web");
  EXPECT_EQ((*events)[2].detail(), "");
  // Appending deliveries is not a policy write.
  EXPECT_EQ(store_->Load()->version, 0u);
  EXPECT_TRUE(store_->ListAudit(0, 10)->empty());
}

TEST_P(PolicyStoreContractTest, DeliveryEventsPageAndFilterByTenant) {
  std::vector<v1::BackchannelDeliveryEvent> batch;
  for (int i = 0; i < 10; ++i) {
    batch.push_back(DeliveryEvent(i % 2 == 0 ? "even" : "odd", absl::StrCat("c", i), "delivered", 1,
                                  200, 1700000000 + i));
  }
  ASSERT_TRUE(store_->AppendDeliveryEvents(batch).ok());
  auto page1 = store_->ListDeliveryEvents("", 0, 4);
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->size(), 4u);
  EXPECT_EQ((*page1)[0].client_id(), "c9");
  EXPECT_EQ((*page1)[3].client_id(), "c6");
  auto page2 = store_->ListDeliveryEvents("", page1->back().id(), 4);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 4u);
  EXPECT_EQ((*page2)[0].client_id(), "c5");
  EXPECT_EQ((*page2)[3].client_id(), "c2");
  auto page3 = store_->ListDeliveryEvents("", page2->back().id(), 4);
  ASSERT_TRUE(page3.ok());
  ASSERT_EQ(page3->size(), 2u);
  EXPECT_EQ((*page3)[1].client_id(), "c0");

  auto even = store_->ListDeliveryEvents("even", 0, 3);
  ASSERT_TRUE(even.ok()) << even.status();
  ASSERT_EQ(even->size(), 3u);
  EXPECT_EQ((*even)[0].client_id(), "c8");
  EXPECT_EQ((*even)[1].client_id(), "c6");
  EXPECT_EQ((*even)[2].client_id(), "c4");
  auto even2 = store_->ListDeliveryEvents("even", even->back().id(), 3);
  ASSERT_TRUE(even2.ok());
  ASSERT_EQ(even2->size(), 2u);
  EXPECT_EQ((*even2)[0].client_id(), "c2");
  EXPECT_EQ((*even2)[1].client_id(), "c0");
  for (const auto& e : *even2) EXPECT_EQ(e.tenant(), "even");
  EXPECT_TRUE(store_->ListDeliveryEvents("nobody", 0, 10)->empty());
  EXPECT_TRUE(store_->ListDeliveryEvents("", 0, 0)->empty());
  // The page size is capped at 1000.
  std::vector<v1::BackchannelDeliveryEvent> many(1005, DeliveryEvent("m", "x", "dropped", 0, 0, 1));
  ASSERT_TRUE(store_->AppendDeliveryEvents(many).ok());
  EXPECT_EQ(store_->ListDeliveryEvents("m", 0, 5000)->size(), 1000u);
}

TEST_P(PolicyStoreContractTest, DeliveryRetentionKeepsOnlyTheNewestRows) {
  store_->SetDeliveryRetention(5);
  for (int b = 0; b < 3; ++b) {
    std::vector<v1::BackchannelDeliveryEvent> batch;
    for (int i = 0; i < 4; ++i) {
      batch.push_back(
          DeliveryEvent("acme", absl::StrCat("b", b, "-", i), "delivered", 1, 204, 1700000000));
    }
    ASSERT_TRUE(store_->AppendDeliveryEvents(batch).ok());
  }
  auto events = store_->ListDeliveryEvents("", 0, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ((*events)[0].client_id(), "b2-3");
  EXPECT_EQ((*events)[4].client_id(), "b1-3");
  // A batch larger than the retention keeps its own newest rows.
  store_->SetDeliveryRetention(2);
  ASSERT_TRUE(store_
                  ->AppendDeliveryEvents({DeliveryEvent("acme", "x1", "delivered", 1, 200, 1),
                                          DeliveryEvent("acme", "x2", "delivered", 1, 200, 1),
                                          DeliveryEvent("acme", "x3", "delivered", 1, 200, 1)})
                  .ok());
  events = store_->ListDeliveryEvents("", 0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].client_id(), "x3");
  EXPECT_EQ((*events)[1].client_id(), "x2");
}

TEST_P(PolicyStoreContractTest, DeliveryEventsSurviveReopenAndAreSharedByHandles) {
  auto second = GetParam().open(location_);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(
      store_->AppendDeliveryEvents({DeliveryEvent("acme", "one", "delivered", 1, 200, 1)}).ok());
  ASSERT_TRUE(
      (*second)->AppendDeliveryEvents({DeliveryEvent("acme", "two", "gave_up", 3, 0, 2)}).ok());
  second->reset();
  store_.reset();
  auto reopened = GetParam().open(location_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto events = (*reopened)->ListDeliveryEvents("acme", 0, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].client_id(), "two");
  EXPECT_EQ((*events)[1].client_id(), "one");
}

}  // namespace logout::store

#endif  // TESTS_STORE_POLICY_STORE_CONTRACT_H_
