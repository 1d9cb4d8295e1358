// The standard end-to-end load scenario, shared by mint_bench_policy (which writes the policy and
// the hints) and logout_loadgen (which sends the requests): tenant "bench", client "app" for
// requests without a hint, one client per hint algorithm, and the session the hints name.
//
//   v1::ValidateLogoutRequest r = logout::bench::NoHintRequest(3);     // DECISION_ALLOW
//   v1::ValidateLogoutRequest h = logout::bench::HintRequest(rs256);   // DECISION_ALLOW
#ifndef BENCH_LOAD_SCENARIO_H_
#define BENCH_LOAD_SCENARIO_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "bench/entries.h"
#include "logout/v1/logout.pb.h"

namespace logout::bench {

inline constexpr char kBenchTenant[] = "bench";
inline constexpr char kBenchIssuer[] = "https://bench.example.com/";
// The OP session the hints name; sent as session_id so a verified hint proves it (no prompt).
inline constexpr char kBenchSession[] = "sid-bench-7yW9Fj3lXyQ0ch8u";
inline constexpr char kBenchSubject[] = "auth0|5f7c8ec7c33c6c004bbafe82";
inline constexpr char kNoHintClient[] = "app";
inline constexpr char kRs256Client[] = "app-rs256";
inline constexpr char kEs256Client[] = "app-es256";
// First entry of the hint clients' lists: the post_logout_redirect_uri of the hint scenarios.
inline constexpr char kSignedOutUrl[] = "https://app.bench.example.com/signed-out";
inline constexpr char kBenchState[] = "af0ifjsldkj";
// Client "app" has at least this many entries; NoHintRequest(i) needs i < kMinEntries.
inline constexpr size_t kMinEntries = 100;

// NoHintRequest is /v2/logout with client_id=app and returnTo=the i-th entry of "app" (skipping
// wildcard entries): what a web tier forwards for a plain logout. Answer: DECISION_ALLOW.
inline v1::ValidateLogoutRequest NoHintRequest(size_t i) {
  if (IsWildcardEntry(i)) ++i;
  v1::ValidateLogoutRequest r;
  r.set_tenant(kBenchTenant);
  r.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  r.set_http_method(v1::HTTP_METHOD_GET);
  r.set_raw_query(
      absl::StrCat("client_id=", kNoHintClient, "&returnTo=", FormEncode(ExactEntry(i))));
  return r;
}

// HintRequest is RP-Initiated Logout with `hint`, post_logout_redirect_uri and state, from the
// browser session the hint names. Answer: DECISION_ALLOW, client from the hint.
inline v1::ValidateLogoutRequest HintRequest(const std::string& hint) {
  v1::ValidateLogoutRequest r;
  r.set_tenant(kBenchTenant);
  r.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
  r.set_http_method(v1::HTTP_METHOD_GET);
  r.set_session_id(kBenchSession);
  r.set_raw_query(absl::StrCat("id_token_hint=", hint, "&post_logout_redirect_uri=",
                               FormEncode(kSignedOutUrl), "&state=", kBenchState));
  return r;
}

}  // namespace logout::bench

#endif  // BENCH_LOAD_SCENARIO_H_
