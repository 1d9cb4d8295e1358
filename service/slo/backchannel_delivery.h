// Delivery rules and the HTTP attempt shared by back-channel logout (OpenID Connect Back-Channel
// Logout 1.0 §2.5) and Shared Signals push (RFC 8935), used by the outbox deliverer
// (outbox_deliverer.h).
//
//   HttpAttempt a = HttpPost({uri, "application/x-www-form-urlencoded", body}, connect, total,
//                            4096, &stop);
//   switch (ClassifyAttempt(a.result)) { ... }
//
// Rules: 200 and 204 are success (and 202 for a SET push, RFC 8935 §2.2); 3xx and 4xx other than
// 429 are permanent failures (redirects are never followed); connection errors, timeouts, 5xx and
// 429 are retried with exponential backoff and jitter. Response bodies are read up to a small
// cap and discarded; tokens and bodies never reach logs, errors or outcomes.
#ifndef SERVICE_SLO_BACKCHANNEL_DELIVERY_H_
#define SERVICE_SLO_BACKCHANNEL_DELIVERY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace logout::slo {

// What one HTTP attempt produced, transport-neutral so the retry rules are testable alone.
struct AttemptResult {
  enum class Transport {
    kOk,            // an HTTP response arrived; see http_status
    kConnectError,  // DNS, refused, reset, TLS handshake: nothing (complete) was answered
    kTimeout,       // the attempt's time ran out
    kPermanent,     // a local problem retrying cannot fix (bad URL, unsupported scheme)
  };
  Transport transport = Transport::kOk;
  int http_status = 0;
};

// What to do after an attempt.
enum class AttemptVerdict { kSuccess, kRetry, kPermanentFailure };

// ClassifyAttempt applies the rules above: 200/204 success (202 too when `set_push`); 429 and
// 5xx retry; any other status (1xx, other 2xx, 3xx, 4xx) permanent; connection errors and
// timeouts retry.
AttemptVerdict ClassifyAttempt(const AttemptResult& attempt, bool set_push = false);

// BackoffDelay is the pause before retry number `retry` (1-based): initial * 2^(retry-1),
// capped at `max`, scaled by `jitter` (a uniform draw in [0.5, 1.0]).
absl::Duration BackoffDelay(int retry, absl::Duration initial, absl::Duration max, double jitter);

// What one POST sends: a body of `content_type`, and an Authorization header when set.
struct HttpRequest {
  std::string uri;
  std::string content_type;
  std::string body;
  // The whole header value ("Bearer ..."); never logged.
  std::string authorization;
};

struct HttpAttempt {
  AttemptResult result;
  // Seconds from a Retry-After header (0: none).
  int64_t retry_after_seconds = 0;
  // `stop` was set while the attempt ran.
  bool aborted = false;
};

// HttpPost sends `request` with libcurl: http(s) only, no redirects followed, TLS verified, no
// cookies, netrc or connection reuse; the response body is read up to `max_response_bytes`
// and discarded. `stop` (may be null) aborts an attempt in flight when it becomes true.
HttpAttempt HttpPost(const HttpRequest& request, absl::Duration connect_timeout,
                     absl::Duration timeout, size_t max_response_bytes, std::atomic<bool>* stop);

// FormEncode percent-encodes `value` for application/x-www-form-urlencoded (RFC 3986
// unreserved characters kept).
std::string FormEncode(absl::string_view value);

// OriginOf returns scheme://host[:port] of an absolute URI, or "" when it has none.
std::string OriginOf(absl::string_view uri);

}  // namespace logout::slo

#endif  // SERVICE_SLO_BACKCHANNEL_DELIVERY_H_
