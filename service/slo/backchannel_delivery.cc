#include "service/slo/backchannel_delivery.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace logout::slo {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

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

namespace {

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

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::atomic<bool> kNeverStop{false};

}  // namespace

HttpAttempt HttpPost(const HttpRequest& request, absl::Duration connect_timeout,
                     absl::Duration timeout, size_t body_cap, std::atomic<bool>* stop) {
  GlobalInitOnce();
  if (stop == nullptr) stop = &kNeverStop;
  HttpAttempt out;
  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    out.result.transport = AttemptResult::Transport::kConnectError;
    return out;
  }
  const std::string content_type = absl::StrCat("Content-Type: ", request.content_type);
  std::unique_ptr<curl_slist, CurlSlistDeleter> headers(
      curl_slist_append(nullptr, content_type.c_str()));
  headers.reset(curl_slist_append(headers.release(), "Expect:"));
  std::string authorization;
  if (!request.authorization.empty()) {
    authorization = absl::StrCat("Authorization: ", request.authorization);
    headers.reset(curl_slist_append(headers.release(), authorization.c_str()));
  }
  const std::string& body = request.body;
  const std::string& uri = request.uri;
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
  if (!authorization.empty()) {
    // Do not leave the secret in freed heap longer than needed.
    OPENSSL_cleanse(authorization.data(), authorization.size());
  }
  return out;
}

AttemptVerdict ClassifyAttempt(const AttemptResult& attempt, bool set_push) {
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
  if (s == 200 || s == 204 || (set_push && s == 202)) return AttemptVerdict::kSuccess;
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

}  // namespace logout::slo
