#include "service/admin/audit_object.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace logout::admin {
namespace {

TEST(AuditObjectTest, NamesAreEncodedSoNoNameReadsAsAPath) {
  EXPECT_EQ(AuditObject("acme"), "tenant/acme");
  EXPECT_EQ(AuditObject("acme", "client", "web"), "tenant/acme/client/web");
  EXPECT_EQ(AuditObject("acme/client/x", "connection", "a/b%c"),
            "tenant/acme%2Fclient%2Fx/connection/a%2Fb%25c");
}

TEST(AuditObjectTest, TheTenantOfAnObjectIsReadBack) {
  for (const std::string tenant : {"acme", "acme/client/x", "100%", "a%2Fb"}) {
    EXPECT_EQ(AuditObjectTenant(AuditObject(tenant)), tenant);
    EXPECT_EQ(AuditObjectTenant(AuditObject(tenant, "client", "c/d")), tenant);
    EXPECT_EQ(AuditObjectTenant(AuditObject(tenant, "connection", "e")), tenant);
  }
}

TEST(AuditObjectTest, PolicyWideAndAmbiguousObjectsNameNoTenant) {
  EXPECT_EQ(AuditObjectTenant("policy"), std::nullopt);
  EXPECT_EQ(AuditObjectTenant("tenant/"), std::nullopt);
  // Written before names were encoded: tenant "acme/client/x"'s connection, or acme's client
  // "x/connection/corp"? Shown to no scoped credential.
  EXPECT_EQ(AuditObjectTenant("tenant/acme/client/x/connection/corp"), std::nullopt);
  EXPECT_EQ(AuditObjectTenant("tenant/acme/secrets/x"), std::nullopt);
  EXPECT_EQ(AuditObjectTenant("tenant/acme%2"), std::nullopt);
  EXPECT_EQ(AuditObjectTenant("tenant/acme%41"), std::nullopt);
}

}  // namespace
}  // namespace logout::admin
