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

}  // namespace logout::store

#endif  // TESTS_STORE_POLICY_STORE_CONTRACT_H_
