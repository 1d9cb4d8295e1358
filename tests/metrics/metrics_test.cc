#include "service/metrics/metrics.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/http_get.h"
#include "tests/testing/prometheus_text.h"

namespace logout::metrics {
namespace {

using ::logout::testing::Exposition;
using ::logout::testing::HttpGet;
using ::logout::testing::HttpRequest;
using ::logout::testing::HttpResponse;
using ::logout::testing::ParseExposition;

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A clock the test moves by hand.
class ManualClock {
 public:
  explicit ManualClock(absl::Time t) : now_(t) {}
  absl::Time Now() const {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

Exposition ScrapeOverHttp(const Metrics& metrics) {
  absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", metrics.port(), "/metrics");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return {};
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("content-type"), kContentType);
  absl::StatusOr<Exposition> parsed = ParseExposition(response->body);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : Exposition{};
}

TEST(MetricsTest, ServesRecordedValuesOverHttp) {
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  ManualClock clock(t0);
  Metrics metrics([&clock] { return clock.Now(); });
  ASSERT_TRUE(metrics.Serve("127.0.0.1:0").ok());
  ASSERT_GT(metrics.port(), 0);

  metrics.RecordDecision(v1::ENDPOINT_OIDC_LOGOUT, v1::DECISION_DENY,
                         v1::REASON_TARGET_NOT_ALLOWED);
  metrics.RecordDecision(v1::ENDPOINT_OIDC_LOGOUT, v1::DECISION_DENY,
                         v1::REASON_TARGET_NOT_ALLOWED);
  metrics.RecordDecision(v1::ENDPOINT_V2_LOGOUT, v1::DECISION_ALLOW, v1::REASON_REDIRECT_ALLOWED);
  metrics.RecordDecision(v1::ENDPOINT_V2_LOGOUT, v1::DECISION_REQUIRE_CONFIRMATION,
                         v1::REASON_CONFIRMATION_REQUIRED);
  // Not pre-created: counted under its exact labels on first use.
  metrics.RecordDecision(v1::ENDPOINT_UNSPECIFIED, v1::DECISION_ALLOW,
                         v1::REASON_TARGET_NOT_ALLOWED);
  // Values outside the enums count as "unspecified".
  metrics.RecordDecision(static_cast<v1::Endpoint>(77), static_cast<v1::Decision>(-3),
                         static_cast<v1::Reason>(999));
  // A reserved number inside the range is "unspecified" too, in the same series.
  metrics.RecordDecision(v1::ENDPOINT_UNSPECIFIED, v1::DECISION_UNSPECIFIED,
                         static_cast<v1::Reason>(21));
  metrics.RecordFederatedUrl(v1::DECISION_ALLOW, v1::REASON_UNSPECIFIED);
  metrics.RecordFederatedUrl(v1::DECISION_DENY, v1::REASON_TARGET_HAS_USERINFO);
  metrics.SetPolicy(42, t0 - absl::Seconds(90));
  metrics.RecordReloadFailure();
  metrics.RecordReloadFailure();
  metrics.RecordReloadFailure();
  metrics.RecordStoreError("read");
  metrics.RecordStoreError("read");
  metrics.RecordStoreError("listen");
  metrics.RecordStoreError("some new thing");
  metrics.RecordBackchannelDelivery("delivered", 1);
  metrics.RecordBackchannelDelivery("dead", 5);
  metrics.RecordOutboxEnqueued("backchannel", 3);
  metrics.RecordOutboxEnqueued("nonsense", 3);
  metrics.RecordOutboxReport("backchannel", "retry", true, 0.5);
  metrics.RecordOutboxReport("backchannel", "delivered", true, 0.75);
  metrics.RecordOutboxReport("backchannel", "rejected", false, 1);
  metrics.RecordOutboxReport("set", "dead", true, 90000);
  metrics.SetOutboxGauges(7, 2, 12.5);
  metrics.RecordOutboxTakeovers(4);
  metrics.RecordOutboxLostLeases(2);
  metrics.RecordBackchannelDelivery("exploded", 2);
  metrics.RecordRejected("concurrency_limit");
  metrics.RecordRejected("admin_unauthenticated");
  metrics.RecordRejected("admin_unauthenticated");

  const Exposition e = ScrapeOverHttp(metrics);
  EXPECT_EQ(e.Value("logoutd_decisions_total", {{"endpoint", "oidc_logout"},
                                                {"decision", "deny"},
                                                {"reason", "target_not_allowed"}}),
            2);
  EXPECT_EQ(
      e.Value("logoutd_decisions_total",
              {{"endpoint", "v2_logout"}, {"decision", "allow"}, {"reason", "redirect_allowed"}}),
      1);
  EXPECT_EQ(e.Value("logoutd_decisions_total", {{"endpoint", "v2_logout"},
                                                {"decision", "require_confirmation"},
                                                {"reason", "confirmation_required"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_decisions_total", {{"endpoint", "unspecified"},
                                                {"decision", "allow"},
                                                {"reason", "target_not_allowed"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_decisions_total", {{"endpoint", "unspecified"},
                                                {"decision", "unspecified"},
                                                {"reason", "unspecified"}}),
            2);
  // Pre-created before any use, so rate() and absent() behave from the first scrape.
  EXPECT_EQ(
      e.Value("logoutd_decisions_total",
              {{"endpoint", "v2_logout"}, {"decision", "deny"}, {"reason", "unknown_client"}}),
      0);
  EXPECT_EQ(e.Value("logoutd_decisions_total", {{"endpoint", "oidc_logout"},
                                                {"decision", "deny"},
                                                {"reason", "id_token_hint_invalid"}}),
            0);
  // 2 endpoints x (3 allow + 1 confirmation + 23 deny reasons) + the 2 first-use series.
  EXPECT_EQ(e.Count("logoutd_decisions_total"), 2 * 27 + 2);

  EXPECT_EQ(e.Value("logoutd_federated_logout_urls_total",
                    {{"decision", "allow"}, {"reason", "unspecified"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_federated_logout_urls_total",
                    {{"decision", "deny"}, {"reason", "target_has_userinfo"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_federated_logout_urls_total",
                    {{"decision", "deny"}, {"reason", "target_not_allowed"}}),
            0);

  EXPECT_EQ(e.Value("logoutd_policy_version"), 42);
  EXPECT_EQ(e.Value("logoutd_policy_installed_timestamp_seconds"), 1700000000 - 90);
  EXPECT_EQ(e.Value("logoutd_policy_snapshot_age_seconds"), 90);
  EXPECT_EQ(e.Value("logoutd_policy_reload_failures_total"), 3);
  EXPECT_EQ(e.Value("logoutd_store_errors_total", {{"operation", "read"}}), 2);
  EXPECT_EQ(e.Value("logoutd_store_errors_total", {{"operation", "listen"}}), 1);
  EXPECT_EQ(e.Value("logoutd_store_errors_total", {{"operation", "write"}}), 0);
  EXPECT_EQ(e.Value("logoutd_store_errors_total", {{"operation", "other"}}), 1);
  EXPECT_EQ(e.Value("logoutd_store_errors_total", {{"operation", "some new thing"}}), std::nullopt);
  EXPECT_EQ(e.Value("logoutd_backchannel_deliveries_total", {{"result", "delivered"}}), 1);
  EXPECT_EQ(e.Value("logoutd_backchannel_deliveries_total", {{"result", "dead"}}), 1);
  EXPECT_EQ(e.Value("logoutd_outbox_jobs_enqueued_total", {{"kind", "backchannel"}}), 3);
  EXPECT_EQ(e.Value("logoutd_outbox_jobs_enqueued_total", {{"kind", "set"}}), 0);
  EXPECT_EQ(
      e.Value("logoutd_outbox_attempts_total", {{"kind", "backchannel"}, {"result", "retry"}}), 1);
  EXPECT_EQ(
      e.Value("logoutd_outbox_attempts_total", {{"kind", "backchannel"}, {"result", "delivered"}}),
      1);
  // A rejection without an attempt (a removed client) is a finished job, not an attempt.
  EXPECT_EQ(
      e.Value("logoutd_outbox_attempts_total", {{"kind", "backchannel"}, {"result", "rejected"}}),
      0);
  EXPECT_EQ(e.Value("logoutd_outbox_jobs_finished_total",
                    {{"kind", "backchannel"}, {"result", "rejected"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_outbox_jobs_finished_total", {{"kind", "set"}, {"result", "dead"}}),
            1);
  EXPECT_EQ(e.Value("logoutd_outbox_delivery_latency_seconds_count", {{"kind", "backchannel"}}), 1);
  EXPECT_EQ(e.Value("logoutd_outbox_delivery_latency_seconds_sum", {{"kind", "backchannel"}}),
            0.75);
  EXPECT_EQ(e.Value("logoutd_outbox_pending_jobs"), 7);
  EXPECT_EQ(e.Value("logoutd_outbox_dead_letters"), 2);
  EXPECT_EQ(e.Value("logoutd_outbox_oldest_due_seconds"), 12.5);
  EXPECT_EQ(e.Value("logoutd_outbox_lease_takeovers_total"), 4);
  EXPECT_EQ(e.Value("logoutd_outbox_lost_leases_total"), 2);
  EXPECT_EQ(e.Value("logoutd_backchannel_deliveries_total", {{"result", "rejected"}}), 0);
  EXPECT_EQ(e.Value("logoutd_backchannel_deliveries_total", {{"result", "other"}}), 1);
  EXPECT_EQ(e.Value("logoutd_backchannel_delivery_attempts_total"), 8);
  EXPECT_EQ(e.Value("logoutd_rejected_rpcs_total", {{"reason", "concurrency_limit"}}), 1);
  EXPECT_EQ(e.Value("logoutd_rejected_rpcs_total", {{"reason", "admin_unauthenticated"}}), 2);
  EXPECT_EQ(e.Value("logoutd_build_info", {{"version", "0.1.0-dev"}}), 1);
}

TEST(MetricsTest, SnapshotAgeIsComputedAtScrapeTime) {
  const absl::Time t0 = absl::FromUnixSeconds(1800000000);
  ManualClock clock(t0);
  Metrics metrics([&clock] { return clock.Now(); });
  ASSERT_TRUE(metrics.Serve("127.0.0.1:0").ok());

  Exposition e = ScrapeOverHttp(metrics);
  EXPECT_EQ(e.Value("logoutd_policy_snapshot_age_seconds"), std::nullopt) << "no policy yet";
  EXPECT_EQ(e.Value("logoutd_policy_version"), 0);

  metrics.SetPolicy(7, t0);
  EXPECT_EQ(ScrapeOverHttp(metrics).Value("logoutd_policy_snapshot_age_seconds"), 0);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(ScrapeOverHttp(metrics).Value("logoutd_policy_snapshot_age_seconds"), 5);
  clock.Advance(absl::Milliseconds(60500));
  EXPECT_EQ(ScrapeOverHttp(metrics).Value("logoutd_policy_snapshot_age_seconds"), 65.5);

  metrics.SetPolicy(8, clock.Now());
  e = ScrapeOverHttp(metrics);
  EXPECT_EQ(e.Value("logoutd_policy_snapshot_age_seconds"), 0);
  EXPECT_EQ(e.Value("logoutd_policy_version"), 8);
  EXPECT_EQ(e.Value("logoutd_policy_installed_timestamp_seconds"), 1800000065.5);
}

TEST(MetricsTest, SnapshotAgeGrowsWithTheRealClock) {
  Metrics metrics;
  ASSERT_TRUE(metrics.Serve("127.0.0.1:0").ok());
  metrics.SetPolicy(1, absl::Now() - absl::Seconds(30));
  const std::optional<double> first =
      ScrapeOverHttp(metrics).Value("logoutd_policy_snapshot_age_seconds");
  ASSERT_TRUE(first.has_value());
  EXPECT_GE(*first, 30);
  EXPECT_LT(*first, 40);
  absl::SleepFor(absl::Milliseconds(50));
  const std::optional<double> second =
      ScrapeOverHttp(metrics).Value("logoutd_policy_snapshot_age_seconds");
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(*second - *first, 0.05);
}

TEST(MetricsTest, EveryFamilyHasHelpTypeAndConventionalName) {
  Metrics metrics;
  metrics.SetPolicy(1, absl::Now());
  absl::StatusOr<Exposition> e = ParseExposition(metrics.Scrape());
  ASSERT_TRUE(e.ok()) << e.status();
  const std::vector<std::string> expected = {
      "logoutd_build_info",
      "logoutd_decisions_total",
      "logoutd_federated_logout_urls_total",
      "logoutd_grpc_server_handled_total",
      "logoutd_grpc_server_handling_seconds",
      "logoutd_policy_version",
      "logoutd_policy_revision_applied",
      "logoutd_policy_revision_store",
      "logoutd_policy_revision_lag",
      "logoutd_policy_installed_timestamp_seconds",
      "logoutd_policy_snapshot_age_seconds",
      "logoutd_policy_reload_failures_total",
      "logoutd_credentials_reload_failures_total",
      "logoutd_store_errors_total",
      "logoutd_backchannel_deliveries_total",
      "logoutd_backchannel_delivery_attempts_total",
      "logoutd_outbox_attempts_total",
      "logoutd_outbox_jobs_finished_total",
      "logoutd_outbox_jobs_enqueued_total",
      "logoutd_outbox_delivery_latency_seconds",
      "logoutd_outbox_pending_jobs",
      "logoutd_outbox_dead_letters",
      "logoutd_outbox_oldest_due_seconds",
      "logoutd_outbox_lease_takeovers_total",
      "logoutd_outbox_lost_leases_total",
      "logoutd_rejected_rpcs_total",
  };
  for (const std::string& name : expected) {
    EXPECT_TRUE(e->type.count(name)) << name;
    EXPECT_FALSE(e->help[name].empty()) << name;
  }
  EXPECT_EQ(e->type.size(), expected.size());
  for (const auto& [name, type] : e->type) {
    EXPECT_TRUE(absl::StartsWith(name, "logoutd_")) << name;
    EXPECT_EQ(type == "counter", absl::EndsWith(name, "_total")) << name << " " << type;
  }
  EXPECT_EQ(e->type["logoutd_grpc_server_handling_seconds"], "histogram");
  EXPECT_EQ(e->type["logoutd_policy_snapshot_age_seconds"], "gauge");
}

TEST(MetricsTest, RevisionLagIsTheStoreRevisionAboveTheAppliedOne) {
  Metrics metrics;
  metrics.SetRevisions(40, 43);
  absl::StatusOr<Exposition> e = ParseExposition(metrics.Scrape());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("logoutd_policy_revision_applied"), 40);
  EXPECT_EQ(e->Value("logoutd_policy_revision_store"), 43);
  EXPECT_EQ(e->Value("logoutd_policy_revision_lag"), 3);
  // Its own write can put a replica ahead of what it heard: never a negative lag.
  metrics.SetRevisions(45, 43);
  e = ParseExposition(metrics.Scrape());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->Value("logoutd_policy_revision_store"), 45);
  EXPECT_EQ(e->Value("logoutd_policy_revision_lag"), 0);
}

TEST(MetricsTest, AnswersOnlyGetAndHeadOnMetrics) {
  Metrics metrics;
  ASSERT_TRUE(metrics.Serve("127.0.0.1:0").ok());
  absl::StatusOr<HttpResponse> post =
      HttpRequest("POST", "127.0.0.1", metrics.port(), "/metrics", "x=1");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->Header("allow"), "GET, HEAD");

  absl::StatusOr<HttpResponse> head = HttpRequest("HEAD", "127.0.0.1", metrics.port(), "/metrics");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), kContentType);
  EXPECT_EQ(head->body, "");

  absl::StatusOr<HttpResponse> other = HttpGet("127.0.0.1", metrics.port(), "/");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->status, 404);
  absl::StatusOr<HttpResponse> sub = HttpGet("127.0.0.1", metrics.port(), "/metrics/x");
  ASSERT_TRUE(sub.ok()) << sub.status();
  EXPECT_EQ(sub->status, 404);
  absl::StatusOr<HttpResponse> file = HttpGet("127.0.0.1", metrics.port(), "/../../etc/passwd");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_NE(file->status, 200);
}

TEST(MetricsTest, ServeReportsBadAddressesBusyPortsAndSecondCalls) {
  for (const std::string bad : {"", "nonsense", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:80,81",
                                "127.0.0.1:8080s", ":9090", "[::1:9090", "a b:1"}) {
    Metrics metrics;
    EXPECT_EQ(metrics.Serve(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(metrics.port(), 0);
  }

  Metrics first;
  ASSERT_TRUE(first.Serve("127.0.0.1:0").ok());
  Metrics second;
  const absl::Status busy = second.Serve(absl::StrCat("127.0.0.1:", first.port()));
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_EQ(second.port(), 0);

  EXPECT_EQ(first.Serve("127.0.0.1:0").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MetricsTest, ConcurrentRecordingLosesNothing) {
  Metrics metrics;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.RecordDecision(v1::ENDPOINT_OIDC_LOGOUT, v1::DECISION_DENY,
                               v1::REASON_UNKNOWN_CLIENT);
        // A first-use series raced into existence by every thread at once.
        metrics.RecordDecision(v1::ENDPOINT_UNSPECIFIED, v1::DECISION_DENY,
                               v1::REASON_REDIRECT_ALLOWED);
        if (i % 10 == t) metrics.RecordRejected("concurrency_limit");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  absl::StatusOr<Exposition> e = ParseExposition(metrics.Scrape());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(
      e->Value("logoutd_decisions_total",
               {{"endpoint", "oidc_logout"}, {"decision", "deny"}, {"reason", "unknown_client"}}),
      kThreads * kPerThread);
  EXPECT_EQ(
      e->Value("logoutd_decisions_total",
               {{"endpoint", "unspecified"}, {"decision", "deny"}, {"reason", "redirect_allowed"}}),
      kThreads * kPerThread);
  EXPECT_EQ(e->Value("logoutd_rejected_rpcs_total", {{"reason", "concurrency_limit"}}),
            kThreads * kPerThread / 10);
}

}  // namespace
}  // namespace logout::metrics
