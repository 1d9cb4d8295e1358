#include "service/slo/backchannel_delivery.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace logout::slo {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Form-urlencodes `value` (RFC 3986 unreserved characters kept, everything else %XX).
std::string FormEncode(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct BodySink {
  size_t received = 0;
  size_t cap = 0;
};

// Counts and discards the response body; cuts the transfer past the cap.
size_t DiscardBody(char* /*data*/, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t n = size * nmemb;
  sink->received += n;
  return sink->received > sink->cap ? 0 : n;
}

int AbortIfStopped(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

int64_t ClampMillis(absl::Duration d) { return std::max<int64_t>(1, absl::ToInt64Milliseconds(d)); }

struct HttpAttempt {
  AttemptResult result;
  // Seconds from a Retry-After header of a 429/503 (0: none).
  int64_t retry_after_seconds = 0;
  bool aborted = false;
};

HttpAttempt PostToken(const std::string& uri, const std::string& token,
                      absl::Duration connect_timeout, absl::Duration timeout, size_t body_cap,
                      std::atomic<bool>* stop) {
  HttpAttempt out;
  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    out.result.transport = AttemptResult::Transport::kConnectError;
    return out;
  }
  std::unique_ptr<curl_slist, CurlSlistDeleter> headers(
      curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded"));
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  const std::string body = absl::StrCat("logout_token=", FormEncode(token));
  BodySink sink{0, body_cap};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, uri.c_str());
  // Only http(s), whatever the URI says (the policy already refuses other schemes).
  if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
          CURLE_OK) {
    out.result.transport = AttemptResult::Transport::kPermanent;
    return out;
  }
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "logoutd-backchannel/1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(ClampMillis(connect_timeout)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(ClampMillis(timeout)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &AbortIfStopped);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, stop);
  // No cookies, no credentials from ~/.netrc, no connection reuse across attempts.
  curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);

  const CURLcode code = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t retry_after = 0;
  if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0) {
    out.retry_after_seconds = static_cast<int64_t>(retry_after);
  }
  using T = AttemptResult::Transport;
  switch (code) {
    case CURLE_OK:
      out.result = {T::kOk, static_cast<int>(status)};
      break;
    case CURLE_WRITE_ERROR:  // our body cap: the status line and headers arrived
      out.result = status > 0 ? AttemptResult{T::kOk, static_cast<int>(status)}
                              : AttemptResult{T::kConnectError, 0};
      break;
    case CURLE_OPERATION_TIMEDOUT:
      out.result = {T::kTimeout, 0};
      break;
    case CURLE_ABORTED_BY_CALLBACK:
      out.aborted = true;
      out.result = {T::kConnectError, 0};
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      out.result = {T::kPermanent, 0};
      break;
    default:  // refused, reset, DNS, TLS, empty reply, partial response: transient
      out.result = {T::kConnectError, 0};
      break;
  }
  return out;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

absl::string_view DeliveryResultName(DeliveryResult result) {
  switch (result) {
    case DeliveryResult::kDelivered:
      return "delivered";
    case DeliveryResult::kRejected:
      return "rejected";
    case DeliveryResult::kGaveUp:
      return "gave_up";
    case DeliveryResult::kDropped:
      return "dropped";
  }
  return "unknown";
}

AttemptVerdict ClassifyAttempt(const AttemptResult& attempt) {
  switch (attempt.transport) {
    case AttemptResult::Transport::kConnectError:
    case AttemptResult::Transport::kTimeout:
      return AttemptVerdict::kRetry;
    case AttemptResult::Transport::kPermanent:
      return AttemptVerdict::kPermanentFailure;
    case AttemptResult::Transport::kOk:
      break;
  }
  const int s = attempt.http_status;
  if (s == 200 || s == 204) return AttemptVerdict::kSuccess;
  if (s == 429 || (s >= 500 && s <= 599)) return AttemptVerdict::kRetry;
  return AttemptVerdict::kPermanentFailure;
}

absl::Duration BackoffDelay(int retry, absl::Duration initial, absl::Duration max, double jitter) {
  absl::Duration d = initial;
  for (int i = 1; i < retry && d < max; ++i) d *= 2;
  d = std::min(d, max);
  return d * std::clamp(jitter, 0.0, 1.0);
}

std::string OriginOf(absl::string_view uri) {
  const size_t scheme_end = uri.find("://");
  if (scheme_end == absl::string_view::npos || scheme_end == 0) return "";
  const size_t host_start = scheme_end + 3;
  size_t end = uri.find_first_of("/?#", host_start);
  if (end == absl::string_view::npos) end = uri.size();
  absl::string_view authority = uri.substr(host_start, end - host_start);
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);  // never report credentials
  }
  if (authority.empty()) return "";
  return absl::StrCat(absl::AsciiStrToLower(uri.substr(0, scheme_end)), "://", authority);
}

BackchannelDeliverer::BackchannelDeliverer(const BackchannelDeliveryOptions& options,
                                           Observer observer)
    : options_(options), observer_(std::move(observer)) {
  GlobalInitOnce();
  const int n = std::max(1, options_.workers);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

BackchannelDeliverer::~BackchannelDeliverer() { Shutdown(absl::ZeroDuration()); }

bool BackchannelDeliverer::Enqueue(DeliveryJob job) {
  const char* why = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!accepting_) {
      why = "shutting_down";
    } else if (queue_.size() >= options_.queue_capacity) {
      why = "queue_full";
    } else {
      queue_.push_back(std::move(job));
      return true;
    }
  }
  DeliveryOutcome dropped;
  dropped.tenant = job.tenant;
  dropped.client_id = job.client_id;
  dropped.uri_origin = OriginOf(job.uri);
  dropped.result = DeliveryResult::kDropped;
  dropped.detail = why;
  if (observer_) observer_(dropped);
  return false;
}

void BackchannelDeliverer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    accepting_ = false;
    auto idle = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && active_ == 0; };
    mu_.AwaitWithTimeout(absl::Condition(&idle), grace);
    hard_stop_ = true;
    stop_flag_.store(true);
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void BackchannelDeliverer::WorkerLoop() {
  while (true) {
    DeliveryJob job;
    bool stopped = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || !accepting_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      ++active_;
      stopped = hard_stop_;
    }
    DeliveryOutcome outcome;
    if (stopped) {
      outcome.tenant = job.tenant;
      outcome.client_id = job.client_id;
      outcome.uri_origin = OriginOf(job.uri);
      outcome.result = DeliveryResult::kGaveUp;
      outcome.detail = "shutting_down";
    } else {
      outcome = Deliver(job);
    }
    if (observer_) observer_(outcome);
    absl::MutexLock lock(&mu_);
    --active_;
  }
}

bool BackchannelDeliverer::SleepUnlessStopped(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  return !mu_.AwaitWithTimeout(absl::Condition(&hard_stop_), d);
}

DeliveryOutcome BackchannelDeliverer::Deliver(DeliveryJob& job) {
  DeliveryOutcome out;
  out.tenant = job.tenant;
  out.client_id = job.client_id;
  out.uri_origin = OriginOf(job.uri);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.total_timeout;
  absl::BitGen rng;
  auto finish = [&](DeliveryResult result, std::string detail) {
    out.result = result;
    out.detail = std::move(detail);
    out.elapsed = absl::Now() - start;
    return out;
  };
  std::string last_failure = "deadline";
  for (int attempt = 1;; ++attempt) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) return finish(DeliveryResult::kGaveUp, last_failure);
    if (stop_flag_.load()) return finish(DeliveryResult::kGaveUp, "shutting_down");
    std::string token;
    if (attempt == 1 && !job.first_token.empty()) {
      token = std::move(job.first_token);
      job.first_token.clear();
    } else {
      absl::StatusOr<std::string> minted =
          job.mint_token ? job.mint_token() : absl::FailedPreconditionError("no minter");
      if (!minted.ok()) return finish(DeliveryResult::kGaveUp, "mint_failed");
      token = *std::move(minted);
    }
    const absl::Duration timeout = std::min(options_.attempt_timeout, remaining);
    const HttpAttempt http = PostToken(job.uri, token, std::min(options_.connect_timeout, timeout),
                                       timeout, options_.max_response_bytes, &stop_flag_);
    out.attempts = attempt;
    if (http.result.transport == AttemptResult::Transport::kOk) {
      out.last_http_status = http.result.http_status;
    }
    if (http.aborted) return finish(DeliveryResult::kGaveUp, "shutting_down");
    switch (ClassifyAttempt(http.result)) {
      case AttemptVerdict::kSuccess:
        return finish(DeliveryResult::kDelivered, "");
      case AttemptVerdict::kPermanentFailure:
        return finish(
            DeliveryResult::kRejected,
            http.result.transport == AttemptResult::Transport::kOk ? "http_status" : "invalid_uri");
      case AttemptVerdict::kRetry:
        break;
    }
    switch (http.result.transport) {
      case AttemptResult::Transport::kTimeout:
        last_failure = "timeout";
        break;
      case AttemptResult::Transport::kOk:
        last_failure = "http_status";
        break;
      default:
        last_failure = "connect_error";
        break;
    }
    absl::Duration pause = BackoffDelay(attempt, options_.initial_backoff, options_.max_backoff,
                                        absl::Uniform<double>(rng, 0.5, 1.0));
    if (http.retry_after_seconds > 0) {
      pause = std::min(absl::Seconds(http.retry_after_seconds), options_.max_backoff);
    }
    if (absl::Now() + pause >= deadline) {
      return finish(DeliveryResult::kGaveUp, last_failure);
    }
    if (!SleepUnlessStopped(pause)) return finish(DeliveryResult::kGaveUp, "shutting_down");
  }
}

}  // namespace logout::slo
