// The admin API against real logoutd processes on a real SQLite file: writes survive restarts
// and kill -9, decisions see a write as soon as the RPC returns, etags serialise racing
// writers, an invalid write is refused whole, and connection logout settings are never lost.
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "tests/testing/jwt_minter.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/temp_dir.h"

namespace logout {
namespace {

using testing::CallContext;
using testing::LogoutdProcess;

constexpr char kToken[] = "admin-store-test-token-0123";

class AdminStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("admin_store");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/token") << kToken << "\n";
  }

  std::unique_ptr<LogoutdProcess> Start(bool seed = true) {
    std::vector<std::string> args = {"--store=sqlite:" + dir_ + "/logoutd.db",
                                     "--admin_token_file=" + dir_ + "/token"};
    if (seed) args.push_back(std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json");
    return LogoutdProcess::Start(LOGOUTD_BINARY, args);
  }

  static v1::ValidateLogoutResponse Decide(const LogoutdProcess& d, const std::string& query) {
    return testing::DecideV2(d, "acme", query);
  }

  static grpc::Status CreateClient(v1::LogoutAdmin::Stub& admin, const std::string& id,
                                   v1::ClientResponse* out) {
    v1::CreateClientRequest req;
    req.set_tenant("acme");
    req.mutable_client()->set_client_id(id);
    req.mutable_client()->add_allowed_logout_urls("https://" + id + ".example.com/bye");
    req.mutable_client()->add_allowed_logout_urls("https://" + id + ".example.com/alt");
    auto ctx = CallContext(kToken);
    return admin.CreateClient(ctx.get(), req, out);
  }

  std::string dir_;
};

TEST_F(AdminStoreTest, WriteIsVisibleAtOnceAndSurvivesRestart) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::ClientResponse created;
  grpc::Status s = CreateClient(*admin, "kiosk", &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.policy_version(), 2u);  // 1 = the seed
  EXPECT_FALSE(created.etag().empty());
  // Same replica, right after the RPC returned.
  v1::ValidateLogoutResponse r =
      Decide(*d, "client_id=kiosk&returnTo=https://kiosk.example.com/alt");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.policy_version(), 2u);

  d->process->Signal(SIGTERM);
  ASSERT_EQ(d->process->Wait(absl::Seconds(10)), 0);
  d = Start(/*seed=*/false);
  ASSERT_NE(d, nullptr);
  r = Decide(*d, "client_id=kiosk&returnTo=https://kiosk.example.com/alt");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.policy_version(), 2u);

  // The audit trail has the seed and the write, newest first, with the caller's identity.
  v1::ListAuditEventsRequest list;
  v1::ListAuditEventsResponse events;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(v1::LogoutAdmin::NewStub(d->channel)->ListAuditEvents(ctx.get(), list, &events).ok());
  ASSERT_EQ(events.events_size(), 2);
  EXPECT_EQ(events.events(0).action(), "CreateClient");
  EXPECT_EQ(events.events(0).object(), "tenant/acme/client/kiosk");
  EXPECT_EQ(events.events(0).actor().substr(0, 6), "token:");
  EXPECT_EQ(events.events(0).before_json(), "");
  EXPECT_NE(events.events(0).after_json().find("kiosk.example.com"), std::string::npos);
  EXPECT_EQ(events.events(1).action(), "ImportPolicy");
  EXPECT_EQ(d->process->output().find(kToken), std::string::npos);
}

TEST_F(AdminStoreTest, KillDashNineLosesNoAcknowledgedWrite) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      v1::ClientResponse out;
      if (!CreateClient(*admin, absl::StrCat("c", i), &out).ok()) break;
      acked = i + 1;
    }
  });
  while (acked.load() < 25) absl::SleepFor(absl::Milliseconds(5));
  d->process->Signal(SIGKILL);
  ASSERT_EQ(d->process->Wait(absl::Seconds(10)), 128 + SIGKILL);
  stop = true;
  writer.join();
  const int acknowledged = acked.load();

  d = Start(/*seed=*/false);
  ASSERT_NE(d, nullptr);
  v1::ExportPolicyResponse exported;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(v1::LogoutAdmin::NewStub(d->channel)
                  ->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &exported)
                  .ok());
  const v1::Tenant& acme = exported.policy().tenants(0);
  int present = 0;
  for (const v1::Client& c : acme.clients()) {
    if (c.client_id()[0] != 'c' || c.client_id().size() < 2 || !isdigit(c.client_id()[1])) continue;
    ++present;
    // Nothing half-applied: every stored client is complete.
    ASSERT_EQ(c.allowed_logout_urls_size(), 2) << c.client_id();
  }
  // Every acknowledged write is there; at most the one in flight at the kill is extra.
  EXPECT_GE(present, acknowledged);
  EXPECT_LE(present, acknowledged + 1);
  EXPECT_EQ(exported.policy_version(), 1u + present);
  std::cout << "kill -9: " << acknowledged << " acknowledged writes, " << present << " present\n";
}

TEST_F(AdminStoreTest, ExportPagesHoldEveryTenantOnceFromOneVersion) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  for (int i = 0; i < 23; ++i) {
    v1::CreateTenantRequest req;
    req.mutable_tenant()->set_name(absl::StrCat("paged-", i));
    v1::TenantResponse out;
    auto ctx = CallContext(kToken);
    ASSERT_TRUE(admin->CreateTenant(ctx.get(), req, &out).ok());
  }
  v1::ExportPolicyResponse whole;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &whole).ok());
  EXPECT_TRUE(whole.next_page_token().empty());
  ASSERT_EQ(whole.policy().tenants_size(), 25);  // the example's two and ours

  v1::ExportPolicyRequest req;
  req.set_page_size(7);
  std::vector<std::string> names;
  int pages = 0;
  while (true) {
    v1::ExportPolicyResponse page;
    auto pctx = CallContext(kToken);
    const grpc::Status s = admin->ExportPolicy(pctx.get(), req, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++pages;
    EXPECT_LE(page.policy().tenants_size(), 7);
    EXPECT_EQ(page.etag(), whole.etag()) << "every page carries the whole policy's etag";
    EXPECT_EQ(page.policy_version(), whole.policy_version());
    for (const v1::Tenant& t : page.policy().tenants()) names.push_back(t.name());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 4);
  std::vector<std::string> expected;
  for (const v1::Tenant& t : whole.policy().tenants()) expected.push_back(t.name());
  EXPECT_EQ(names, expected);  // each tenant once, in name order
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));

  // ListTenants pages the same way (a position only: listing is not tied to one version).
  v1::ListTenantsRequest list;
  list.set_page_size(10);
  std::vector<std::string> listed;
  for (int page = 0; page < 10; ++page) {
    v1::ListTenantsResponse got;
    auto lctx = CallContext(kToken);
    ASSERT_TRUE(admin->ListTenants(lctx.get(), list, &got).ok());
    EXPECT_LE(got.tenants_size(), 10);
    for (const v1::TenantResponse& t : got.tenants()) listed.push_back(t.tenant().name());
    if (got.next_page_token().empty()) break;
    list.set_page_token(got.next_page_token());
  }
  EXPECT_EQ(listed, expected);

  // A write between pages: the next page refuses to mix versions.
  v1::ExportPolicyRequest first;
  first.set_page_size(7);
  v1::ExportPolicyResponse page1;
  auto c1 = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(c1.get(), first, &page1).ok());
  v1::ClientResponse created;
  ASSERT_TRUE(CreateClient(*admin, "between-pages", &created).ok());
  v1::ExportPolicyRequest next = first;
  next.set_page_token(page1.next_page_token());
  v1::ExportPolicyResponse page2;
  auto c2 = CallContext(kToken);
  grpc::Status s = admin->ExportPolicy(c2.get(), next, &page2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("export again from the first page"));
  next.set_page_token("not-a-token");
  auto c3 = CallContext(kToken);
  s = admin->ExportPolicy(c3.get(), next, &page2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(AdminStoreTest, TwoWritersRaceOnOneEtagExactlyOneWins) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::GetClientRequest get;
  get.set_tenant("acme");
  get.set_client_id("web-app");
  v1::ClientResponse current;
  auto gctx = CallContext(kToken);
  ASSERT_TRUE(admin->GetClient(gctx.get(), get, &current).ok());
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 2; ++i) {
    racers.emplace_back([&, i] {
      v1::UpdateClientRequest req;
      req.set_tenant("acme");
      req.set_client_id("web-app");
      req.set_etag(current.etag());
      req.mutable_client()->add_allowed_logout_urls(
          absl::StrCat("https://racer", i, ".example.com/"));
      req.mutable_update_mask()->add_paths("allowed_logout_urls");
      v1::ClientResponse out;
      auto ctx = CallContext(kToken);
      const grpc::Status s = admin->UpdateClient(ctx.get(), req, &out);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 1);
  EXPECT_EQ(other.load(), 0);
}

TEST_F(AdminStoreTest, InvalidWriteIsRefusedWholeNamingTheEntry) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::UpdateClientRequest req;
  req.set_tenant("acme");
  req.set_client_id("web-app");
  req.mutable_client()->add_allowed_logout_urls("https://ok.example.com/");
  req.mutable_client()->add_allowed_logout_urls("https://*.com");
  req.mutable_update_mask()->add_paths("allowed_logout_urls");
  v1::ClientResponse out;
  auto ctx = CallContext(kToken);
  const grpc::Status s = admin->UpdateClient(ctx.get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find(R"(client "web-app": allowed_logout_urls[1] "https://*.com")"),
            std::string::npos)
      << s.error_message();
  // Nothing changed: the old list still decides, at the old version.
  const v1::ValidateLogoutResponse r =
      Decide(*d, "client_id=web-app&returnTo=https://shop.acme.example.com/goodbye");
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(r.policy_version(), 1u);
}

TEST_F(AdminStoreTest, UnknownMaskPathAndMissingObjects) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::UpdateTenantRequest req;
  req.set_tenant("acme");
  req.mutable_update_mask()->add_paths("no_such_field");
  v1::TenantResponse out;
  auto ctx = CallContext(kToken);
  grpc::Status s = admin->UpdateTenant(ctx.get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("\"no_such_field\""), std::string::npos) << s.error_message();
  req.set_tenant("nope");
  req.mutable_update_mask()->set_paths(0, "issuer");
  auto ctx2 = CallContext(kToken);
  EXPECT_EQ(admin->UpdateTenant(ctx2.get(), req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminStoreTest, ConnectionLogoutSettingsAreNeverLost) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  // A custom OIDC connection with opaque options and a logout URL (Auth0's options.logoutUrl).
  v1::CreateConnectionRequest create;
  create.set_tenant("acme");
  v1::Connection* c = create.mutable_connection();
  c->set_name("custom-oidc");
  c->set_strategy("oidc");
  (*c->mutable_options()->mutable_fields())["scope"].set_string_value("openid profile");
  (*c->mutable_options()->mutable_fields())["discovery_url"].set_string_value(
      "https://idp.corp.example/.well-known/openid-configuration");
  v1::ConnectionResponse out;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(admin->CreateConnection(ctx.get(), create, &out).ok());

  v1::UpdateConnectionLogoutRequest set_url;
  set_url.set_tenant("acme");
  set_url.set_connection("custom-oidc");
  set_url.set_etag(out.etag());
  set_url.mutable_logout()->set_logout_url("https://idp.corp.example/logout");
  set_url.mutable_update_mask()->add_paths("logout_url");
  ctx = CallContext(kToken);
  grpc::Status s = admin->UpdateConnectionLogout(ctx.get(), set_url, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The same etag again is stale now.
  ctx = CallContext(kToken);
  EXPECT_EQ(admin->UpdateConnectionLogout(ctx.get(), set_url, &out).error_code(),
            grpc::StatusCode::ABORTED);
  // The audit event has the connection before and after.
  {
    v1::ListAuditEventsRequest list;
    list.set_page_size(1);
    v1::ListAuditEventsResponse events;
    auto actx = CallContext(kToken);
    ASSERT_TRUE(admin->ListAuditEvents(actx.get(), list, &events).ok());
    ASSERT_EQ(events.events_size(), 1);
    EXPECT_EQ(events.events(0).action(), "UpdateConnectionLogout");
    EXPECT_EQ(events.events(0).object(), "tenant/acme/connection/custom-oidc");
    EXPECT_EQ(events.events(0).before_json().find("logout_url"), std::string::npos);
    EXPECT_NE(events.events(0).after_json().find("https://idp.corp.example/logout"),
              std::string::npos);
  }

  // A later save of a different logout field...
  v1::UpdateConnectionLogoutRequest other_field;
  other_field.set_tenant("acme");
  other_field.set_connection("custom-oidc");
  other_field.mutable_logout()->set_send_client_id(true);
  other_field.mutable_update_mask()->add_paths("send_client_id");
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->UpdateConnectionLogout(ctx.get(), other_field, &out).ok());
  // ...and of one opaque option (the seed's PATCH of `options`).
  v1::UpdateConnectionRequest option;
  option.set_tenant("acme");
  option.set_connection_name("custom-oidc");
  (*option.mutable_connection()->mutable_options()->mutable_fields())["scope"].set_string_value(
      "openid email");
  option.mutable_update_mask()->add_paths("options.scope");
  ctx = CallContext(kToken);
  s = admin->UpdateConnection(ctx.get(), option, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.connection().logout().logout_url(), "https://idp.corp.example/logout");
  EXPECT_TRUE(out.connection().logout().send_client_id());
  EXPECT_EQ(out.connection().options().fields().at("scope").string_value(), "openid email");
  EXPECT_EQ(out.connection().options().fields().at("discovery_url").string_value(),
            "https://idp.corp.example/.well-known/openid-configuration");

  // An import of the policy whose connection has no logout fields keeps them...
  v1::ExportPolicyResponse exported;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &exported).ok());
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = exported.policy();
  for (v1::Tenant& t : *import.mutable_policy()->mutable_tenants()) {
    for (v1::Connection& conn : *t.mutable_connections()) conn.clear_logout();
  }
  v1::ImportPolicyResponse imported;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ImportPolicy(ctx.get(), import, &imported).ok());
  v1::GetConnectionRequest get;
  get.set_tenant("acme");
  get.set_connection("custom-oidc");
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->GetConnection(ctx.get(), get, &out).ok());
  EXPECT_EQ(out.connection().logout().logout_url(), "https://idp.corp.example/logout");
  // ...unless the mask says so.
  import.mutable_clear_connection_fields()->add_paths("logout");
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ImportPolicy(ctx.get(), import, &imported).ok());
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->GetConnection(ctx.get(), get, &out).ok());
  EXPECT_EQ(out.connection().logout().logout_url(), "");
}

// An RP-initiated logout with an HS256 id_token_hint for `client_id`, MACed with `secret`.
v1::ValidateLogoutResponse DecideWithHmacHint(const LogoutdProcess& d, const std::string& client_id,
                                              const std::string& secret) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string claims =
      absl::StrCat(R"({"iss":"https://acme.example.com/","sub":"user-1","aud":")", client_id,
                   R"(","iat":)", now - 60, R"(,"exp":)", now + 3600, "}");
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
  req.mutable_params()->set_id_token_hint(
      testing::TestKey::MintHmac("HS256", R"({"alg":"HS256","typ":"JWT"})", claims, secret));
  req.mutable_params()->set_post_logout_redirect_uri("https://" + client_id + ".example.com/bye");
  v1::ValidateLogoutResponse resp;
  auto ctx = CallContext();
  const grpc::Status s =
      v1::LogoutPolicy::NewStub(d.channel)->ValidateLogout(ctx.get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

TEST_F(AdminStoreTest, RedactedExportReimportedKeepsClientSecrets) {
  constexpr char kSecret[] = "hs256-client-secret-0123456789abcdefghij";
  constexpr char kWrongSecret[] = "not-the-secret-0123456789abcdefghijklmn";
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::CreateClientRequest create;
  create.set_tenant("acme");
  v1::Client* c = create.mutable_client();
  c->set_client_id("hs-app");
  c->add_allowed_logout_urls("https://hs-app.example.com/bye");
  c->set_id_token_signed_response_alg("HS256");
  c->set_client_secret(kSecret);
  v1::ClientResponse created;
  auto ctx = CallContext(kToken);
  grpc::Status s = admin->CreateClient(ctx.get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(created.client().client_secret().empty());

  v1::ValidateLogoutResponse r = DecideWithHmacHint(*d, "hs-app", kSecret);
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
  EXPECT_EQ(r.client_source(), v1::CLIENT_SOURCE_ID_TOKEN_HINT);
  EXPECT_EQ(r.client_id(), "hs-app");
  r = DecideWithHmacHint(*d, "hs-app", kWrongSecret);
  EXPECT_EQ(r.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.reason(), v1::REASON_ID_TOKEN_HINT_INVALID);

  // Export without secrets, edit, import that document back.
  v1::ExportPolicyResponse exported;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ExportPolicy(ctx.get(), v1::ExportPolicyRequest(), &exported).ok());
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  *import.mutable_policy() = exported.policy();
  bool found = false;
  for (v1::Client& client : *import.mutable_policy()->mutable_tenants(0)->mutable_clients()) {
    if (client.client_id() != "hs-app") continue;
    found = true;
    EXPECT_TRUE(client.client_secret().empty());
    client.set_name("edited after export");
  }
  ASSERT_TRUE(found);
  v1::ImportPolicyResponse imported;
  ctx = CallContext(kToken);
  s = admin->ImportPolicy(ctx.get(), import, &imported);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(imported.policy_version(), 3u);

  // The stored secret still verifies HS256 hints, and a wrong one is still refused.
  r = DecideWithHmacHint(*d, "hs-app", kSecret);
  EXPECT_EQ(r.decision(), v1::DECISION_ALLOW) << r.DebugString();
  EXPECT_EQ(r.client_source(), v1::CLIENT_SOURCE_ID_TOKEN_HINT);
  EXPECT_EQ(r.policy_version(), 3u);
  r = DecideWithHmacHint(*d, "hs-app", kWrongSecret);
  EXPECT_EQ(r.decision(), v1::DECISION_DENY);
  EXPECT_EQ(r.reason(), v1::REASON_ID_TOKEN_HINT_INVALID);
  v1::GetClientRequest get;
  get.set_tenant("acme");
  get.set_client_id("hs-app");
  v1::ClientResponse got;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->GetClient(ctx.get(), get, &got).ok());
  EXPECT_EQ(got.client().name(), "edited after export");
  EXPECT_TRUE(got.client().client_secret().empty());

  // Neither the audit trail nor the log has the secret.
  v1::ListAuditEventsResponse events;
  ctx = CallContext(kToken);
  ASSERT_TRUE(admin->ListAuditEvents(ctx.get(), v1::ListAuditEventsRequest(), &events).ok());
  ASSERT_EQ(events.events_size(), 3);
  for (const v1::AuditEvent& e : events.events()) {
    EXPECT_EQ(e.before_json().find(kSecret), std::string::npos) << e.action();
    EXPECT_EQ(e.after_json().find(kSecret), std::string::npos) << e.action();
  }
  EXPECT_EQ(d->process->output().find(kSecret), std::string::npos);
}

TEST_F(AdminStoreTest, UpdateConnectionLogoutValidatesAndBuildSeesIt) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  struct Bad {
    std::string path;
    v1::ConnectionLogout logout;
    std::string message;
  };
  std::vector<Bad> bad(5);
  bad[0] = {"logout_url", {}, "logout.logout_url"};
  bad[0].logout.set_logout_url("http://idp.corp.example/logout");
  bad[1] = {"logout_url", {}, "logout.logout_url"};
  bad[1].logout.set_logout_url("https://user@idp.corp.example/logout");
  bad[2] = {"logout_url", {}, "logout.logout_url"};
  bad[2].logout.set_logout_url("https://idp.corp.example/logout#frag");
  bad[3] = {"logout_url_template", {}, "logout.logout_url_template"};
  bad[3].logout.set_logout_url_template("https://idp.corp.example/logout{?returnTo");
  bad[4] = {"no_such_field", {}, "\"no_such_field\""};
  for (const Bad& b : bad) {
    v1::UpdateConnectionLogoutRequest req;
    req.set_tenant("acme");
    req.set_connection("corp-oidc");
    *req.mutable_logout() = b.logout;
    req.mutable_update_mask()->add_paths(b.path);
    v1::ConnectionResponse out;
    auto ctx = CallContext(kToken);
    const grpc::Status s = admin->UpdateConnectionLogout(ctx.get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << b.path;
    EXPECT_NE(s.error_message().find(b.message), std::string::npos) << s.error_message();
  }
  // A valid template replaces the strategy default, visible at once to BuildFederatedLogoutUrl.
  v1::UpdateConnectionLogoutRequest req;
  req.set_tenant("acme");
  req.set_connection("corp-oidc");
  req.mutable_logout()->set_logout_url_template(
      "https://idp.corp.example/v2/logout{?returnTo,client_id}");
  req.mutable_update_mask()->add_paths("logout_url_template");
  v1::ConnectionResponse out;
  auto ctx = CallContext(kToken);
  grpc::Status s = admin->UpdateConnectionLogout(ctx.get(), req, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.connection().logout().end_session_endpoint(),
            "https://idp.corp.example/oidc/logout");

  v1::BuildFederatedLogoutUrlRequest build;
  build.set_tenant("acme");
  build.set_connection("corp-oidc");
  build.set_client_id("web-app");
  build.set_return_to("https://shop.acme.example.com/goodbye");
  v1::BuildFederatedLogoutUrlResponse built;
  ctx = CallContext();
  s = v1::LogoutPolicy::NewStub(d->channel)->BuildFederatedLogoutUrl(ctx.get(), build, &built);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(built.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(built.source(), v1::FEDERATED_URL_SOURCE_TEMPLATE);
  EXPECT_EQ(
      built.url(),
      "https://idp.corp.example/v2/logout?returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye"
      "&client_id=web-app");
}

TEST_F(AdminStoreTest, StaleEtagIsAborted) {
  auto d = Start();
  ASSERT_NE(d, nullptr);
  auto admin = v1::LogoutAdmin::NewStub(d->channel);
  v1::UpdateTenantRequest req;
  req.set_tenant("acme");
  req.set_etag("0000000000000000");
  req.mutable_tenant_update()->set_issuer("https://new.example.com/");
  req.mutable_update_mask()->add_paths("issuer");
  v1::TenantResponse out;
  auto ctx = CallContext(kToken);
  EXPECT_EQ(admin->UpdateTenant(ctx.get(), req, &out).error_code(), grpc::StatusCode::ABORTED);
}

using testing::HealthOf;

TEST_F(AdminStoreTest, StoredPolicyThatNoLongerCompilesFailsClosedAndCanBeRepaired) {
  {
    auto d = Start();
    ASSERT_NE(d, nullptr);
    d->process->Signal(SIGTERM);
    ASSERT_EQ(d->process->Wait(absl::Seconds(10)), 0);
  }
  // Corrupt the stored tenant behind logoutd's back: an entry the compiler refuses.
  v1::Tenant bad;
  bad.set_name("acme");
  bad.add_allowed_logout_urls("https://*.com");
  const std::string body = bad.SerializeAsString();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/logoutd.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                db, "UPDATE logoutd_tenants SET body = ?1, revision = 7 WHERE name = 'acme'", -1,
                &stmt, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE logoutd_revision SET revision = 7", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto d = Start(/*seed=*/false);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(HealthOf(*d, ""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(HealthOf(*d, "logout.v1.PolicyStore"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_NE(d->process->output().find("stored policy refused"), std::string::npos);
  v1::ValidateLogoutRequest req;
  req.set_tenant("acme");
  req.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  v1::ValidateLogoutResponse resp;
  auto ctx = CallContext();
  EXPECT_EQ(
      v1::LogoutPolicy::NewStub(d->channel)->ValidateLogout(ctx.get(), req, &resp).error_code(),
      grpc::StatusCode::UNAVAILABLE);

  // An admin import repairs it.
  v1::ImportPolicyRequest import;
  import.set_force(true);  // these tests replace policies unguarded
  import.set_allow_deletions(true);
  import.mutable_policy()->add_tenants()->set_name("acme");
  v1::ImportPolicyResponse imported;
  ctx = CallContext(kToken);
  const grpc::Status s =
      v1::LogoutAdmin::NewStub(d->channel)->ImportPolicy(ctx.get(), import, &imported);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(imported.policy_version(), 8u);
  EXPECT_EQ(HealthOf(*d, ""), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(AdminFileModeTest, ReadOnlyFileModeRefusesWrites) {
  const std::string token = ::testing::TempDir() + "/file_mode_token";
  std::ofstream(token) << kToken;
  auto d = LogoutdProcess::Start(
      LOGOUTD_BINARY,
      {"--store=file", std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json",
       "--admin_token_file=" + token});
  ASSERT_NE(d, nullptr);
  v1::CreateTenantRequest req;
  req.mutable_tenant()->set_name("new");
  v1::TenantResponse out;
  auto ctx = CallContext(kToken);
  const grpc::Status s = v1::LogoutAdmin::NewStub(d->channel)->CreateTenant(ctx.get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace logout
