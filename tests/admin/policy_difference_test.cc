#include "service/admin/policy_difference.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace logout::admin {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::PolicyConfig Parse(const std::string& text) {
  v1::PolicyConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

constexpr char kBefore[] = R"pb(
  tenants {
    name: "acme"
    issuer: "https://acme.example/"
    allowed_logout_urls: "https://a.example/1"
    allowed_logout_urls: "https://a.example/2"
    clients {
      client_id: "web"
      client_secret: "s3cret-one"
      allowed_logout_urls: "https://web.example/bye"
    }
    clients { client_id: "old" }
    connections { name: "corp" strategy: "oidc" }
    connections { name: "gone" strategy: "samlp" }
  }
  tenants { name: "globex" }
)pb";

TEST(PolicyDifferenceTest, SamePolicyHasNoDifference) {
  const v1::PolicyDifference d = DiffPolicies(Parse(kBefore), Parse(kBefore));
  EXPECT_TRUE(admin::IsEmpty(d));
  EXPECT_FALSE(HasRemovals(d));
}

TEST(PolicyDifferenceTest, ReportsEveryKindOfChangeByName) {
  v1::PolicyConfig after = Parse(kBefore);
  v1::Tenant* acme = after.mutable_tenants(0);
  acme->set_issuer("https://acme2.example/");
  acme->mutable_allowed_logout_urls()->erase(acme->mutable_allowed_logout_urls()->begin());
  acme->add_allowed_logout_urls("https://a.example/3");
  acme->mutable_clients(0)->set_client_secret("s3cret-two");
  acme->mutable_clients(0)->add_allowed_logout_urls("https://web.example/again");
  acme->mutable_clients()->RemoveLast();  // "old"
  acme->add_clients()->set_client_id("new");
  acme->mutable_connections(0)->set_strategy("okta");
  acme->mutable_connections()->RemoveLast();  // "gone"
  after.mutable_tenants()->RemoveLast();      // globex
  after.add_tenants()->set_name("initech");

  const v1::PolicyDifference d = DiffPolicies(Parse(kBefore), after);
  EXPECT_THAT(d.tenants_added(), ElementsAre("initech"));
  EXPECT_THAT(d.tenants_removed(), ElementsAre("globex"));
  ASSERT_EQ(d.tenants_changed_size(), 1);
  const v1::TenantDifference& t = d.tenants_changed(0);
  EXPECT_EQ(t.tenant(), "acme");
  EXPECT_THAT(t.fields_changed(), ElementsAre("issuer"));
  EXPECT_THAT(t.allowed_logout_urls_added(), ElementsAre("https://a.example/3"));
  EXPECT_THAT(t.allowed_logout_urls_removed(), ElementsAre("https://a.example/1"));
  EXPECT_THAT(t.clients_added(), ElementsAre("new"));
  EXPECT_THAT(t.clients_removed(), ElementsAre("old"));
  ASSERT_EQ(t.clients_changed_size(), 1);
  EXPECT_EQ(t.clients_changed(0).client_id(), "web");
  EXPECT_THAT(t.clients_changed(0).fields_changed(), ElementsAre("client_secret"));
  EXPECT_THAT(t.clients_changed(0).allowed_logout_urls_added(),
              ElementsAre("https://web.example/again"));
  EXPECT_THAT(t.clients_changed(0).allowed_logout_urls_removed(), IsEmpty());
  EXPECT_THAT(t.connections_removed(), ElementsAre("gone"));
  ASSERT_EQ(t.connections_changed_size(), 1);
  EXPECT_EQ(t.connections_changed(0).name(), "corp");
  EXPECT_THAT(t.connections_changed(0).fields_changed(), ElementsAre("strategy"));

  EXPECT_TRUE(HasRemovals(d));
  EXPECT_EQ(DescribeRemovals(d),
            "tenant \"globex\", client \"acme/old\", connection \"acme/gone\"");
  EXPECT_EQ(DescribeRemovals(d, 1), "tenant \"globex\" and 2 more");
  // The secret is named as changed and never copied into the difference.
  EXPECT_EQ(d.DebugString().find("s3cret"), std::string::npos);
}

TEST(PolicyDifferenceTest, AddingOnlyHasNoRemovals) {
  v1::PolicyConfig after = Parse(kBefore);
  after.mutable_tenants(1)->add_clients()->set_client_id("c");
  const v1::PolicyDifference d = DiffPolicies(Parse(kBefore), after);
  EXPECT_FALSE(HasRemovals(d));
  ASSERT_EQ(d.tenants_changed_size(), 1);
  EXPECT_THAT(d.tenants_changed(0).clients_added(), ElementsAre("c"));
}

}  // namespace
}  // namespace logout::admin
