// libFuzzer target for the whole decision path: raw query parsing, WHATWG parsing of the target,
// allow-list matching and the response. Invariants (abort on violation):
//  - every response has a decision; a deny never carries a redirect;
//  - a redirect re-parses to itself (parse(href) == href), is http(s), has no userinfo and no
//    '@' in its authority;
//  - its scheme, host, port and path equal those of the matched entry (for a wildcard entry:
//    the host is one LDH label followed by the entry's remaining labels);
//  - under EXACT matching the raw target is byte-identical to the matched entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "service/policy/engine.h"
#include "service/policy/request_params.h"
#include "service/store/policy_file.h"
#include "service/url/url.h"

namespace {

using logout::policy::CompiledPolicy;
namespace v1 = logout::v1;

constexpr char kPolicy[] = R"pb(
  tenants {
    name: "a"
    allowed_logout_urls: "https://app.example.com/logout"
    allowed_logout_urls: "https://*.example.com/bye"
    allowed_logout_urls: "https://pr-*-x.preview.example.org/"
    allowed_logout_urls: "http://127.0.0.1:8080/cb"
    allowed_logout_urls: "https://[::1]/"
    allowed_logout_urls: "https://b\303\274cher.example/ok?q=1"
    enabled_locales: "en"
    clients { client_id: "c" allowed_logout_urls: "https://c.example.net/" }
  }
  tenants {
    name: "e"
    redirect_matching: REDIRECT_MATCHING_EXACT
    allowed_logout_urls: "https://exact.example.com/cb?x=1"
    allowed_logout_urls: "https://EXACT.example.com:443/cb"
  }
)pb";

const CompiledPolicy& Policy() {
  // Reachable for the whole run (LeakSanitizer sees the holder through this static).
  static const std::shared_ptr<const CompiledPolicy>* holder = [] {
    auto config = logout::store::ParsePolicyText(kPolicy);
    if (!config.ok()) abort();
    auto compiled = CompiledPolicy::Build(*config, 1);
    if (!compiled.ok()) abort();
    return new std::shared_ptr<const CompiledPolicy>(*compiled);
  }();
  return **holder;
}

void Check(bool ok) {
  if (!ok) abort();
}

bool IsLdhLabel(absl::string_view label) {
  if (label.empty()) return false;
  for (char c : label) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

void CheckInvariants(const v1::ValidateLogoutRequest& req, const v1::ValidateLogoutResponse& resp,
                     absl::string_view raw_target) {
  Check(resp.decision() != v1::DECISION_UNSPECIFIED);
  if (resp.decision() == v1::DECISION_DENY) {
    Check(resp.redirect_url().empty());
    return;
  }
  if (resp.redirect_url().empty()) return;
  auto redirect = logout::url::Url::Parse(resp.redirect_url());
  Check(redirect.ok());
  Check(redirect->href() == resp.redirect_url());
  Check(redirect->scheme() == "http" || redirect->scheme() == "https");
  Check(!redirect->has_credentials() && !redirect->saw_userinfo_delimiter());
  Check(!resp.matched_entry().empty());
  const std::string& entry = resp.matched_entry();
  const size_t star = entry.find('*');
  if (star != std::string::npos && star < entry.find('/', entry.find("://") + 3)) {
    // Wildcard: compare everything but the first host label.
    std::string substituted = entry;
    substituted.replace(star, 1, "w");
    auto e = logout::url::Url::Parse(substituted);
    Check(e.ok());
    const absl::string_view host = redirect->hostname();
    const size_t dot = host.find('.');
    Check(dot != absl::string_view::npos && IsLdhLabel(host.substr(0, dot)));
    const absl::string_view ehost = e->hostname();
    Check(host.substr(dot) == ehost.substr(ehost.find('.')));
    Check(redirect->scheme() == e->scheme() && redirect->effective_port() == e->effective_port() &&
          redirect->pathname() == e->pathname());
  } else {
    auto e = logout::url::Url::Parse(entry);
    Check(e.ok());
    Check(redirect->scheme() == e->scheme() && redirect->hostname() == e->hostname() &&
          redirect->effective_port() == e->effective_port() &&
          redirect->pathname() == e->pathname());
  }
  if (req.tenant() == "e" && resp.target_source() == v1::TARGET_SOURCE_REQUESTED) {
    Check(raw_target == entry);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  v1::ValidateLogoutRequest req;
  req.set_tenant((mode & 1) != 0 ? "e" : "a");
  req.set_endpoint((mode & 2) != 0 ? v1::ENDPOINT_OIDC_LOGOUT : v1::ENDPOINT_V2_LOGOUT);
  if ((mode & 4) != 0) req.set_session_id("sid");
  std::string raw_target;
  if ((mode & 8) != 0) {
    req.set_raw_query(input);  // the whole query string is fuzzed
  } else {
    raw_target = input;  // only the target is fuzzed
    if (req.endpoint() == v1::ENDPOINT_V2_LOGOUT) {
      req.mutable_params()->set_return_to(input);
    } else {
      req.mutable_params()->set_post_logout_redirect_uri(input);
      if ((mode & 16) != 0) req.mutable_params()->set_state(input.substr(0, 16));
    }
  }
  v1::ValidateLogoutResponse resp;
  const absl::Status status =
      logout::policy::Decide(Policy(), req, absl::FromUnixSeconds(1700000000), &resp);
  Check(status.ok());
  if ((mode & 8) != 0) {
    // Recover the decoded target the engine saw for the EXACT check.
    const auto extracted = logout::policy::ExtractParams(req.endpoint(), req);
    raw_target = extracted.params.target;
  }
  CheckInvariants(req, resp, raw_target);
  return 0;
}
