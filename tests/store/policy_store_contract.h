// The behaviour every PolicyStore must have, as value-parameterised tests. A store test file
// instantiates it with a StoreFactory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, PolicyStoreContractTest, ::testing::Values(SqliteFactory()),
//                            [](const auto& info) { return info.param.name; });
#ifndef TESTS_STORE_POLICY_STORE_CONTRACT_H_
#define TESTS_STORE_POLICY_STORE_CONTRACT_H_

#include <algorithm>
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

// A tenant-scoped mutation that checks it sees only `name` (`exists`: whether it should) and
// applies `change` to it.
inline Mutation InTenant(const std::string& name, bool exists,
                         std::function<void(v1::PolicyConfig&)> change) {
  return [name, exists, change](v1::PolicyConfig& config) -> absl::StatusOr<v1::AuditEvent> {
    if (config.tenants_size() != (exists ? 1 : 0) || (exists && config.tenants(0).name() != name)) {
      return absl::InternalError(
          absl::StrCat("the mutation of ", name, " saw ", config.tenants_size(), " tenants"));
    }
    change(config);
    v1::AuditEvent event;
    event.set_action("InTenant");
    event.set_object(absl::StrCat("tenant/", name));
    return event;
  };
}

TEST_P(PolicyStoreContractTest, UpdateTenantReadsAndWritesOnlyItsTenant) {
  ASSERT_TRUE(store_->Update(AddTenant("a")).ok());
  ASSERT_TRUE(store_->Update(AddTenant("b")).ok());
  auto r = store_->UpdateTenant(
      "a", InTenant("a", true, [](v1::PolicyConfig& c) {
        c.mutable_tenants(0)->add_allowed_logout_urls("https://a.example.com/bye");
      }));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 3u);
  auto p = store_->Load();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 3u);
  ASSERT_EQ(p->config.tenants_size(), 2);
  EXPECT_EQ(p->config.tenants(0).allowed_logout_urls_size(), 1);
  EXPECT_EQ(p->config.tenants(1).allowed_logout_urls_size(), 0);
  auto audit = store_->ListAudit(0, 1);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].policy_version(), 3u);
  EXPECT_EQ((*audit)[0].object(), "tenant/a");
}

TEST_P(PolicyStoreContractTest, UpdateTenantCreatesAndDeletes) {
  auto created = store_->UpdateTenant(
      "new", InTenant("new", false, [](v1::PolicyConfig& c) { c.add_tenants()->set_name("new"); }));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(store_->Load()->config.tenants_size(), 1);
  auto deleted = store_->UpdateTenant(
      "new", InTenant("new", true, [](v1::PolicyConfig& c) { c.clear_tenants(); }));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2u);
  auto p = store_->Load();
  EXPECT_EQ(p->version, 2u);
  EXPECT_EQ(p->config.tenants_size(), 0);
}

TEST_P(PolicyStoreContractTest, UpdateTenantMayNotTouchAnotherTenant) {
  ASSERT_TRUE(store_->Update(AddTenant("a")).ok());
  auto r = store_->UpdateTenant("a", [](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
    c.add_tenants()->set_name("b");
    return v1::AuditEvent();
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  auto renamed =
      store_->UpdateTenant("a", [](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
        c.mutable_tenants(0)->set_name("z");
        return v1::AuditEvent();
      });
  EXPECT_EQ(renamed.status().code(), absl::StatusCode::kInternal) << renamed.status();
  auto p = store_->Load();
  EXPECT_EQ(p->version, 1u);  // nothing written
  ASSERT_EQ(p->config.tenants_size(), 1);
  EXPECT_EQ(p->config.tenants(0).name(), "a");
}

TEST_P(PolicyStoreContractTest, LoadChangesReportsEachChangedTenantOnceInItsLatestState) {
  ASSERT_TRUE(store_
                  ->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
                    c.add_tenants()->set_name("a");
                    c.add_tenants()->set_name("b");
                    return v1::AuditEvent();
                  })
                  .ok());  // 1
  const auto add_url = [](const std::string& url) {
    return [url](v1::PolicyConfig& c) { c.mutable_tenants(0)->add_allowed_logout_urls(url); };
  };
  ASSERT_TRUE(store_->UpdateTenant("a", InTenant("a", true, add_url("https://x/1"))).ok());  // 2
  ASSERT_TRUE(store_->UpdateTenant("a", InTenant("a", true, add_url("https://x/2"))).ok());  // 3
  ASSERT_TRUE(
      store_
          ->UpdateTenant("c", InTenant("c", false,
                                       [](v1::PolicyConfig& c) { c.add_tenants()->set_name("c"); }))
          .ok());  // 4
  ASSERT_TRUE(
      store_->UpdateTenant("b", InTenant("b", true, [](v1::PolicyConfig& c) { c.clear_tenants(); }))
          .ok());  // 5

  auto changes = store_->LoadChanges(1);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->revision, 5u);
  EXPECT_TRUE(changes->complete);
  ASSERT_EQ(changes->tenants.size(), 3u);
  EXPECT_EQ(changes->tenants[0].name, "a");
  EXPECT_EQ(changes->tenants[0].revision, 3u);
  ASSERT_TRUE(changes->tenants[0].config.has_value());
  EXPECT_EQ(changes->tenants[0].config->allowed_logout_urls_size(), 2);
  EXPECT_EQ(changes->tenants[1].name, "b");
  EXPECT_EQ(changes->tenants[1].revision, 5u);
  EXPECT_FALSE(changes->tenants[1].config.has_value()) << "deleted";
  EXPECT_EQ(changes->tenants[2].name, "c");
  EXPECT_EQ(changes->tenants[2].revision, 4u);

  auto none = store_->LoadChanges(5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->complete);
  EXPECT_TRUE(none->tenants.empty());
  auto from_start = store_->LoadChanges(0);
  ASSERT_TRUE(from_start.ok());
  EXPECT_TRUE(from_start->complete);
  EXPECT_EQ(from_start->tenants.size(), 3u);
}

TEST_P(PolicyStoreContractTest, ImportRewritesOnlyTheTenantsItChanges) {
  ASSERT_TRUE(store_
                  ->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
                    c.add_tenants()->set_name("a");
                    c.add_tenants()->set_name("b");
                    return v1::AuditEvent();
                  })
                  .ok());
  auto w = store_->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
    v1::PolicyConfig next;
    next.add_tenants()->set_name("b");
    next.mutable_tenants(0)->add_allowed_logout_urls("https://b.example.com/");
    next.add_tenants()->set_name("a");  // unchanged, listed in another order
    c = next;
    return v1::AuditEvent();
  });
  ASSERT_TRUE(w.ok()) << w.status();
  auto changes = store_->LoadChanges(1);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->tenants.size(), 1u);
  EXPECT_EQ(changes->tenants[0].name, "b");
  auto duplicate = store_->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
    c.add_tenants()->set_name("a");
    return v1::AuditEvent();
  });
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument) << duplicate.status();
}

TEST_P(PolicyStoreContractTest, APrunedChangeLogAsksForAFullReload) {
  store_->SetChangeLogRetention(3);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(store_->Update(AddTenant(absl::StrCat("t", i))).ok());
  }
  // Revisions 4..6 are kept: a reader at 3 or later is served from the log, one at 2 is not.
  auto behind = store_->LoadChanges(2);
  ASSERT_TRUE(behind.ok());
  EXPECT_FALSE(behind->complete);
  EXPECT_EQ(behind->revision, 6u);
  auto near = store_->LoadChanges(3);
  ASSERT_TRUE(near.ok());
  EXPECT_TRUE(near->complete);
  EXPECT_EQ(near->tenants.size(), 3u);
}

// A policy with one of everything a version 2 database held in its document (tenants, clients
// with secrets, connections with options, signing keys with their PEM), for the upgrade tests.
// The PEM is opaque to the store: the upgrade must keep its bytes, not understand them.
inline v1::PolicyConfig EverythingPolicy() {
  v1::PolicyConfig config;
  for (const char* name : {"zeta", "acme", "globex/eu"}) {
    v1::Tenant* t = config.add_tenants();
    t->set_name(name);
    t->set_issuer(absl::StrCat("https://", t->name().substr(0, 4), ".example.com/"));
    t->add_allowed_logout_urls("https://*.example.com/bye");
    t->set_redirect_matching(v1::REDIRECT_MATCHING_EXACT);
    t->add_enabled_locales("fr-CA");
    t->mutable_max_hint_age()->set_seconds(3600);
    v1::Client* c = t->add_clients();
    c->set_client_id("web");
    c->add_allowed_logout_urls("https://web.example.com/done?x=\xC3\xA9");
    c->set_client_secret("s3cret-that-must-survive");
    c->set_backchannel_logout_uri("https://web.example.com/bc");
    v1::Connection* k = t->add_connections();
    k->set_name("okta");
    k->set_strategy("okta");
    k->mutable_logout()->set_logout_url("https://idp.example.com/logout");
    (*k->mutable_options()->mutable_fields())["client_secret"].set_string_value("idp-secret");
    v1::SigningKey* key = t->add_signing_keys();
    key->set_kid("k1");
    key->set_alg("RS256");
    key->set_private_key_pem("-----BEGIN PRIVATE KEY-----\nopaque\n-----END PRIVATE KEY-----\n");
  }
  return config;
}

// EverythingPolicy as Load returns it: tenants in name order.
inline v1::PolicyConfig EverythingPolicyByName() {
  v1::PolicyConfig config = EverythingPolicy();
  std::sort(config.mutable_tenants()->begin(), config.mutable_tenants()->end(),
            [](const v1::Tenant& a, const v1::Tenant& b) { return a.name() < b.name(); });
  return config;
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
