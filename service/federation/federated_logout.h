// Federated (upstream IdP) logout URLs: where the web tier sends the browser so that the
// upstream identity provider of a connection ends its session too (DESIGN §2.3).
//
//   FederatedLogoutInput in{.return_to = "https://app.example.com/bye", .state = "xyz"};
//   auto r = BuildFederatedLogoutUrl(*CompiledConnection::Compile(connection, {}), in);
//
// Precedence, per connection (the first that is configured wins):
//  1. logout_url_template: expanded (below), source TEMPLATE.
//  2. logout_url: the static URL, its query kept, plus `return_to_param`=return_to when both
//     are set; source STATIC.
//  3. the strategy's default (CompiledConnection::default_logout()); source PROVIDER_DEFAULT,
//     also when the answer is "unsupported" or has no URL:
//     - oidc, okta, waad (and any strategy without its own rule that has an
//       end_session_endpoint): OIDC RP-Initiated Logout at end_session_endpoint, its query kept,
//       plus in this order: id_token_hint (the upstream ID token, when send_id_token_hint and a
//       token is given), client_id (upstream_client_id, when it is set and send_client_id is on
//       or no ID token is sent), post_logout_redirect_uri (return_to), state. No
//       end_session_endpoint: supported=false (local logout only).
//     - facebook: https://www.facebook.com/logout.php?next=<return_to>&access_token=<token>.
//       Facebook refuses the logout without the user's access token, so without
//       upstream_access_token: supported=false.
//     - samlp: the sign_out_endpoint as configured (building and signing the SAML LogoutRequest,
//       and its RelayState, is the web tier's job). disable_signout or no endpoint:
//       supported=false.
//     - every other strategy (google-oauth2, github, twitter, apple, linkedin, windowslive,
//       oauth2, unknown ones): supported=true, url empty, warning UPSTREAM_MAY_NOT_RETURN. The
//       web tier ends the local session and redirects to return_to itself; the upstream session
//       stays. In particular Google publishes no end_session_endpoint, and its account logout
//       page (accounts.google.com/Logout) signs the browser out of every Google account and
//       does not return to third-party sites, so logoutd deliberately builds no URL for it.
//
// FEDERATED_URL_SOURCE_DISCOVERY is never produced: the request path does no I/O, so nothing
// is discovered; an OP's end_session_endpoint is configured (from its discovery document) when
// the connection is written.
//
// Parameters that logoutd adds (static and default URLs) are appended to the configured query,
// in the order above, as name=value with every byte but the unreserved characters
// (A-Z a-z 0-9 - . _ ~) percent-encoded (a space is %20, never '+'). A configured parameter of
// the same name is replaced, not duplicated (as `state` is in ValidateLogout). Empty inputs are
// absent. The URL is assembled with url::Url (WithQuery) and emitted as its WHATWG
// serialisation, so Url::Parse(url)->href() == url always holds.
//
// Template variables (RFC 6570, service/federation/uri_template.h). An empty value is
// undefined, so "{?state}" disappears when there is no state:
//   returnTo, post_logout_redirect_uri  the validated return_to (two names for one value)
//   client_id                           the request's (downstream application's) client_id
//   state                               the request's state
//   id_token_hint                       the upstream ID token, only when send_id_token_hint
//   upstream_client_id                  the connection's upstream_client_id (the only variable
//                                       that may use reserved expansion, "{+...}" / "{#...}")
//   access_token                        never defined: access tokens are not given to templates
//   any other name                      the entry of that name in the request's `query` map —
//                                       raw, unvalidated request input
// The names above always take their value from the validated inputs: a `query` entry named
// returnTo, state, etc. is ignored. The expansion is parsed with url::Url and must keep the
// origin fixed by the template's literal prefix (CompiledConnection::template_origin()).
//
// Translating Auth0 `options.scripts.getLogoutUrl(query, callback)` scripts (what the script
// concatenates, then "=>" the equivalent logout_url_template):
//  - return URL and the application's client id:
//      'https://idp.example.com/v2/logout?returnTo=' + encodeURIComponent(query.returnTo) +
//      '&client_id=' + query.client_id
//      => https://idp.example.com/v2/logout{?returnTo,client_id}
//  - a fixed upstream client id (set logout.upstream_client_id):
//      'https://login.example.com/oidc/logout?client_id=UPSTREAM&returnTo=' +
//      encodeURIComponent(..)
//      => https://login.example.com/oidc/logout?client_id={upstream_client_id}{&returnTo}
//  - Azure AD / Entra ID (the return URL under the OIDC name):
//      'https://login.microsoftonline.com/common/oauth2/v2.0/logout?post_logout_redirect_uri=' +
//      encodeURIComponent(query.returnTo)
//      => https://login.microsoftonline.com/common/oauth2/v2.0/logout{?post_logout_redirect_uri}
//  - an OIDC end_session URL with the upstream ID token (set logout.send_id_token_hint):
//      => https://op.example.com/logout{?id_token_hint,post_logout_redirect_uri,state}
//  - the return URL under any other name (ADFS wreply, Facebook-style next, ...): write the
//    name literally; simple expansion gives "wreply=" when there is no return URL:
//      'https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply=' + encodeURIComponent(..)
//      => https://adfs.example.com/adfs/ls/?wa=wsignout1.0&wreply={returnTo}
//  - passing another logout parameter through ('&ui_locales=' + query.ui_locales):
//      => https://idp.example.com/logout{?returnTo,ui_locales}
//  - not expressible, on purpose: a host or base URL taken from a variable ('https://' +
//    query.domain + '/logout', "{+issuer}/logout": write the host literally), and a raw,
//    unencoded value ('...?returnTo=' + query.returnTo: values are always encoded).
// Scripts that only call back with a constant URL become a static logout_url.
//
// Not checked here: that return_to is allowed (the caller validates it against the client's or
// tenant's allow-list first) and that tokens are well-formed (they are only encoded).
#ifndef SERVICE_FEDERATION_FEDERATED_LOGOUT_H_
#define SERVICE_FEDERATION_FEDERATED_LOGOUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "logout/v1/logout.pb.h"
#include "service/federation/connection.h"

namespace logout::federation {

// FederatedLogoutInput is one request's values. Every view is borrowed and must stay valid for
// the duration of the BuildFederatedLogoutUrl call; an empty view means absent.
struct FederatedLogoutInput {
  // Where the upstream IdP should send the user back: already validated against the
  // allow-lists by the caller and WHATWG-serialised. May be empty.
  absl::string_view return_to = {};
  // The request's (downstream application's) client_id.
  absl::string_view client_id = {};
  absl::string_view state = {};
  // Tokens the web tier holds from the upstream login. Never echoed in errors.
  absl::string_view upstream_id_token = {};
  absl::string_view upstream_access_token = {};
  // The original logout query, for template variables; may be null.
  const google::protobuf::Map<std::string, std::string>* query = nullptr;
};

// BuildFederatedLogoutUrl builds the upstream logout URL of `connection` for `input` by the
// rules in the file comment. Returns the response (url, source, supported, warnings); an
// unsupported federated logout is an OK result with supported=false, not an error. Returns
// InvalidArgumentError (naming the connection and the problem, never a token or other value)
// only when a template expansion fails: a value that is not UTF-8 (a template requires UTF-8;
// the other paths percent-encode bytes as given), an expansion over
// UriTemplate::kMaxExpansionBytes, or one that does not parse as a URL or leaves the template's
// origin.
//
// Thread safety: a pure function of its arguments; safe to call concurrently on one shared
// CompiledConnection. Does no I/O.
absl::StatusOr<v1::BuildFederatedLogoutUrlResponse> BuildFederatedLogoutUrl(
    const CompiledConnection& connection, const FederatedLogoutInput& input);

}  // namespace logout::federation

#endif  // SERVICE_FEDERATION_FEDERATED_LOGOUT_H_
