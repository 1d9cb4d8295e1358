// A connection's federated-logout settings, validated and compiled once, when the policy is
// loaded or an admin writes the connection, and then used by every BuildFederatedLogoutUrl.
//
//   absl::StatusOr<CompiledConnection> c = CompiledConnection::Compile(connection, {});
//   // c->logout_url_template() is parsed; c->end_session_endpoint() is an https url::Url.
//
// Validation (each failure an InvalidArgumentError naming the connection, the field and a
// shortened, C-escaped copy of the value, e.g.
// `connection "corp": logout.logout_url "http://idp.example.com/x": must be an absolute https
// URL`):
//  - name: 1-256 bytes without spaces or control characters; strategy: the same rule. Any
//    strategy string is accepted; unknown ones get the generic default (see
//    federated_logout.h).
//  - logout.logout_url, logout.end_session_endpoint, logout.sign_out_endpoint (when set): at
//    most 2048 bytes without spaces or control characters, an absolute "https://" URL that the
//    WHATWG parser (service/url) accepts, without userinfo (not even a bare '@') and without a
//    fragment. With ConnectionOptions::allow_http_loopback, "http://" is also accepted for the
//    hosts localhost, 127.0.0.1 and [::1] (RFC 8252 §7.3; a development setting).
//  - logout.logout_url_template (when set): RFC 6570 syntax (UriTemplate::Parse), and
//      * the origin must be literal: the template starts with "https://" (or loopback
//        "http://", as above) and a host, and an expression may follow the host only if it
//        starts a path, query or fragment ("{/...}", "{?...}", "{#...}"), as may any further
//        expressions before the first literal '/', '?' or '#'. So "{+returnTo}",
//        "https://{host}/x", "https://idp.{region}.example.com/x",
//        "https://idp.example.com:{port}/" and "https://idp.example.com{?a}.evil.example/" are
//        refused, while "https://idp.example.com{?returnTo}" and
//        "https://idp.example.com/logout{?returnTo}" are accepted. The literal scheme and authority
//        must pass the URL rules above (https, no userinfo) — that is the origin every expansion
//        must keep;
//      * reserved expansion ("{+var}", "{#var}", which copy '/', '?', '#', '@' unencoded) is
//        allowed only for `upstream_client_id`, the one variable that is a connection setting
//        and not request input.
//  - logout.return_to_param: empty, or 1-64 characters of [A-Za-z0-9_.-].
//  - logout.upstream_client_id: at most 256 bytes of UTF-8 without control characters (so that
//    an expansion never fails because of the configuration).
// Not checked: that the URLs resolve or answer, the `options` Struct (kept untouched by
// logoutd), and fields the strategy does not use (they are ignored, see federated_logout.h).
#ifndef SERVICE_FEDERATION_CONNECTION_H_
#define SERVICE_FEDERATION_CONNECTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "logout/v1/policy.pb.h"
#include "service/federation/uri_template.h"
#include "service/url/url.h"

namespace logout::federation {

// ConnectionOptions are deployment-wide settings for compiling connections.
struct ConnectionOptions {
  // Development only: also accept "http://" URLs and templates whose host is localhost,
  // 127.0.0.1 or [::1]. Off by default; every other http URL is refused either way.
  bool allow_http_loopback = false;
  // Accept a logout_url_template with a fragment (a literal '#', "{#...}", or '#' in a
  // reserved-expanded upstream_client_id). Only for policies already stored by a release that
  // accepted them: every write refuses them (PolicyWriter checks the connections it changes).
  bool allow_template_fragments = false;
};

// DefaultLogout is what a connection does when it has neither a template nor a static
// logout_url: the strategy's default, decided once by Compile.
enum class DefaultLogout : uint8_t {
  // OIDC RP-Initiated Logout at end_session_endpoint: strategies "oidc", "okta", "waad", and
  // any strategy not named below that has an end_session_endpoint configured.
  kOidcEndSession,
  // "facebook": https://www.facebook.com/logout.php with next and access_token.
  kFacebook,
  // "samlp": the IdP's sign_out_endpoint (unless disable_signout).
  kSamlSignOut,
  // Everything else ("google-oauth2", "github", "twitter", "apple", "linkedin", "windowslive",
  // "oauth2", unknown strategies) without an end_session_endpoint: the upstream has no logout
  // URL that returns to the application.
  kUpstreamMayNotReturn,
};

// CompiledConnection is the validated, parsed federated-logout configuration of one
// connection: base URLs as url::Url, the template as UriTemplate, flags.
//
// Thread safety: immutable after Compile; every method is const and may be called
// concurrently. Copyable and movable; owns all its data (nothing refers to the proto).
class CompiledConnection {
 public:
  // Compile validates `connection` by the rules in the file comment. Returns the compiled
  // connection, or InvalidArgumentError naming the connection, the first invalid field and its
  // (shortened, escaped) value. Never partially accepts a connection.
  static absl::StatusOr<CompiledConnection> Compile(const v1::Connection& connection,
                                                    const ConnectionOptions& options);

  // name / strategy are as configured. Views valid while this object is alive and unmoved.
  absl::string_view name() const { return name_; }
  absl::string_view strategy() const { return strategy_; }
  DefaultLogout default_logout() const { return default_logout_; }

  // The parsed URLs; std::nullopt when the field is empty.
  const std::optional<UriTemplate>& logout_url_template() const { return template_; }
  const std::optional<url::Url>& logout_url() const { return logout_url_; }
  const std::optional<url::Url>& end_session_endpoint() const { return end_session_endpoint_; }
  const std::optional<url::Url>& sign_out_endpoint() const { return sign_out_endpoint_; }

  // template_origin is the ASCII origin fixed by the template's literal prefix
  // ("https://idp.example.com"); empty when there is no template. Every expansion must keep it.
  absl::string_view template_origin() const { return template_origin_; }

  // provider_logout_url is the provider's fixed logout URL when default_logout() names one
  // (kFacebook: https://www.facebook.com/logout.php), parsed once; std::nullopt otherwise.
  const std::optional<url::Url>& provider_logout_url() const { return provider_logout_url_; }

  bool send_id_token_hint() const { return send_id_token_hint_; }
  bool send_client_id() const { return send_client_id_; }
  bool disable_signout() const { return disable_signout_; }
  absl::string_view upstream_client_id() const { return upstream_client_id_; }
  absl::string_view return_to_param() const { return return_to_param_; }

 private:
  CompiledConnection() = default;

  std::string name_;
  std::string strategy_;
  DefaultLogout default_logout_ = DefaultLogout::kUpstreamMayNotReturn;
  std::optional<UriTemplate> template_;
  std::string template_origin_;
  std::optional<url::Url> logout_url_;
  std::optional<url::Url> end_session_endpoint_;
  std::optional<url::Url> sign_out_endpoint_;
  std::optional<url::Url> provider_logout_url_;
  std::string upstream_client_id_;
  std::string return_to_param_;
  bool send_id_token_hint_ = false;
  bool send_client_id_ = false;
  bool disable_signout_ = false;
};

}  // namespace logout::federation

#endif  // SERVICE_FEDERATION_CONNECTION_H_
