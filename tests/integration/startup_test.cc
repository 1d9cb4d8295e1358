// What logoutd says when it starts, on the real binary: --help and --version, listen addresses
// refused naming the flag (no port; a port another process holds), every stderr line a JSON
// object, a warning that says how to load a policy into an empty store, and --policy against a
// store that holds a different policy (a warning naming both; --policy_mode=replace imports it).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/policy.pb.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace logout {
namespace {

using ::testing::HasSubstr;
using testing::LogoutdProcess;
using ::testing::Not;
using testing::Subprocess;

constexpr char kToken[] = "startup-test-admin-token-0123456";

struct ProcessRun {
  int code = -1;
  std::string output;
};

ProcessRun RunLogoutd(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LOGOUTD_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::Start(argv);
  if (p == nullptr) return {};
  const std::optional<int> code = p->Wait(absl::Seconds(20));
  return {code.value_or(-1), p->output()};
}

void ExpectEveryLineIsJson(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "{\"ts\":") && absl::EndsWith(line, "}")) << line;
  }
}

class StartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir("startup");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ + "/token") << kToken;
  }
  std::string dir_;
};

TEST_F(StartupTest, HelpListsEveryFlagInGroupsAndExitsZero) {
  const ProcessRun r = RunLogoutd({"--help"});
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("No flags matched")));
  for (const char* group : {"Serving:", "Policy and store:", "Credentials:", "TLS:", "Connections:",
                            "Single logout:", "Logs:"}) {
    EXPECT_THAT(r.output, HasSubstr(group));
  }
  for (const char* flag :
       {"--listen ", "--store ", "--policy_mode ", "--admin_credentials_file ",
        "--slo_allow_unauthenticated ", "--tls_client_ca ", "--max_connection_age ",
        "--deliver_backchannel ", "--decision_log_sample_rate "}) {
    EXPECT_THAT(r.output, HasSubstr(flag));
  }
  EXPECT_THAT(r.output, Not(HasSubstr("Other:")));  // every flag has a group
}

TEST_F(StartupTest, VersionPrintsTheVersionAndGitRevision) {
  const ProcessRun r = RunLogoutd({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.output, ::testing::MatchesRegex("logoutd [^ ]+ \\(git ([0-9a-f]+|unknown)\\)\n"));
}

TEST_F(StartupTest, AListenAddressWithoutAPortStopsTheStartNamingTheFlag) {
  ProcessRun r = RunLogoutd({"--listen=localhost", "--store=file"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, HasSubstr("--listen: \\\"localhost\\\" needs a port"));
  r = RunLogoutd({"--listen=127.0.0.1:0", "--admin_listen=[::1]", "--store=file"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, HasSubstr("--admin_listen: \\\"[::1]\\\" needs a port"));
  ExpectEveryLineIsJson(r.output);
}

TEST_F(StartupTest, APortHeldByAnotherProcessStopsTheStartNamingTheFlag) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  const ProcessRun r =
      RunLogoutd({"--listen=" + address, "--store=file",
                  std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json"});
  close(fd);
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.output, HasSubstr("--listen: cannot listen on " + address));
  // gRPC's own bind error is a JSON line too.
  EXPECT_THAT(r.output, HasSubstr("\"msg\":\"grpc\""));
  ExpectEveryLineIsJson(r.output);
}

TEST_F(StartupTest, AnEmptyStoreWarnsHowToLoadAPolicyAndIsNotServing) {
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {"--store=sqlite:" + dir_ + "/logoutd.db"});
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->process->output(),
              HasSubstr("\"level\":\"warning\",\"msg\":\"no policy loaded: the store is empty. "
                        "Load one with --policy=FILE"));
  EXPECT_EQ(testing::HealthOf(*d, "logout.v1.LogoutPolicy"),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

TEST_F(StartupTest, APolicyFileDifferentFromTheStoreWarnsOrWithReplaceIsImported) {
  const std::string db = "--store=sqlite:" + dir_ + "/logoutd.db";
  const std::string example = std::string("--policy=") + LOGOUT_EXAMPLES_DIR + "/policy.json";
  {
    auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {db, example});
    ASSERT_NE(d, nullptr);
  }
  // Running the same command again finds the same policy: no warning.
  {
    auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {db, example});
    ASSERT_NE(d, nullptr);
    EXPECT_THAT(d->process->output(), HasSubstr("store already holds the --policy file's policy"));
  }
  // An edited file: a warning naming both, and the stored policy keeps serving.
  std::ifstream in(std::string(LOGOUT_EXAMPLES_DIR) + "/policy.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  v1::PolicyConfig edited;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &edited).ok());
  edited.mutable_tenants(0)->add_allowed_logout_urls("https://replaced.acme.example.com/");
  std::string edited_json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(edited, &edited_json).ok());
  std::ofstream(dir_ + "/edited.json") << edited_json;
  const std::string query = "returnTo=https%3A%2F%2Freplaced.acme.example.com%2F";
  {
    auto d = LogoutdProcess::Start(LOGOUTD_BINARY, {db, "--policy=" + dir_ + "/edited.json"});
    ASSERT_NE(d, nullptr);
    EXPECT_THAT(d->process->output(),
                HasSubstr("the store holds a policy different from --policy; serving the stored "
                          "one (--policy_mode=replace imports the file over it)"));
    EXPECT_THAT(d->process->output(), HasSubstr("\"stored_etag\":"));
    EXPECT_THAT(d->process->output(), HasSubstr("\"file_etag\":"));
    EXPECT_EQ(testing::DecideV2(*d, "acme", query).decision(), v1::DECISION_DENY);
  }
  // In seed mode a --policy file that no longer parses does not stop a store that serves.
  std::ofstream(dir_ + "/broken.json") << "{\"tenants\": [,]}";
  {
    auto broken = LogoutdProcess::Start(LOGOUTD_BINARY, {db, "--policy=" + dir_ + "/broken.json"});
    ASSERT_NE(broken, nullptr);
    EXPECT_THAT(broken->process->output(),
                HasSubstr("--policy file not usable; serving the stored policy"));
    EXPECT_EQ(testing::DecideV2(*broken, "acme", query).decision(), v1::DECISION_DENY);
  }
  auto d = LogoutdProcess::Start(LOGOUTD_BINARY,
                                 {db, "--policy=" + dir_ + "/edited.json", "--policy_mode=replace",
                                  "--admin_token_file=" + dir_ + "/token"});
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(d->process->output(), HasSubstr("stored policy replaced by --policy"));
  EXPECT_EQ(testing::DecideV2(*d, "acme", query).decision(), v1::DECISION_ALLOW);
  v1::ListAuditEventsRequest audit;
  audit.set_page_size(1);
  v1::ListAuditEventsResponse events;
  auto ctx = testing::CallContext(kToken);
  ASSERT_TRUE(
      v1::LogoutAdmin::NewStub(d->channel)->ListAuditEvents(ctx.get(), audit, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).action(), "ImportPolicy");
  EXPECT_EQ(events.events(0).actor(), "policy-file:" + dir_ + "/edited.json");
  EXPECT_THAT(events.events(0).after_json(), HasSubstr("https://replaced.acme.example.com/"));
}

}  // namespace
}  // namespace logout
