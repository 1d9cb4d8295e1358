#include "service/slo/backchannel_delivery.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_receiver.h"

namespace logout::slo {
namespace {

using ::logout::testing::HttpReceiver;
using ::logout::testing::Reply;
using ::testing::ElementsAre;
using ::testing::SizeIs;

// ---- the retry rules, alone ----

struct ClassifyCase {
  std::string name;
  AttemptResult attempt;
  AttemptVerdict expected;
};

class ClassifyAttemptTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyAttemptTest, AppliesTheRule) {
  EXPECT_EQ(ClassifyAttempt(GetParam().attempt), GetParam().expected);
}

using T = AttemptResult::Transport;
INSTANTIATE_TEST_SUITE_P(
    Rules, ClassifyAttemptTest,
    ::testing::Values(
        ClassifyCase{"Ok200", {T::kOk, 200}, AttemptVerdict::kSuccess},
        ClassifyCase{"NoContent204", {T::kOk, 204}, AttemptVerdict::kSuccess},
        ClassifyCase{"Created201IsNotSuccess", {T::kOk, 201}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"Accepted202IsNotSuccess", {T::kOk, 202}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"Found302", {T::kOk, 302}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"Temporary307", {T::kOk, 307}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"BadRequest400", {T::kOk, 400}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"Unauthorized401", {T::kOk, 401}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"NotFound404", {T::kOk, 404}, AttemptVerdict::kPermanentFailure},
        ClassifyCase{"TooManyRequests429", {T::kOk, 429}, AttemptVerdict::kRetry},
        ClassifyCase{"Internal500", {T::kOk, 500}, AttemptVerdict::kRetry},
        ClassifyCase{"Unavailable503", {T::kOk, 503}, AttemptVerdict::kRetry},
        ClassifyCase{"Status599", {T::kOk, 599}, AttemptVerdict::kRetry},
        ClassifyCase{"ConnectError", {T::kConnectError, 0}, AttemptVerdict::kRetry},
        ClassifyCase{"Timeout", {T::kTimeout, 0}, AttemptVerdict::kRetry},
        ClassifyCase{"BadUri", {T::kPermanent, 0}, AttemptVerdict::kPermanentFailure}),
    [](const ::testing::TestParamInfo<ClassifyCase>& info) { return info.param.name; });

TEST(BackoffDelayTest, DoublesFromInitialAndCapsAtMax) {
  const absl::Duration initial = absl::Milliseconds(100);
  const absl::Duration max = absl::Milliseconds(700);
  EXPECT_EQ(BackoffDelay(1, initial, max, 1.0), absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(2, initial, max, 1.0), absl::Milliseconds(200));
  EXPECT_EQ(BackoffDelay(3, initial, max, 1.0), absl::Milliseconds(400));
  EXPECT_EQ(BackoffDelay(4, initial, max, 1.0), absl::Milliseconds(700));
  EXPECT_EQ(BackoffDelay(60, initial, max, 1.0), absl::Milliseconds(700));
}

TEST(BackoffDelayTest, JitterScalesTheDelay) {
  EXPECT_EQ(BackoffDelay(3, absl::Milliseconds(100), absl::Seconds(10), 0.5),
            absl::Milliseconds(200));
}

TEST(OriginOfTest, KeepsSchemeHostPortOnly) {
  EXPECT_EQ(OriginOf("https://rp.example.com:8443/bc?x=1#f"), "https://rp.example.com:8443");
  EXPECT_EQ(OriginOf("HTTP://127.0.0.1:9/"), "http://127.0.0.1:9");
  EXPECT_EQ(OriginOf("https://user:pw@rp.example.com/x"), "https://rp.example.com");
  EXPECT_EQ(OriginOf("not a uri"), "");
}

TEST(DeliveryResultNameTest, StableNames) {
  EXPECT_EQ(DeliveryResultName(DeliveryResult::kDelivered), "delivered");
  EXPECT_EQ(DeliveryResultName(DeliveryResult::kRejected), "rejected");
  EXPECT_EQ(DeliveryResultName(DeliveryResult::kGaveUp), "gave_up");
  EXPECT_EQ(DeliveryResultName(DeliveryResult::kDropped), "dropped");
}

// ---- against a real HTTP receiver ----

// Collects outcomes; WaitFor blocks until `n` arrived.
class Outcomes {
 public:
  BackchannelDeliverer::Observer observer() {
    return [this](const DeliveryOutcome& o) {
      absl::MutexLock lock(&mu_);
      outcomes_.push_back(o);
    };
  }
  std::vector<DeliveryOutcome> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outcomes_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return outcomes_;
  }

 private:
  absl::Mutex mu_;
  std::vector<DeliveryOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
};

// A minter that hands out "minted-1", "minted-2", ... and counts calls.
struct CountingMinter {
  std::atomic<int> calls{0};
  std::function<absl::StatusOr<std::string>()> fn() {
    return [this]() -> absl::StatusOr<std::string> {
      return absl::StrCat("minted-", calls.fetch_add(1) + 1);
    };
  }
};

BackchannelDeliveryOptions FastOptions() {
  BackchannelDeliveryOptions o;
  o.workers = 2;
  o.connect_timeout = absl::Milliseconds(500);
  o.attempt_timeout = absl::Seconds(1);
  o.total_timeout = absl::Seconds(10);
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(100);
  return o;
}

std::vector<std::string> Bodies(HttpReceiver& rp) {
  std::vector<std::string> out;
  for (const auto& r : rp.Requests()) out.push_back(r.body);
  return out;
}

// A loopback port nothing listens on.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(BackchannelDeliveryTest, DeliveredOn200WithFormEncodedLogoutToken) {
  HttpReceiver rp({Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc?tenant=acme"), "aaa.bbb.ccc", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].last_http_status, 200);
  EXPECT_EQ(got[0].client_id, "app2");
  EXPECT_EQ(got[0].tenant, "acme");
  EXPECT_EQ(got[0].uri_origin, absl::StrCat("http://127.0.0.1:", rp.port()));
  const auto requests = rp.Requests();
  ASSERT_THAT(requests, SizeIs(1));
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/bc?tenant=acme");
  EXPECT_EQ(requests[0].content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(requests[0].body, "logout_token=aaa.bbb.ccc");
  EXPECT_EQ(minter.calls.load(), 0);  // the planned token served the first attempt
}

TEST(BackchannelDeliveryTest, DeliveredOn204) {
  HttpReceiver rp({Reply::Status(204)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  EXPECT_EQ(got[0].last_http_status, 204);
  EXPECT_THAT(Bodies(rp), ElementsAre("logout_token=minted-1"));  // no planned token: minted
}

TEST(BackchannelDeliveryTest, RetriesOn503And429AndResetWithAFreshTokenEachAttempt) {
  HttpReceiver rp({Reply::Status(503), Reply::Status(429), Reply::Reset(), Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  EXPECT_EQ(got[0].attempts, 4);
  EXPECT_EQ(got[0].last_http_status, 200);
  EXPECT_THAT(Bodies(rp), ElementsAre("logout_token=planned", "logout_token=minted-1",
                                      "logout_token=minted-2", "logout_token=minted-3"));
}

TEST(BackchannelDeliveryTest, RetriesWhenConnectionRefusedUntilTheTimeBudgetEnds) {
  BackchannelDeliveryOptions options = FastOptions();
  options.total_timeout = absl::Milliseconds(600);
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(options, outcomes.observer());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(d.Enqueue({"acme", "app2", absl::StrCat("http://127.0.0.1:", ClosedPort(), "/bc"),
                         "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kGaveUp);
  EXPECT_EQ(got[0].detail, "connect_error");
  EXPECT_EQ(got[0].last_http_status, 0);
  EXPECT_GE(got[0].attempts, 3);
  EXPECT_EQ(minter.calls.load(), got[0].attempts - 1);
  // Bounded by the 600 ms budget (slack for a loaded 2-core CI machine running ctest -j2).
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(600) + absl::Milliseconds(1500));
}

TEST(BackchannelDeliveryTest, RetriesAnAttemptThatTimedOut) {
  BackchannelDeliveryOptions options = FastOptions();
  options.attempt_timeout = absl::Milliseconds(300);
  HttpReceiver rp({Reply::Stall(absl::Milliseconds(600)), Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(options, outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  // The stalled first attempt timed out and was retried with a fresh token. On a loaded
  // machine the retry can reach the receiver while it still stalls on the first connection and
  // time out too, so more than one retry is allowed; each carries its own fresh token.
  ASSERT_GE(got[0].attempts, 2);
  std::vector<std::string> expected = {"logout_token=planned"};
  for (int i = 1; i < got[0].attempts; ++i)
    expected.push_back(absl::StrCat("logout_token=minted-", i));
  EXPECT_EQ(Bodies(rp), expected);
  EXPECT_EQ(minter.calls.load(), got[0].attempts - 1);
}

TEST(BackchannelDeliveryTest, NoRetryOn400) {
  HttpReceiver rp({Reply::Status(400, {}, "{\"error\":\"invalid_request\"}"), Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kRejected);
  EXPECT_EQ(got[0].detail, "http_status");
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].last_http_status, 400);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(rp.connections(), 1);
  EXPECT_EQ(minter.calls.load(), 0);
}

TEST(BackchannelDeliveryTest, RedirectIsNotFollowedAndNotRetried) {
  HttpReceiver elsewhere({Reply::Status(200)});
  HttpReceiver rp({Reply::Status(307, {{"Location", elsewhere.Url("/stolen")}})});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kRejected);
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(got[0].last_http_status, 307);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(elsewhere.connections(), 0);
  EXPECT_EQ(rp.connections(), 1);
}

TEST(BackchannelDeliveryTest, GivesUpAfterTheBoundedTotalTime) {
  BackchannelDeliveryOptions options = FastOptions();
  options.total_timeout = absl::Milliseconds(800);
  HttpReceiver rp({Reply::Status(503)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(options, outcomes.observer());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kGaveUp);
  EXPECT_EQ(got[0].detail, "http_status");
  EXPECT_EQ(got[0].last_http_status, 503);
  EXPECT_GE(got[0].attempts, 3);
  EXPECT_EQ(static_cast<int>(rp.Requests().size()), got[0].attempts);
  EXPECT_LE(got[0].elapsed, absl::Milliseconds(800) + absl::Milliseconds(500));
  EXPECT_LE(absl::Now() - start, absl::Milliseconds(800) + absl::Milliseconds(1500));
}

TEST(BackchannelDeliveryTest, RetryAfterIsHonouredUpToTheBackoffCap) {
  BackchannelDeliveryOptions options = FastOptions();
  options.max_backoff = absl::Milliseconds(400);
  HttpReceiver rp({Reply::Status(429, {{"Retry-After", "120"}}), Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(options, outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  const auto requests = rp.Requests();
  ASSERT_THAT(requests, SizeIs(2));
  // Waited the cap (not 120 s, not the 20 ms backoff).
  EXPECT_GE(requests[1].at - requests[0].at, absl::Milliseconds(390));
  EXPECT_LE(requests[1].at - requests[0].at, absl::Seconds(2));
}

TEST(BackchannelDeliveryTest, LargeResponseBodyIsCutAndTheStatusStillCounts) {
  HttpReceiver rp({Reply::Status(200, {}, std::string(1 << 20, 'x'))});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kDelivered);
  EXPECT_EQ(got[0].attempts, 1);
}

TEST(BackchannelDeliveryTest, MintFailureGivesUpWithoutSending) {
  HttpReceiver rp({Reply::Status(503)});
  Outcomes outcomes;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(
      d.Enqueue({"acme", "app2", rp.Url("/bc"), "planned", []() -> absl::StatusOr<std::string> {
                   return absl::FailedPreconditionError("no key");
                 }}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kGaveUp);
  EXPECT_EQ(got[0].detail, "mint_failed");
  EXPECT_EQ(got[0].attempts, 1);
  EXPECT_EQ(rp.Requests().size(), 1u);
}

TEST(BackchannelDeliveryTest, UnsupportedSchemeIsRejectedWithoutRetry) {
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(FastOptions(), outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "app2", "ftp://127.0.0.1/bc", "planned", minter.fn()}));
  const auto got = outcomes.WaitFor(1);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].result, DeliveryResult::kRejected);
  EXPECT_EQ(got[0].detail, "invalid_uri");
  EXPECT_EQ(minter.calls.load(), 0);
}

TEST(BackchannelDeliveryTest, FullQueueDropsInsteadOfBlocking) {
  BackchannelDeliveryOptions options = FastOptions();
  options.workers = 1;
  options.queue_capacity = 1;
  options.attempt_timeout = absl::Seconds(2);
  HttpReceiver rp({Reply::Stall(absl::Seconds(1)), Reply::Status(200)});
  Outcomes outcomes;
  CountingMinter minter;
  BackchannelDeliverer d(options, outcomes.observer());
  ASSERT_TRUE(d.Enqueue({"acme", "busy", rp.Url("/bc"), "t1", minter.fn()}));
  // Wait until the worker holds the first job, so the queue is empty again.
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (rp.connections() == 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(d.Enqueue({"acme", "queued", rp.Url("/bc"), "t2", minter.fn()}));
  const absl::Time before = absl::Now();
  EXPECT_FALSE(d.Enqueue({"acme", "dropped", rp.Url("/bc"), "t3", minter.fn()}));
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(500));
  const auto first = outcomes.WaitFor(1, absl::Seconds(3));
  ASSERT_THAT(first, SizeIs(1));  // reported synchronously
  EXPECT_EQ(first[0].client_id, "dropped");
  EXPECT_EQ(first[0].result, DeliveryResult::kDropped);
  EXPECT_EQ(first[0].detail, "queue_full");
  EXPECT_EQ(first[0].attempts, 0);
  const auto all = outcomes.WaitFor(3);
  ASSERT_THAT(all, SizeIs(3));
  EXPECT_EQ(all[1].result, DeliveryResult::kDelivered);
  EXPECT_EQ(all[2].result, DeliveryResult::kDelivered);
}

TEST(BackchannelDeliveryTest, ShutdownReportsWhatIsLeftAsGaveUpAndRefusesNewJobs) {
  BackchannelDeliveryOptions options = FastOptions();
  options.workers = 1;
  HttpReceiver rp({Reply::Stall(absl::Seconds(3))});
  Outcomes outcomes;
  CountingMinter minter;
  auto d = std::make_unique<BackchannelDeliverer>(options, outcomes.observer());
  ASSERT_TRUE(d->Enqueue({"acme", "inflight", rp.Url("/bc"), "t1", minter.fn()}));
  ASSERT_TRUE(d->Enqueue({"acme", "waiting", rp.Url("/bc"), "t2", minter.fn()}));
  const absl::Time until = absl::Now() + absl::Seconds(5);
  while (rp.connections() == 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  const absl::Time before = absl::Now();
  d->Shutdown(absl::Milliseconds(100));
  // The stalled attempt was aborted (libcurl polls its progress callback about once a second
  // on an idle transfer; the slack is for a loaded CI machine).
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(2500));
  EXPECT_FALSE(d->Enqueue({"acme", "late", rp.Url("/bc"), "t3", minter.fn()}));
  const auto got = outcomes.WaitFor(3, absl::Seconds(3));
  ASSERT_THAT(got, SizeIs(3));
  for (const auto& o : got) {
    EXPECT_EQ(o.detail, "shutting_down") << o.client_id;
    EXPECT_EQ(o.result, o.client_id == "late" ? DeliveryResult::kDropped : DeliveryResult::kGaveUp);
  }
}

}  // namespace
}  // namespace logout::slo
