// PolicyWriter on a real SQLite file: a rule that writes now enforce (no fragment in a
// logout_url_template) does not take down a policy an earlier release stored, and does not
// block another tenant's writes; it refuses the write that adds or changes such a connection.
#include "service/store/policy_writer.h"

#include <unistd.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "service/store/snapshot_holder.h"
#include "service/store/sqlite_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace logout::store {
namespace {

using ::logout::testing::StatusIs;

constexpr char kLegacy[] = R"pb(
  tenants {
    name: "acme"
    allowed_logout_urls: "https://acme.example.com/bye"
    connections {
      name: "legacy"
      strategy: "oidc"
      logout { logout_url_template: "https://idp.example.com/logout{?returnTo}#{state}" }
    }
  }
  tenants { name: "globex" allowed_logout_urls: "https://globex.example.com/bye" }
)pb";

class PolicyWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::FreshTempDir("policy_writer");
    ASSERT_FALSE(dir.empty());
    const std::string db = dir + "/logoutd.db";  // fresh: no -wal/-shm of an earlier process
    auto store = OpenSqliteStore(db);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // What an earlier release stored (written straight into the store, no compile).
    ASSERT_TRUE(store_
                    ->Update([](v1::PolicyConfig& c) -> absl::StatusOr<v1::AuditEvent> {
                      EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kLegacy, &c));
                      return v1::AuditEvent();
                    })
                    .ok());
    writer_ = std::make_unique<PolicyWriter>(store_.get(), &holder_);
  }

  std::unique_ptr<PolicyStore> store_;
  SnapshotHolder holder_;
  std::unique_ptr<PolicyWriter> writer_;
};

TEST_F(PolicyWriterTest, AStoredPolicyAnEarlierReleaseAcceptedStillLoads) {
  ASSERT_TRUE(writer_->CatchUp().ok());
  ASSERT_NE(holder_.Get(), nullptr);
  EXPECT_EQ(holder_.Get()->version(), 1u);
}

TEST_F(PolicyWriterTest, AnotherTenantsWriteIsNotBlockedByIt) {
  const absl::StatusOr<uint64_t> v = writer_->Write("test", [](v1::PolicyConfig& c) {
    c.mutable_tenants(1)->add_allowed_logout_urls("https://globex.example.com/again");
    return absl::StatusOr<v1::AuditEvent>(v1::AuditEvent());
  });
  EXPECT_TRUE(v.ok()) << v.status();
}

TEST_F(PolicyWriterTest, AWriteThatAddsOrChangesSuchAConnectionIsRefusedNamingTheField) {
  EXPECT_THAT(writer_->Write("test",
                             [](v1::PolicyConfig& c) {
                               c.mutable_tenants(0)->mutable_connections(0)->set_strategy("okta");
                               return absl::StatusOr<v1::AuditEvent>(v1::AuditEvent());
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "tenant \"acme\": connection \"legacy\": logout.logout_url_template"));
  EXPECT_THAT(writer_->Write("test",
                             [](v1::PolicyConfig& c) {
                               v1::Connection* n = c.mutable_tenants(1)->add_connections();
                               n->set_name("new");
                               n->set_strategy("oidc");
                               n->mutable_logout()->set_logout_url_template(
                                   "https://idp.example.com/logout#frag");
                               return absl::StatusOr<v1::AuditEvent>(v1::AuditEvent());
                             }),
              StatusIs(absl::StatusCode::kInvalidArgument, "must not have a fragment"));
  // Nothing was written: the store is still at the legacy version.
  absl::StatusOr<StoredPolicy> stored = store_->Load();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version, 1u);
}

}  // namespace
}  // namespace logout::store
