// Scoped credentials and the guarded import against the real logoutd on a real SQLite file:
// every admin RPC checks the credential's role and tenants, lists and trails show only its
// tenants, the credentials file is re-read without a restart (a broken one keeps the last good
// credentials), planning needs a planner credential for the tenant, and ImportPolicy takes a
// precondition, previews a difference and deletes nothing without consent.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "openssl/evp.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/temp_dir.h"

namespace logout {
namespace {

using testing::CallContext;
using ::testing::HasSubstr;
using testing::LogoutdProcess;
using ::testing::Not;

constexpr char kRootToken[] = "scope-test-root-token-0123456789";
constexpr char kWriterToken[] = "scope-test-acme-writer-token-0123";
constexpr char kReaderToken[] = "scope-test-acme-reader-token-0123";
constexpr char kPlannerToken[] = "scope-test-acme-planner-token-012";
constexpr char kLegacyToken[] = "scope-test-legacy-admin-token-01";

std::string Sha256Hex(const std::string& s) {
  unsigned char d[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(d), 32));
}

std::string Entry(const std::string& name, const std::string& token, const std::string& role,
                  const std::string& tenants) {
  return absl::StrCat(R"({"name": ")", name, R"(", "token_sha256": ")", Sha256Hex(token),
                      R"(", "role": ")", role, R"(", "tenants": )", tenants, "}");
}

std::string CredentialsJson(const std::vector<std::string>& entries) {
  return absl::StrCat("{\"credentials\": [", absl::StrJoin(entries, ",\n"), "]}\n");
}

// A status a test can compare and print.
struct Code {
  grpc::StatusCode code;
  std::string message;
};
template <typename F>
Code Call(F f) {
  const grpc::Status s = f();
  return {s.error_code(), s.error_message()};
}

class AdminScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("admin_scope");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/legacy-token") << kLegacyToken << "\n";
    WriteCredentials(DefaultEntries());
  }

  static std::vector<std::string> DefaultEntries() {
    return {Entry("root", kRootToken, "admin", R"(["*"])"),
            Entry("acme-writer", kWriterToken, "writer", R"(["acme"])"),
            Entry("acme-reader", kReaderToken, "reader", R"(["acme"])"),
            Entry("acme-planner", kPlannerToken, "planner", R"(["acme"])")};
  }

  void WriteCredentials(const std::vector<std::string>& entries) {
    // Written to a temporary name and renamed: the watcher never reads half a file.
    std::ofstream(dir_ + "/credentials.json.tmp", std::ios::trunc) << CredentialsJson(entries);
    ASSERT_EQ(
        rename((dir_ + "/credentials.json.tmp").c_str(), (dir_ + "/credentials.json").c_str()), 0);
  }
  void WriteRaw(const std::string& text) {
    std::ofstream(dir_ + "/credentials.json.tmp", std::ios::trunc) << text;
    ASSERT_EQ(
        rename((dir_ + "/credentials.json.tmp").c_str(), (dir_ + "/credentials.json").c_str()), 0);
  }

  std::unique_ptr<LogoutdProcess> Start() {
    auto d = LogoutdProcess::Start(
        LOGOUTD_BINARY,
        {"--store=sqlite:" + dir_ + "/logoutd.db",
         std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json",
         "--admin_credentials_file=" + dir_ + "/credentials.json",
         "--credentials_refresh_interval=200ms", "--admin_token_file=" + dir_ + "/legacy-token"});
    if (d == nullptr) return nullptr;
    admin_ = v1::LogoutAdmin::NewStub(d->channel);
    decisions_ = v1::LogoutPolicy::NewStub(d->channel);
    // A second tenant, globex, with a client and a connection, created by the root admin.
    v1::CreateTenantRequest create;
    create.mutable_tenant()->set_name("globex");
    create.mutable_tenant()->add_allowed_logout_urls("https://globex.example.com/bye");
    v1::Client* c = create.mutable_tenant()->add_clients();
    c->set_client_id("globex-web");
    c->add_allowed_logout_urls("https://app.globex.example.com/bye");
    v1::Connection* conn = create.mutable_tenant()->add_connections();
    conn->set_name("globex-oidc");
    conn->set_strategy("oidc");
    v1::TenantResponse created;
    auto ctx = CallContext(kRootToken);
    const grpc::Status s = admin_->CreateTenant(ctx.get(), create, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d;
  }

  std::string dir_;
  std::unique_ptr<v1::LogoutAdmin::Stub> admin_;
  std::unique_ptr<v1::LogoutPolicy::Stub> decisions_;
};

// Every admin RPC, as `token`, aimed at `tenant`. Returns each RPC's status by name.
std::vector<std::pair<std::string, Code>> EveryRpc(v1::LogoutAdmin::Stub& admin,
                                                   const std::string& token,
                                                   const std::string& tenant,
                                                   const std::string& client,
                                                   const std::string& connection) {
  std::vector<std::pair<std::string, Code>> out;
  const auto run = [&](const std::string& name, auto f) {
    auto ctx = CallContext(token);
    const grpc::Status s = f(ctx.get());
    out.push_back({name, {s.error_code(), s.error_message()}});
  };
  run("GetTenant", [&](grpc::ClientContext* ctx) {
    v1::GetTenantRequest r;
    r.set_tenant(tenant);
    v1::TenantResponse o;
    return admin.GetTenant(ctx, r, &o);
  });
  run("UpdateTenant", [&](grpc::ClientContext* ctx) {
    v1::UpdateTenantRequest r;
    r.set_tenant(tenant);
    r.mutable_tenant_update()->add_enabled_locales("en");
    r.mutable_update_mask()->add_paths("enabled_locales");
    v1::TenantResponse o;
    return admin.UpdateTenant(ctx, r, &o);
  });
  run("GetClient", [&](grpc::ClientContext* ctx) {
    v1::GetClientRequest r;
    r.set_tenant(tenant);
    r.set_client_id(client);
    v1::ClientResponse o;
    return admin.GetClient(ctx, r, &o);
  });
  run("ListClients", [&](grpc::ClientContext* ctx) {
    v1::ListClientsRequest r;
    r.set_tenant(tenant);
    v1::ListClientsResponse o;
    return admin.ListClients(ctx, r, &o);
  });
  run("CreateClient", [&](grpc::ClientContext* ctx) {
    v1::CreateClientRequest r;
    r.set_tenant(tenant);
    r.mutable_client()->set_client_id("scope-new-" + token.substr(11, 4));
    r.mutable_client()->add_allowed_logout_urls("https://new.example.com/bye");
    v1::ClientResponse o;
    return admin.CreateClient(ctx, r, &o);
  });
  run("UpdateClient", [&](grpc::ClientContext* ctx) {
    v1::UpdateClientRequest r;
    r.set_tenant(tenant);
    r.set_client_id(client);
    r.mutable_client()->set_name("renamed");
    r.mutable_update_mask()->add_paths("name");
    v1::ClientResponse o;
    return admin.UpdateClient(ctx, r, &o);
  });
  run("GetConnection", [&](grpc::ClientContext* ctx) {
    v1::GetConnectionRequest r;
    r.set_tenant(tenant);
    r.set_connection(connection);
    v1::ConnectionResponse o;
    return admin.GetConnection(ctx, r, &o);
  });
  run("ListConnections", [&](grpc::ClientContext* ctx) {
    v1::ListConnectionsRequest r;
    r.set_tenant(tenant);
    v1::ListConnectionsResponse o;
    return admin.ListConnections(ctx, r, &o);
  });
  run("CreateConnection", [&](grpc::ClientContext* ctx) {
    v1::CreateConnectionRequest r;
    r.set_tenant(tenant);
    r.mutable_connection()->set_name("scope-conn-" + token.substr(11, 4));
    r.mutable_connection()->set_strategy("oidc");
    v1::ConnectionResponse o;
    return admin.CreateConnection(ctx, r, &o);
  });
  run("UpdateConnection", [&](grpc::ClientContext* ctx) {
    v1::UpdateConnectionRequest r;
    r.set_tenant(tenant);
    r.set_connection_name(connection);
    r.mutable_connection()->set_strategy("oidc");
    r.mutable_update_mask()->add_paths("strategy");
    v1::ConnectionResponse o;
    return admin.UpdateConnection(ctx, r, &o);
  });
  run("UpdateConnectionLogout", [&](grpc::ClientContext* ctx) {
    v1::UpdateConnectionLogoutRequest r;
    r.set_tenant(tenant);
    r.set_connection(connection);
    r.mutable_logout()->set_send_client_id(true);
    r.mutable_update_mask()->add_paths("send_client_id");
    v1::ConnectionResponse o;
    return admin.UpdateConnectionLogout(ctx, r, &o);
  });
  run("ListBackchannelDeliveries", [&](grpc::ClientContext* ctx) {
    v1::ListBackchannelDeliveriesRequest r;
    r.set_tenant(tenant);
    v1::ListBackchannelDeliveriesResponse o;
    return admin.ListBackchannelDeliveries(ctx, r, &o);
  });
  // Deletes last (they remove what the others use).
  run("DeleteConnection", [&](grpc::ClientContext* ctx) {
    v1::DeleteConnectionRequest r;
    r.set_tenant(tenant);
    r.set_connection(connection);
    v1::DeleteResponse o;
    return admin.DeleteConnection(ctx, r, &o);
  });
  run("DeleteClient", [&](grpc::ClientContext* ctx) {
    v1::DeleteClientRequest r;
    r.set_tenant(tenant);
    r.set_client_id(client);
    v1::DeleteResponse o;
    return admin.DeleteClient(ctx, r, &o);
  });
  run("DeleteTenant", [&](grpc::ClientContext* ctx) {
    v1::DeleteTenantRequest r;
    r.set_tenant(tenant);
    v1::DeleteResponse o;
    return admin.DeleteTenant(ctx, r, &o);
  });
  return out;
}

TEST_F(AdminScopeTest, AWriterOfOneTenantCanNeitherReadNorWriteAnother) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  for (const auto& [rpc, status] :
       EveryRpc(*admin_, kWriterToken, "globex", "globex-web", "globex-oidc")) {
    EXPECT_EQ(status.code, grpc::StatusCode::PERMISSION_DENIED) << rpc << ": " << status.message;
    EXPECT_THAT(status.message, HasSubstr("credential \"acme-writer\" (writer) may not")) << rpc;
  }
  // Nothing of globex changed: the root admin still reads it as created.
  v1::GetClientRequest get;
  get.set_tenant("globex");
  get.set_client_id("globex-web");
  v1::ClientResponse client;
  auto ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->GetClient(ctx.get(), get, &client).ok());
  EXPECT_EQ(client.client().name(), "");
}

TEST_F(AdminScopeTest, AnAdminOfEveryTenantMayCallEveryRpc) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  for (const auto& [rpc, status] :
       EveryRpc(*admin_, kRootToken, "globex", "globex-web", "globex-oidc")) {
    EXPECT_EQ(status.code, grpc::StatusCode::OK) << rpc << ": " << status.message;
  }
}

TEST_F(AdminScopeTest, AWriterOfItsTenantDoesEverythingButCreateOrDeleteTheTenant) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  for (const auto& [rpc, status] :
       EveryRpc(*admin_, kWriterToken, "acme", "web-app", "corp-oidc")) {
    if (rpc == "DeleteTenant") {
      EXPECT_EQ(status.code, grpc::StatusCode::PERMISSION_DENIED) << status.message;
      EXPECT_THAT(status.message, HasSubstr("may not delete tenant \"acme\""));
    } else if (rpc == "ListBackchannelDeliveries") {
      EXPECT_EQ(status.code, grpc::StatusCode::OK) << status.message;
    } else {
      EXPECT_EQ(status.code, grpc::StatusCode::OK) << rpc << ": " << status.message;
    }
  }
  // The audit trail names the credential.
  v1::ListAuditEventsRequest audit;
  v1::ListAuditEventsResponse events;
  auto ctx = CallContext(kWriterToken);
  ASSERT_TRUE(admin_->ListAuditEvents(ctx.get(), audit, &events).ok());
  ASSERT_GT(events.events_size(), 0);
  EXPECT_EQ(events.events(0).actor(), "acme-writer");
}

TEST_F(AdminScopeTest, AReaderReadsItsTenantAndWritesNothing) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  for (const auto& [rpc, status] :
       EveryRpc(*admin_, kReaderToken, "acme", "web-app", "corp-oidc")) {
    const bool read = rpc.rfind("Get", 0) == 0 || rpc.rfind("List", 0) == 0;
    if (read) {
      EXPECT_EQ(status.code, grpc::StatusCode::OK) << rpc << ": " << status.message;
    } else {
      EXPECT_EQ(status.code, grpc::StatusCode::PERMISSION_DENIED) << rpc << ": " << status.message;
      EXPECT_THAT(status.message, HasSubstr("credential \"acme-reader\" (reader) may not")) << rpc;
    }
  }
}

TEST_F(AdminScopeTest, ListsExportsAndTrailsShowOnlyTheCredentialsTenants) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  // A write to each tenant, so both appear in the audit trail.
  for (const std::string tenant : {"acme", "globex"}) {
    v1::UpdateTenantRequest r;
    r.set_tenant(tenant);
    r.mutable_tenant_update()->add_enabled_locales("fr");
    r.mutable_update_mask()->add_paths("enabled_locales");
    v1::TenantResponse o;
    auto ctx = CallContext(kRootToken);
    ASSERT_TRUE(admin_->UpdateTenant(ctx.get(), r, &o).ok());
  }
  // A tenant whose name reads like a path inside acme ("acme/client/x"), written to by root:
  // its events are not acme's.
  v1::CreateTenantRequest lookalike;
  lookalike.mutable_tenant()->set_name("acme/client/x");
  v1::Connection* corp = lookalike.mutable_tenant()->add_connections();
  corp->set_name("corp");
  corp->set_strategy("oidc");
  v1::TenantResponse created;
  auto ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->CreateTenant(ctx.get(), lookalike, &created).ok());
  v1::UpdateConnectionLogoutRequest touch;
  touch.set_tenant("acme/client/x");
  touch.set_connection("corp");
  touch.mutable_logout()->set_logout_url("https://idp.lookalike.example/logout");
  touch.mutable_update_mask()->add_paths("logout_url");
  v1::ConnectionResponse touched;
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->UpdateConnectionLogout(ctx.get(), touch, &touched).ok());

  v1::ListTenantsResponse tenants;
  ctx = CallContext(kReaderToken);
  ASSERT_TRUE(admin_->ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants).ok());
  ASSERT_EQ(tenants.tenants_size(), 1);
  EXPECT_EQ(tenants.tenants(0).tenant().name(), "acme");
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants).ok());
  EXPECT_EQ(tenants.tenants_size(), 4);  // acme, realm-strict, globex, acme/client/x

  v1::ExportPolicyResponse exported;
  ctx = CallContext(kWriterToken);
  ASSERT_TRUE(admin_->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &exported).ok());
  ASSERT_EQ(exported.policy().tenants_size(), 1);
  EXPECT_EQ(exported.policy().tenants(0).name(), "acme");
  EXPECT_EQ(exported.etag(), "");  // a partial export is no precondition for an import
  v1::ExportPolicyRequest with_secrets;
  with_secrets.set_include_secrets(true);
  ctx = CallContext(kWriterToken);
  const grpc::Status secrets = admin_->ExportPolicy(ctx.get(), with_secrets, &exported);
  EXPECT_EQ(secrets.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(secrets.error_message(), HasSubstr("may not export secrets"));

  v1::ListAuditEventsResponse events;
  ctx = CallContext(kReaderToken);
  ASSERT_TRUE(admin_->ListAuditEvents(ctx.get(), v1::ListAuditEventsRequest(), &events).ok());
  ASSERT_GT(events.events_size(), 0);
  for (const v1::AuditEvent& e : events.events()) {
    EXPECT_TRUE(e.object() == "tenant/acme" || e.object().rfind("tenant/acme/", 0) == 0)
        << e.object();
    EXPECT_THAT(e.after_json(), Not(HasSubstr("lookalike"))) << e.object();
  }
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ListAuditEvents(ctx.get(), v1::ListAuditEventsRequest(), &events).ok());
  bool saw_globex = false;
  bool saw_policy = false;
  for (const v1::AuditEvent& e : events.events()) {
    saw_globex |= e.object() == "tenant/globex";
    saw_policy |= e.object() == "policy";
  }
  EXPECT_TRUE(saw_globex);
  EXPECT_TRUE(saw_policy);  // the seed import

  // The delivery trail: another tenant's is refused by name.
  v1::ListBackchannelDeliveriesRequest deliveries;
  deliveries.set_tenant("globex");
  v1::ListBackchannelDeliveriesResponse none;
  ctx = CallContext(kReaderToken);
  EXPECT_EQ(admin_->ListBackchannelDeliveries(ctx.get(), deliveries, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Policy-wide calls need the admin role for "*".
  v1::ImportPolicyRequest import;
  import.set_force(true);
  v1::ImportPolicyResponse imported;
  ctx = CallContext(kWriterToken);
  const grpc::Status s = admin_->ImportPolicy(ctx.get(), import, &imported);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("may not import a policy"));
  v1::CreateTenantRequest create;
  create.mutable_tenant()->set_name("initech");
  ctx = CallContext(kWriterToken);
  EXPECT_EQ(admin_->CreateTenant(ctx.get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ctx = CallContext(kRootToken);
  EXPECT_TRUE(admin_->CreateTenant(ctx.get(), create, &created).ok());
  // The legacy --admin_token_file is still an admin for every tenant.
  ctx = CallContext(kLegacyToken);
  ASSERT_TRUE(admin_->ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants).ok());
  EXPECT_EQ(tenants.tenants_size(), 5);
  // A planner credential is not an admin credential.
  ctx = CallContext(kPlannerToken);
  EXPECT_EQ(admin_->ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(d->process->output(), Not(HasSubstr(kWriterToken)));
  EXPECT_THAT(d->process->output(), Not(HasSubstr(kRootToken)));
}

TEST_F(AdminScopeTest, PagesNeverRevealAnotherTenant) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  // Tenants sorting after acme that the acme reader may not see.
  for (const std::string name : {"acme-other", "zulu"}) {
    v1::CreateTenantRequest r;
    r.mutable_tenant()->set_name(name);
    v1::TenantResponse o;
    auto ctx = CallContext(kRootToken);
    ASSERT_TRUE(admin_->CreateTenant(ctx.get(), r, &o).ok());
  }
  v1::ListTenantsRequest list;
  list.set_page_size(1);
  v1::ListTenantsResponse listed;
  auto lctx = CallContext(kReaderToken);
  ASSERT_TRUE(admin_->ListTenants(lctx.get(), list, &listed).ok());
  ASSERT_EQ(listed.tenants_size(), 1);
  EXPECT_EQ(listed.tenants(0).tenant().name(), "acme");
  EXPECT_TRUE(listed.next_page_token().empty()) << "a token would say more tenants exist";

  v1::ExportPolicyRequest page;
  page.set_page_size(1);
  v1::ExportPolicyResponse exported;
  auto ectx = CallContext(kReaderToken);
  ASSERT_TRUE(admin_->ExportPolicy(ectx.get(), page, &exported).ok());
  ASSERT_EQ(exported.policy().tenants_size(), 1);
  EXPECT_EQ(exported.policy().tenants(0).name(), "acme");
  EXPECT_TRUE(exported.next_page_token().empty());
  EXPECT_TRUE(exported.etag().empty()) << "the whole policy's etag is for \"*\" credentials";
}

TEST_F(AdminScopeTest, PlanningNeedsAPlannerCredentialForTheTenant) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  v1::PlanLogoutNotificationsRequest plan;
  plan.set_tenant("acme");
  plan.set_sid("sid-1");
  plan.add_session_client_ids("web-app");
  plan.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
  v1::PlanLogoutNotificationsResponse planned;
  auto ctx = CallContext(kPlannerToken);
  grpc::Status s = decisions_->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_TRUE(s.ok()) << s.error_message();
  ctx = CallContext();
  s = decisions_->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  // An admin is not a planner.
  ctx = CallContext(kRootToken);
  s = decisions_->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  plan.set_tenant("globex");
  plan.clear_session_client_ids();
  plan.add_session_client_ids("globex-web");
  ctx = CallContext(kPlannerToken);
  s = decisions_->PlanLogoutNotifications(ctx.get(), plan, &planned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(),
              HasSubstr("credential \"acme-planner\" may not plan single logout for tenant "
                        "\"globex\""));
}

TEST_F(AdminScopeTest, TheCredentialsFileIsReloadedAndABrokenOneKeepsTheLastGood) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  constexpr char kNewToken[] = "scope-test-globex-reader-token-01";
  const auto list_as = [&](const std::string& token) {
    v1::ListTenantsResponse tenants;
    auto ctx = CallContext(token);
    const grpc::Status s = admin_->ListTenants(ctx.get(), v1::ListTenantsRequest(), &tenants);
    return std::make_pair(s.error_code(), tenants.tenants_size());
  };
  EXPECT_EQ(list_as(kNewToken).first, grpc::StatusCode::PERMISSION_DENIED);
  // Rotation: the reader of acme goes, a reader of globex comes; no restart.
  std::vector<std::string> entries = DefaultEntries();
  entries[2] = Entry("globex-reader", kNewToken, "reader", R"(["globex"])");
  WriteCredentials(entries);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (list_as(kNewToken).first != grpc::StatusCode::OK &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(list_as(kNewToken), std::make_pair(grpc::StatusCode::OK, 1));
  EXPECT_EQ(list_as(kReaderToken).first, grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      d->process->WaitForLine("\"msg\":\"credentials reloaded\"", absl::Seconds(5)).has_value());

  // A broken file (a trailing comma) is refused and reported; the last good set stays.
  WriteRaw(CredentialsJson(DefaultEntries()).insert(1, "\"x\": 1,,"));
  ASSERT_TRUE(d->process->WaitForLine("\"msg\":\"credentials file refused\"", absl::Seconds(10))
                  .has_value())
      << d->process->output();
  EXPECT_EQ(list_as(kNewToken), std::make_pair(grpc::StatusCode::OK, 1));
  EXPECT_EQ(list_as(kReaderToken).first, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(d->process->output(), HasSubstr("the previous credentials stay in force"));
}

TEST_F(AdminScopeTest, ImportIsGuardedByEtagDryRunAndDeletionConsent) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  v1::ExportPolicyResponse exported;
  auto ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &exported).ok());
  ASSERT_EQ(exported.etag().size(), 32u);
  const uint64_t version = exported.policy_version();

  // Without a precondition: INVALID_ARGUMENT naming the field.
  v1::ImportPolicyRequest import;
  *import.mutable_policy() = exported.policy();
  v1::ImportPolicyResponse out;
  ctx = CallContext(kRootToken);
  grpc::Status s = admin_->ImportPolicy(ctx.get(), import, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("expected_etag is required"));

  // The edit: one URL added to acme/web-app, one removed from acme's tenant list, globex gone.
  v1::PolicyConfig& p = *import.mutable_policy();
  ASSERT_EQ(p.tenants(0).name(), "acme");
  const std::string removed_url = p.tenants(0).allowed_logout_urls(0);
  p.mutable_tenants(0)->mutable_allowed_logout_urls()->erase(
      p.mutable_tenants(0)->mutable_allowed_logout_urls()->begin());
  ASSERT_EQ(p.tenants(0).clients(0).client_id(), "web-app");
  p.mutable_tenants(0)->mutable_clients(0)->add_allowed_logout_urls("https://added.example.com/x");
  // Exports list tenants in name order: acme, globex, realm-strict.
  ASSERT_EQ(p.tenants(1).name(), "globex");
  p.mutable_tenants()->DeleteSubrange(1, 1);

  // A dry run: the exact difference, nothing written.
  import.set_dry_run(true);
  ctx = CallContext(kRootToken);
  s = admin_->ImportPolicy(ctx.get(), import, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.etag(), exported.etag());
  EXPECT_EQ(out.policy_version(), version);
  ASSERT_EQ(out.difference().tenants_removed_size(), 1);
  EXPECT_EQ(out.difference().tenants_removed(0), "globex");
  EXPECT_EQ(out.difference().tenants_added_size(), 0);
  ASSERT_EQ(out.difference().tenants_changed_size(), 1);
  const v1::TenantDifference& acme = out.difference().tenants_changed(0);
  EXPECT_EQ(acme.tenant(), "acme");
  EXPECT_THAT(acme.allowed_logout_urls_removed(), ::testing::ElementsAre(removed_url));
  EXPECT_EQ(acme.allowed_logout_urls_added_size(), 0);
  EXPECT_EQ(acme.fields_changed_size(), 0);
  ASSERT_EQ(acme.clients_changed_size(), 1);
  EXPECT_EQ(acme.clients_changed(0).client_id(), "web-app");
  EXPECT_THAT(acme.clients_changed(0).allowed_logout_urls_added(),
              ::testing::ElementsAre("https://added.example.com/x"));
  EXPECT_EQ(acme.clients_changed(0).fields_changed_size(), 0);  // the kept secret is unchanged
  v1::ExportPolicyResponse again;
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &again).ok());
  EXPECT_EQ(again.policy_version(), version);
  EXPECT_EQ(again.etag(), exported.etag());

  // The real import without allow_deletions: refused, listing what would go.
  import.set_dry_run(false);
  import.set_expected_etag(out.etag());
  ctx = CallContext(kRootToken);
  s = admin_->ImportPolicy(ctx.get(), import, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("would remove tenant \"globex\""));

  // Someone writes meanwhile: the etag is stale, ABORTED, nothing changed by the import.
  v1::UpdateTenantRequest touch;
  touch.set_tenant("acme");
  touch.mutable_tenant_update()->add_enabled_locales("de");
  touch.mutable_update_mask()->add_paths("enabled_locales");
  v1::TenantResponse touched;
  ctx = CallContext(kWriterToken);
  ASSERT_TRUE(admin_->UpdateTenant(ctx.get(), touch, &touched).ok());
  import.set_allow_deletions(true);
  ctx = CallContext(kRootToken);
  s = admin_->ImportPolicy(ctx.get(), import, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("is stale"));
  v1::GetTenantRequest get;
  get.set_tenant("globex");
  v1::TenantResponse globex;
  ctx = CallContext(kRootToken);
  EXPECT_TRUE(admin_->GetTenant(ctx.get(), get, &globex).ok());

  // Re-read, re-apply the edit with the fresh etag and consent: imported, audited with the
  // difference.
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &again).ok());
  import.set_expected_etag(again.etag());
  ctx = CallContext(kRootToken);
  s = admin_->ImportPolicy(ctx.get(), import, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.difference().tenants_removed(0), "globex");
  ctx = CallContext(kRootToken);
  EXPECT_EQ(admin_->GetTenant(ctx.get(), get, &globex).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::ListAuditEventsRequest audit;
  audit.set_page_size(1);
  v1::ListAuditEventsResponse events;
  ctx = CallContext(kRootToken);
  ASSERT_TRUE(admin_->ListAuditEvents(ctx.get(), audit, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).action(), "ImportPolicy");
  EXPECT_EQ(events.events(0).actor(), "root");
  EXPECT_THAT(events.events(0).after_json(), HasSubstr("\"tenants_removed\":[\"globex\"]"));
  EXPECT_THAT(events.events(0).after_json(), HasSubstr("https://added.example.com/x"));
}

}  // namespace
}  // namespace logout
