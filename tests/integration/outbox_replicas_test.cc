// The notification outbox on two real logoutd replicas sharing one real PostgreSQL server
// (started by the test as a non-root user on loopback): replica A plans 200 back-channel
// logouts to a slow receiver and holds their leases; A is killed with SIGKILL mid-queue; B takes
// the jobs over once the leases expire and delivers the rest. Every job reaches the receiver;
// a duplicate is possible only for a job A had sent but not yet recorded, and they are counted.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "logout/v1/admin.grpc.pb.h"
#include "logout/v1/logout.grpc.pb.h"
#include "service/jwt/id_token.h"
#include "service/jwt/key_set.h"
#include "tests/testing/http_receiver.h"
#include "tests/testing/logoutd_process.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/slo_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace logout {
namespace {

using testing::CallContext;
using testing::HttpReceiver;
using testing::LogoutdProcess;
using testing::PostgresServer;
using testing::Reply;
using testing::TestKey;

constexpr char kToken[] = "outbox-replicas-token-0123456789";
constexpr int kPlans = 20;
constexpr int kClients = 10;

class OutboxReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresServer::Available()) {
      GTEST_SKIP()
          << "PostgreSQL server binaries missing: run scripts/setup.sh (Debian package postgresql)";
    }
    auto server = PostgresServer::Create();
    ASSERT_TRUE(server.ok()) << server.status();
    pg_ = *std::move(server);
    auto url = pg_->NewDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    dir_ = testing::FreshTempDir("outbox_replicas");
    std::ofstream(dir_ + "/token") << kToken;
    key_ = std::make_unique<TestKey>(TestKey::Generate(jwt::KeyFamily::kEcP256));
  }

  void WritePolicy(const std::string& receiver_base) {
    v1::PolicyConfig config;
    v1::Tenant* t = config.add_tenants();
    t->set_name("acme");
    t->set_issuer("https://acme.example.com/");
    *t->add_signing_keys() = testing::SigningKeyOf("ec-1", "ES256", testing::PrivateKeyPem(*key_));
    for (int i = 0; i < kClients; ++i) {
      v1::Client* c = t->add_clients();
      c->set_client_id(absl::StrCat("app", i));
      c->add_allowed_logout_urls(absl::StrCat("https://app", i, ".example.com/bye"));
      c->set_id_token_signed_response_alg("ES256");
      c->set_backchannel_logout_uri(absl::StrCat(receiver_base, "/bc/app", i));
    }
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(config, &json).ok());
    std::ofstream(dir_ + "/policy.json") << json;
  }

  std::unique_ptr<LogoutdProcess> Replica(int workers) {
    return LogoutdProcess::Start(
        LOGOUTD_BINARY,
        {"--store=" + url_, "--policy=" + dir_ + "/policy.json",
         "--admin_token_file=" + dir_ + "/token", "--slo_allow_unauthenticated",
         "--dev_allow_http_loopback", "--deliver_backchannel", "--outbox_lease=3s",
         "--backchannel_attempt_timeout=1s", absl::StrCat("--outbox_workers=", workers),
         absl::StrCat("--outbox_origin_concurrency=", workers)});
  }

  // (client, sid) of each logout token the receiver got, after checking its signature.
  std::vector<std::pair<std::string, std::string>> Received(HttpReceiver& rp) {
    v1::Jwks jwks;
    *jwks.add_keys() = key_->ToJwk("ec-1");
    auto keys = jwt::KeySet::Create(jwks);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : rp.Requests()) {
      const std::string token = r.body.substr(r.body.find('=') + 1);
      absl::StatusOr<jwt::IdToken> decoded = jwt::DecodeIdToken(token);
      EXPECT_TRUE(decoded.ok() && decoded->typ == "logout+jwt" &&
                  jwt::VerifyWithKeys(*decoded, **keys).ok())
          << r.path;
      if (decoded.ok()) out.emplace_back(r.path.substr(4), decoded->sid);
    }
    return out;
  }

  std::unique_ptr<PostgresServer> pg_;
  std::string url_;
  std::string dir_;
  std::unique_ptr<TestKey> key_;
};

TEST_F(OutboxReplicasTest, KilledReplicasLeasedJobsAreTakenOverAndDelivered) {
  // 50 ms per answer, one at a time: A (one worker) needs ~10 s for 200 jobs.
  HttpReceiver rp({Reply::Delayed(200, absl::Milliseconds(50))});
  WritePolicy(absl::StrCat("http://127.0.0.1:", rp.port()));
  auto a = Replica(/*workers=*/1);
  ASSERT_NE(a, nullptr);
  auto b = Replica(/*workers=*/4);
  ASSERT_NE(b, nullptr);

  auto planner = v1::LogoutPolicy::NewStub(a->channel);
  std::set<std::pair<std::string, std::string>> planned;
  for (int p = 0; p < kPlans; ++p) {
    v1::PlanLogoutNotificationsRequest req;
    req.set_tenant("acme");
    req.set_sid(absl::StrCat("sid-", p));
    req.set_sub("alice");
    req.set_initiator(v1::LOGOUT_INITIATOR_RP_LOGOUT);
    for (int i = 0; i < kClients; ++i) req.add_session_client_ids(absl::StrCat("app", i));
    v1::PlanLogoutNotificationsResponse resp;
    auto ctx = CallContext();
    ASSERT_TRUE(planner->PlanLogoutNotifications(ctx.get(), req, &resp).ok());
    ASSERT_TRUE(resp.plan().backchannel_delivered_by_logoutd());
    for (const auto& c : resp.plan().clients()) {
      ASSERT_GT(c.delivery().job_id(), 0u);
      planned.emplace(c.client_id(), req.sid());
    }
  }
  ASSERT_EQ(planned.size(), static_cast<size_t>(kPlans * kClients));

  // A works through its leased jobs; B may not touch them while A's leases hold.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (rp.Requests().size() < 20 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(10));
  a->process->Signal(SIGKILL);
  ASSERT_EQ(a->process->Wait(absl::Seconds(10)), 128 + SIGKILL);
  const absl::Time killed = absl::Now();
  const size_t sent_by_a = rp.Requests().size();
  ASSERT_LT(sent_by_a, planned.size() / 2) << "A delivered too much before it was killed";

  // B takes the rest over once the leases (3 s) expire.
  std::optional<std::string> takeover =
      b->process->WaitForLine("took over notification jobs", absl::Seconds(15));
  ASSERT_TRUE(takeover.has_value()) << b->process->output();
  EXPECT_GE(absl::Now() - killed, absl::Seconds(2)) << "taken over before the lease expired";
  const absl::Time until = absl::Now() + absl::Seconds(60);
  std::set<std::pair<std::string, std::string>> got;
  std::vector<std::pair<std::string, std::string>> received;
  while (absl::Now() < until) {
    received = Received(rp);
    got = std::set<std::pair<std::string, std::string>>(received.begin(), received.end());
    if (got.size() == planned.size()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Duration recovery = absl::Now() - killed;
  absl::SleepFor(absl::Milliseconds(500));  // a late duplicate would show now
  received = Received(rp);
  EXPECT_EQ(got, planned) << "every job reaches the receiver";
  const size_t duplicates = received.size() - got.size();
  std::cout << "[ outbox ] A sent " << sent_by_a << " of " << planned.size()
            << " before SIGKILL; B delivered the rest " << absl::FormatDuration(recovery)
            << " after the kill (lease 3 s); duplicates: " << duplicates << "\n";
  // Only a job A had sent whose result it had not recorded yet can be sent twice: with one
  // worker and one group commit in flight, at most two.
  EXPECT_LE(duplicates, 2u);

  // B's view of the outbox: every job delivered.
  v1::ListNotificationJobsRequest list;
  list.set_tenant("acme");
  list.set_page_size(1000);
  v1::ListNotificationJobsResponse jobs;
  auto ctx = CallContext(kToken);
  ASSERT_TRUE(
      v1::LogoutAdmin::NewStub(b->channel)->ListNotificationJobs(ctx.get(), list, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), kPlans * kClients);
  for (const auto& j : jobs.jobs()) EXPECT_EQ(j.state(), "delivered") << j.id();
}

}  // namespace
}  // namespace logout
