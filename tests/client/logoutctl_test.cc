// logoutctl as a script would use it: the real binary run as a subprocess against a real logoutd
// (SQLite store, admin token), one JSON object on stdout, errors as JSON on stderr, and the
// documented exit codes.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.pb.h"
#include "logout/v1/logout.pb.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/subprocess.h"

namespace logout {
namespace {

using testing::LogoutdProcess;
using testing::Subprocess;

constexpr char kToken[] = "logoutctl-test-token-4f1e9a";

struct CtlRun {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses one JSON object (a whole line) into `message`; fails the test otherwise.
template <typename Message>
Message Parse(const std::string& json) {
  Message m;
  const auto s = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(s.ok()) << s.message() << " in: " << json;
  return m;
}

std::string Field(const std::string& error_json, const std::string& name) {
  const auto s = Parse<google::protobuf::Struct>(error_json);
  auto it = s.fields().find(name);
  return it == s.fields().end() ? "" : it->second.string_value();
}

class LogoutctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/logoutctl_" + std::to_string(getpid()));
    ASSERT_EQ(system(("rm -rf " + *dir_ + " && mkdir -p " + *dir_).c_str()), 0);
    std::ofstream(*dir_ + "/token") << kToken << "\n";
    std::ofstream(*dir_ + "/wrong-token") << "not-the-token-1234\n";
    logoutd_ = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=sqlite:" + *dir_ + "/logoutd.db",
                                                      "--admin_token_file=" + *dir_ + "/token",
                                                      std::string("--policy=") +
                                                          LOGOUT_EXAMPLES_DIR + "/policy.json"})
                   .release();
  }
  static void TearDownTestSuite() {
    delete logoutd_;
    logoutd_ = nullptr;
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(logoutd_, nullptr); }

  // Runs logoutctl with --target set to logoutd (unless `target` is given) and `args`.
  static CtlRun Ctl(const std::vector<std::string>& args, const std::string& target = "") {
    std::vector<std::string> quoted = {
        ShellQuote(LOGOUTCTL_BINARY),
        ShellQuote("--target=" +
                   (target.empty() ? absl::StrCat("127.0.0.1:", logoutd_->port) : target))};
    for (const std::string& a : args) quoted.push_back(ShellQuote(a));
    const std::string err_file = *dir_ + "/stderr";
    const std::string cmd =
        absl::StrCat("exec ", absl::StrJoin(quoted, " "), " 2>", ShellQuote(err_file));
    auto p = Subprocess::Start({"/bin/sh", "-c", cmd});
    CtlRun run;
    if (p == nullptr) {
      ADD_FAILURE() << "cannot start logoutctl";
      return run;
    }
    const std::optional<int> code = p->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.has_value()) << "logoutctl did not finish";
    run.code = code.value_or(-1);
    run.out = p->output();
    run.err = ReadAll(err_file);
    return run;
  }

  static std::string TokenFlag() { return "--admin_token_file=" + *dir_ + "/token"; }

  static std::string* dir_;
  static LogoutdProcess* logoutd_;
};
std::string* LogoutctlTest::dir_ = nullptr;
LogoutdProcess* LogoutctlTest::logoutd_ = nullptr;

TEST_F(LogoutctlTest, ValidateAllowExitsZeroWithTheResponse) {
  const CtlRun r =
      Ctl({"validate", "--tenant=acme", "--endpoint=v2",
           "--query=client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fgoodbye"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto resp = Parse<v1::ValidateLogoutResponse>(r.out);
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(resp.reason(), v1::REASON_REDIRECT_ALLOWED);
  EXPECT_EQ(resp.redirect_url(), "https://shop.acme.example.com/goodbye");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one JSON object, one line";
}

TEST_F(LogoutctlTest, ValidateDenyExitsOne) {
  const CtlRun r = Ctl({"validate", "--tenant", "acme", "--query",
                        "client_id=web-app&returnTo=https://evil.example/"});
  ASSERT_EQ(r.code, 1) << r.err;
  const auto resp = Parse<v1::ValidateLogoutResponse>(r.out);
  EXPECT_EQ(resp.decision(), v1::DECISION_DENY);
  EXPECT_EQ(resp.reason(), v1::REASON_TARGET_NOT_ALLOWED);
  EXPECT_EQ(resp.redirect_url(), "");
}

TEST_F(LogoutctlTest, ValidateConfirmationExitsTwo) {
  const CtlRun r = Ctl({"validate", "--tenant=acme", "--endpoint=oidc", "--session_id=sid-123",
                        "--query=post_logout_redirect_uri=https://acme.example.com/logged-out"});
  ASSERT_EQ(r.code, 2) << r.err;
  const auto resp = Parse<v1::ValidateLogoutResponse>(r.out);
  EXPECT_EQ(resp.decision(), v1::DECISION_REQUIRE_CONFIRMATION);
  EXPECT_EQ(resp.reason(), v1::REASON_CONFIRMATION_REQUIRED);
}

TEST_F(LogoutctlTest, ValidateUnknownTenantExitsNotFound) {
  const CtlRun r = Ctl({"validate", "--tenant=nope", "--query=returnTo=https://x.example/"});
  ASSERT_EQ(r.code, 66) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Field(r.err, "code"), "NOT_FOUND");
  EXPECT_EQ(Field(r.err, "outcome"), "error");
}

TEST_F(LogoutctlTest, UnreachableLogoutdFailsClosedOrOpenWithExitThree) {
  // Port 1 on loopback: nothing listens there.
  CtlRun r =
      Ctl({"validate", "--tenant=acme", "--query=returnTo=https://acme.example.com/logged-out"},
          "127.0.0.1:1");
  ASSERT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "");  // nothing that could be mistaken for a decision
  EXPECT_EQ(Field(r.err, "outcome"), "failed_closed");
  EXPECT_EQ(Field(r.err, "code"), "UNAVAILABLE");
  r = Ctl({"--fail_open", "validate", "--tenant=acme"}, "127.0.0.1:1");
  ASSERT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Field(r.err, "outcome"), "failed_open");
}

TEST_F(LogoutctlTest, UsageErrorsExitSixtyFour) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"validate"},  // no --tenant
           {"validate", "--tenant=acme", "--endpoint=saml"},
           {"validate", "--tenant=acme", "--no_such_flag=1"},
           {"connection", "get", "acme"},          // one argument short
           {"policy", "export", "--tenant=acme"},  // flag of another command
           {"audit", "--limit=0"},
           {"--deadline"}}) {
    const CtlRun r = Ctl(args);
    EXPECT_EQ(r.code, 64) << absl::StrJoin(args, " ") << ": " << r.err;
    EXPECT_EQ(Field(r.err, "code"), "USAGE") << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "");
  }
  const CtlRun help = Ctl({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("75  ABORTED"), std::string::npos);
}

TEST_F(LogoutctlTest, FederatedUrl) {
  CtlRun r = Ctl({"federated-url", "--tenant=acme", "--connection=corp-oidc",
                  "--return_to=https://shop.acme.example.com/goodbye", "--client_id=web-app"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto resp = Parse<v1::BuildFederatedLogoutUrlResponse>(r.out);
  EXPECT_EQ(resp.decision(), v1::DECISION_ALLOW);
  EXPECT_EQ(resp.url().rfind("https://idp.corp.example/oidc/logout?", 0), 0u) << resp.url();
  r = Ctl({"federated-url", "--tenant=acme", "--connection=corp-oidc",
           "--return_to=https://evil.example/", "--client_id=web-app"});
  ASSERT_EQ(r.code, 1) << r.err;
  resp = Parse<v1::BuildFederatedLogoutUrlResponse>(r.out);
  EXPECT_EQ(resp.decision(), v1::DECISION_DENY);
  EXPECT_EQ(resp.reason(), v1::REASON_TARGET_NOT_ALLOWED);
}

TEST_F(LogoutctlTest, AdminWithoutOrWithWrongTokenExitsSeventySevenAndNeverPrintsIt) {
  CtlRun r = Ctl({"connection", "get", "acme", "corp-oidc"});
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "UNAUTHENTICATED");
  r = Ctl(
      {"--admin_token_file=" + *dir_ + "/wrong-token", "connection", "get", "acme", "corp-oidc"});
  EXPECT_EQ(r.code, 77) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "PERMISSION_DENIED");
  EXPECT_EQ(r.err.find("not-the-token"), std::string::npos) << r.err;
  r = Ctl({"--admin_token_file=" + *dir_ + "/missing", "connection", "get", "acme", "corp-oidc"});
  EXPECT_EQ(r.code, 66) << r.err;
}

TEST_F(LogoutctlTest, ConnectionGetUpdateAndStaleEtag) {
  CtlRun r = Ctl({TokenFlag(), "connection", "get", "acme", "corp-oidc"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto before = Parse<v1::ConnectionResponse>(r.out);
  ASSERT_FALSE(before.etag().empty());
  EXPECT_EQ(before.connection().logout().end_session_endpoint(),
            "https://idp.corp.example/oidc/logout");

  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc",
           R"(--logout={"returnToParam":"returnTo","logoutUrl":"https://idp.corp.example/bye"})",
           "--mask=return_to_param", "--etag=" + before.etag()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto after = Parse<v1::ConnectionResponse>(r.out);
  EXPECT_EQ(after.connection().logout().return_to_param(), "returnTo");
  EXPECT_EQ(after.connection().logout().logout_url(), "");  // not in the mask: unchanged
  EXPECT_EQ(after.connection().logout().end_session_endpoint(),
            "https://idp.corp.example/oidc/logout");
  EXPECT_NE(after.etag(), before.etag());

  // The etag read before the update is stale now.
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc",
           R"(--logout={"returnToParam":"next"})", "--mask=return_to_param",
           "--etag=" + before.etag()});
  EXPECT_EQ(r.code, 75) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "ABORTED");
  EXPECT_EQ(r.out, "");

  // Bad input: unparsable JSON locally, an unknown mask path at logoutd; unknown connection.
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc", "--logout={nope",
           "--mask=return_to_param"});
  EXPECT_EQ(r.code, 65) << r.err;
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc", "--logout={}",
           "--mask=no_such_field"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "INVALID_ARGUMENT");
  r = Ctl({TokenFlag(), "connection", "get", "acme", "no-such-connection"});
  EXPECT_EQ(r.code, 66) << r.err;

  // The audit trail, filtered to the tenant: the update is the newest event.
  r = Ctl({TokenFlag(), "audit", "--tenant=acme", "--limit=1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto events = Parse<v1::ListAuditEventsResponse>(r.out);
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).action(), "UpdateConnectionLogout");
  EXPECT_EQ(events.events(0).object(), "tenant/acme/connection/corp-oidc");
  EXPECT_EQ(events.events(0).actor().rfind("token:", 0), 0u);
  r = Ctl({TokenFlag(), "audit", "--tenant=no-such-tenant"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ListAuditEventsResponse>(r.out).events_size(), 0);
}

TEST_F(LogoutctlTest, PolicyExportImportRoundTrip) {
  CtlRun r = Ctl({TokenFlag(), "policy", "export"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto exported = Parse<v1::ExportPolicyResponse>(r.out);
  ASSERT_GE(exported.policy().tenants_size(), 1);
  const uint64_t version = exported.policy_version();

  // Edit the export (add a tenant allow-list entry) and import it back.
  v1::ExportPolicyResponse edited = exported;
  edited.mutable_policy()->mutable_tenants(0)->add_allowed_logout_urls(
      "https://imported.acme.example.com/");
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(edited, &json).ok());
  const std::string file = *dir_ + "/policy.json";
  std::ofstream(file) << json;
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(Parse<v1::ImportPolicyResponse>(r.out).policy_version(), version);
  r = Ctl({"validate", "--tenant=acme", "--query=returnTo=https://imported.acme.example.com/"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // --clear_client_fields reaches logoutd, which accepts only client_secret.
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes", "--clear_client_fields", "name"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_NE(Field(r.err, "message").find("clear_client_fields"), std::string::npos) << r.err;

  // An invalid policy is refused whole by logoutd; an unparsable or missing file locally.
  edited.mutable_policy()->mutable_tenants(0)->add_allowed_logout_urls("https://*.com");
  json.clear();  // MessageToJsonString appends
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(edited.policy(), &json).ok());
  std::ofstream(file, std::ios::trunc) << json;
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "INVALID_ARGUMENT");
  EXPECT_NE(Field(r.err, "message").find("https://*.com"), std::string::npos) << r.err;
  std::ofstream(file, std::ios::trunc) << "{\"tenants\": [";
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes"});
  EXPECT_EQ(r.code, 65) << r.err;
  r = Ctl({TokenFlag(), "policy", "import", *dir_ + "/no-such-file.json", "--yes"});
  EXPECT_EQ(r.code, 66) << r.err;
}

// policy import is guarded: a strict parse (line and column), a preview of the difference, an
// explicit --yes, and the import applied only to the policy that was previewed.
TEST_F(LogoutctlTest, PolicyImportParsesStrictlyPreviewsAndNeedsYes) {
  CtlRun r = Ctl({TokenFlag(), "policy", "export"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto before = Parse<v1::ExportPolicyResponse>(r.out);
  ASSERT_FALSE(before.etag().empty());
  const std::string file = *dir_ + "/typo.json";

  // The typo that used to wipe a platform: a trailing comma. Refused locally, exit 65.
  std::ofstream(file, std::ios::trunc) << "{\"tenants\": [{\"name\": \"acme\",}]}";
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes", "--allow-deletions"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "INVALID_ARGUMENT");
  EXPECT_NE(Field(r.err, "message").find("line 1, column "), std::string::npos) << r.err;
  EXPECT_NE(Field(r.err, "message").find("trailing comma"), std::string::npos) << r.err;
  for (const std::string& bad :
       {std::string("{'tenants': []}"), std::string("{\"tenants\": [] // none\n}"),
        std::string("{\"tenants\": [], \"tenants\": []}")}) {
    std::ofstream(file, std::ios::trunc) << bad;
    r = Ctl({TokenFlag(), "policy", "import", file, "--yes", "--allow-deletions"});
    EXPECT_EQ(r.code, 65) << bad << ": " << r.err;
    EXPECT_NE(Field(r.err, "message").find("line "), std::string::npos) << r.err;
  }

  // A well-formed import that adds a URL and drops tenant realm-strict.
  v1::PolicyConfig edited = before.policy();
  edited.mutable_tenants(0)->add_allowed_logout_urls("https://diffed.acme.example.com/");
  edited.mutable_tenants()->RemoveLast();
  ASSERT_EQ(edited.tenants_size(), 1);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(edited, &json).ok());
  std::ofstream(file, std::ios::trunc) << json;
  // --dry-run (and policy diff): the difference, nothing written.
  r = Ctl({TokenFlag(), "policy", "import", file, "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto preview = Parse<v1::ImportPolicyResponse>(r.out);
  EXPECT_EQ(preview.etag(), before.etag());
  EXPECT_TRUE(preview.requires_allow_deletions());
  ASSERT_EQ(preview.difference().tenants_removed_size(), 1);
  EXPECT_EQ(preview.difference().tenants_removed(0), before.policy().tenants(1).name());
  ASSERT_EQ(preview.difference().tenants_changed_size(), 1);
  ASSERT_EQ(preview.difference().tenants_changed(0).allowed_logout_urls_added_size(), 1);
  EXPECT_EQ(preview.difference().tenants_changed(0).allowed_logout_urls_added(0),
            "https://diffed.acme.example.com/");
  r = Ctl({TokenFlag(), "policy", "diff", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ImportPolicyResponse>(r.out).difference().tenants_removed_size(), 1);
  // Without --yes: the difference is shown, nothing is imported, exit 64.
  r = Ctl({TokenFlag(), "policy", "import", file});
  EXPECT_EQ(r.code, 64) << r.err;
  EXPECT_NE(Field(r.err, "message").find("--yes"), std::string::npos) << r.err;
  EXPECT_EQ(Parse<v1::ImportPolicyResponse>(r.out).difference().tenants_removed_size(), 1);
  // With --yes but without --allow-deletions: refused, naming what would go.
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes"});
  EXPECT_EQ(r.code, 70) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "FAILED_PRECONDITION");
  EXPECT_NE(Field(r.err, "message").find("tenant \"realm-strict\""), std::string::npos) << r.err;
  // A stale --etag: ABORTED, exit 75.
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes", "--allow-deletions",
           "--etag=00000000000000000000000000000000"});
  EXPECT_EQ(r.code, 75) << r.err;
  // Nothing of the above changed the store.
  r = Ctl({TokenFlag(), "policy", "export"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ExportPolicyResponse>(r.out).policy_version(), before.policy_version());
  // --yes --allow-deletions imports it.
  r = Ctl({TokenFlag(), "policy", "import", file, "--yes", "--allow-deletions"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto imported = Parse<v1::ImportPolicyResponse>(r.out);
  EXPECT_GT(imported.policy_version(), before.policy_version());
  EXPECT_EQ(imported.difference().tenants_removed_size(), 1);
  r = Ctl({TokenFlag(), "policy", "export"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ExportPolicyResponse>(r.out).policy().tenants_size(), 1);
}

// Everyday admin without grpcurl: list as tables, read-modify-write updates with the etag,
// --json for scripts, and the documented exit codes.
TEST_F(LogoutctlTest, TenantClientAndConnectionCommands) {
  CtlRun r = Ctl({TokenFlag(), "tenant", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')).substr(0, 7), "TENANT ");
  EXPECT_NE(r.out.find("\nacme "), std::string::npos) << r.out;

  // One allowed logout URL added to one application, and a scalar field set.
  r = Ctl({TokenFlag(), "client", "update", "acme", "web-app", "--add-url",
           "https://shop.acme.example.com/see-you", "--set", "name=Web shop"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("name:"), std::string::npos) << r.out;
  r = Ctl({"validate", "--tenant=acme",
           "--query=client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fsee-you"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = Ctl({TokenFlag(), "client", "get", "acme", "web-app", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto client = Parse<v1::ClientResponse>(r.out);
  EXPECT_EQ(client.client().name(), "Web shop");
  EXPECT_EQ(client.client().allowed_logout_urls(client.client().allowed_logout_urls_size() - 1),
            "https://shop.acme.example.com/see-you");
  r = Ctl({TokenFlag(), "client", "update", "acme", "web-app", "--remove-url",
           "https://shop.acme.example.com/see-you"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({"validate", "--tenant=acme",
           "--query=client_id=web-app&returnTo=https%3A%2F%2Fshop.acme.example.com%2Fsee-you"});
  EXPECT_EQ(r.code, 1) << r.out;

  // Errors: a URL that is not there (66), a field that does not exist (65), a list via --set.
  r = Ctl({TokenFlag(), "client", "update", "acme", "web-app", "--remove-url",
           "https://nope.example/"});
  EXPECT_EQ(r.code, 66) << r.err;
  r = Ctl({TokenFlag(), "client", "update", "acme", "web-app", "--set", "nope=1"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_EQ(Field(r.err, "message"), "--set: logout.v1.Client has no field \"nope\"");
  r = Ctl({TokenFlag(), "tenant", "update", "acme", "--set", "enabled_locales=en"});
  EXPECT_EQ(r.code, 65) << r.err;

  // A connection's nested setting, and create/list/delete.
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc", "--set",
           "logout.logout_url=https://idp.corp.example/bye", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ConnectionResponse>(r.out).connection().logout().logout_url(),
            "https://idp.corp.example/bye");
  r = Ctl({TokenFlag(), "tenant", "create", "globex", "--set", "issuer=https://globex.example/",
           "--add-url", "https://globex.example/bye"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({TokenFlag(), "connection", "create", "globex", "corp", "--set", "strategy=oidc"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({TokenFlag(), "connection", "list", "globex"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\ncorp "), std::string::npos) << r.out;
  r = Ctl({TokenFlag(), "client", "create", "globex", "app", "--add-url",
           "https://app.globex.example/bye"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({TokenFlag(), "client", "delete", "globex", "app", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Ctl({TokenFlag(), "client", "get", "globex", "app"});
  EXPECT_EQ(r.code, 66) << r.err;
  r = Ctl({TokenFlag(), "client", "create", "globex", "app", "--set", "name=x"});  // no URL
  EXPECT_EQ(r.code, 0) << r.err;
  r = Ctl({TokenFlag(), "tenant", "create", "globex"});
  EXPECT_EQ(r.code, 70) << r.err;  // ALREADY_EXISTS

  // An explicit --etag is used as given, once: a stale one is ABORTED (75), never retried.
  r = Ctl({TokenFlag(), "client", "update", "acme", "admin-console", "--set", "name=x", "--etag",
           "00000000000000000000000000000000"});
  EXPECT_EQ(r.code, 75) << r.err;
  // Flags that would be ignored are refused instead.
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc", "--set", "strategy=samlp",
           "--logout", "{}", "--mask", "logout_url"});
  EXPECT_EQ(r.code, 64) << r.err;
  r = Ctl({TokenFlag(), "connection", "update", "acme", "corp-oidc", "--mask", "logout_url"});
  EXPECT_EQ(r.code, 64) << r.err;
  // Nothing to change is not an error.
  r = Ctl({TokenFlag(), "client", "update", "globex", "app", "--set", "name=x"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(LogoutctlTest, OutboxCommands) {
  // This logoutd does not deliver: the outbox RPCs say so (exit 70, FAILED_PRECONDITION), after
  // checking their input (exit 65) and the usage (exit 64).
  CtlRun r = Ctl({TokenFlag(), "outbox", "list", "--tenant=acme"});
  EXPECT_EQ(r.code, 70) << r.err;
  EXPECT_EQ(Field(r.err, "code"), "FAILED_PRECONDITION");
  EXPECT_NE(Field(r.err, "message").find("--deliver_backchannel"), std::string::npos) << r.err;
  r = Ctl({TokenFlag(), "outbox", "list", "--state=lost"});
  EXPECT_EQ(r.code, 65) << r.err;
  EXPECT_NE(Field(r.err, "message").find("states: \"lost\""), std::string::npos) << r.err;
  EXPECT_EQ(Ctl({TokenFlag(), "outbox", "requeue"}).code, 64);
  EXPECT_EQ(Ctl({TokenFlag(), "outbox", "requeue", "acme", "--id=abc"}).code, 64);
  EXPECT_EQ(Ctl({"outbox", "list"}).code, 77) << "an admin command needs the token";

  // One that delivers (its own SQLite store): an empty outbox lists and requeues nothing.
  auto delivering = LogoutdProcess::Start(
      LOGOUTD_BINARY, {"--store=sqlite:" + *dir_ + "/delivering.db", "--deliver_backchannel",
                       "--admin_token_file=" + *dir_ + "/token",
                       std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json"});
  ASSERT_NE(delivering, nullptr);
  const std::string target = absl::StrCat("127.0.0.1:", delivering->port);
  r = Ctl({TokenFlag(), "outbox", "list", "--tenant=acme", "--state=dead", "--limit=5"}, target);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::ListNotificationJobsResponse>(r.out).jobs_size(), 0);
  r = Ctl({TokenFlag(), "outbox", "requeue", "acme", "--id=7", "--id=8"}, target);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Parse<v1::RequeueDeadLettersResponse>(r.out).requeued(), 0u);
}

}  // namespace
}  // namespace logout
